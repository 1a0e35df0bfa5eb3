import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from 'jose';
import { ArgumentError } from '../errors.ts';
import type { Appraisal } from './dcap/types.ts';

/**
 * Attestation results as signed EAR JWTs (IETF draft-ietf-rats-ear, Veraison's profile
 * "tag:github.com,2023:veraison/ear"), ES256. The appraisal's verdict and TCB status map onto
 * `ear.status` and an AR4SI trustworthiness vector; the appraisal itself rides along as
 * `ear.veraison.annotated-evidence` so a relying party sees every check.
 */
export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';

export type EarStatus = 'affirming' | 'warning' | 'contraindicated';

/** AR4SI trustworthiness claims (draft-ietf-rats-ar4si §2.3); absent = no claim made. */
export interface TrustworthinessVector {
  'instance-identity'?: number;
  configuration?: number;
  executables?: number;
  hardware?: number;
  'runtime-opaque'?: number;
}

export interface IssueEarOptions {
  /** `iss` and `ear.verifier-id.developer`. */
  issuer: string;
  /** Echoed as `eat_nonce` (a relying party's freshness challenge). */
  nonce?: string;
  /** The submodule name (default: "SGX" or "TDX" from the quote, else "DCAP"). */
  submod?: string;
  /** Include the appraisal as annotated evidence (default true). */
  annotate?: boolean;
  /** Seconds the result stays valid (`exp`); default: none. */
  expiresInSeconds?: number;
  /** `iat`; default: now. */
  issuedAt?: Date;
}

const CRYPTO_CHECKS = /^(quote\.|pck\.|crl\.|collateral\.|qe\.|tcb\.|tdx\.|internal)/;

export function earStatus(a: Appraisal): EarStatus {
  if (a.verdict !== 'accepted') return 'contraindicated';
  return a.tcbStatus === 'UpToDate' && a.advisoryIds.length === 0 ? 'affirming' : 'warning';
}

/** AR4SI codes: 2 affirming, 32 warning tier, 96+ contraindicated tier. */
export function trustworthinessVector(a: Appraisal): TrustworthinessVector {
  const v: TrustworthinessVector = {};
  const failed = (name: string) => a.checks.some((c) => c.name === name && !c.ok);
  const passed = (name: string) => a.checks.some((c) => c.name === name && c.ok);
  const cryptoFailed = a.checks.some((c) => !c.ok && CRYPTO_CHECKS.test(c.name) && c.name !== 'tcb.status');
  const s = a.tcbStatus;
  if (cryptoFailed)
    v.hardware = 97; // unrecognized hardware: the evidence does not verify to the root
  else if (s === 'Revoked') v.hardware = 96;
  else if (s === 'OutOfDate' || s === 'OutOfDateConfigurationNeeded') v.hardware = 32;
  else if (s) v.hardware = 2;
  if (s) v.configuration = /Configuration/.test(s) ? 32 : s === 'Revoked' ? 96 : 2;
  const identity = a.checks.find((c) => c.name === 'policy.identity');
  if (identity && !identity.skipped) {
    if (!identity.ok) v.executables = 33;
    else if (
      // Stryker disable next-line StringLiteral: any text without the words (here, no detail) gives 2
      !/no enclave identity required/.test(identity.detail ?? '')
    )
      v.executables = 2;
  }
  if (failed('policy.reportData')) v['instance-identity'] = 96;
  else if (
    passed('policy.reportData') &&
    // Stryker disable next-line OptionalChaining,StringLiteral: passed('policy.reportData') means find finds a check; any text without the words (here, no detail) gives 2
    !/no REPORTDATA required/.test(a.checks.find((c) => c.name === 'policy.reportData')?.detail ?? '')
  )
    v['instance-identity'] = 2;
  if (a.quote) v['runtime-opaque'] = a.quote.debug ? 96 : 2;
  return v;
}

async function publicKeyOf(key: KeyObject | CryptoKey): Promise<JWK> {
  // Exporting a private key gives its public part plus `d`; drop `d`.
  const { d: _private, ...jwk } = await exportJWK(key);
  // Stryker disable next-line ConditionalExpression: the kty test is for clarity; only an EC key has crv P-256
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new ArgumentError('EAR signing key: expected ECDSA P-256 (ES256)');
  return jwk;
}

/** The verifier's public JWKS: `{ keys: [{ kty, crv, x, y, kid (RFC 7638 thumbprint), alg: ES256, use: sig }] }`. */
export async function publicJwks(key: KeyObject | CryptoKey): Promise<{ keys: JWK[] }> {
  const jwk = await publicKeyOf(key);
  return { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' }] };
}

/** Signs the appraisal as an EAR JWT (ES256, `kid` = the key's JWK thumbprint). */
export async function issueEar(
  appraisal: Appraisal,
  signingKey: KeyObject | CryptoKey,
  opts: IssueEarOptions,
): Promise<string> {
  if (!opts?.issuer) throw new ArgumentError('issueEar: issuer is required');
  const kid = await calculateJwkThumbprint(await publicKeyOf(signingKey));
  const name = opts.submod ?? (appraisal.quote ? appraisal.quote.teeType.toUpperCase() : 'DCAP');
  const submod: Record<string, unknown> = {
    'ear.status': earStatus(appraisal),
    'ear.trustworthiness-vector': trustworthinessVector(appraisal),
    'ear.appraisal-policy-id': 'urn:catena:dcap-appraisal',
  };
  if (opts.annotate !== false) submod['ear.veraison.annotated-evidence'] = JSON.parse(JSON.stringify(appraisal));
  const claims: Record<string, unknown> = {
    eat_profile: EAR_PROFILE,
    'ear.verifier-id': { developer: opts.issuer, build: 'catena 0.1.0' },
    submods: { [name]: submod },
  };
  // Stryker disable next-line ConditionalExpression: an undefined eat_nonce is left out of the JSON claims all the same
  if (opts.nonce !== undefined) claims.eat_nonce = opts.nonce;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
    .setIssuer(opts.issuer)
    .setIssuedAt(opts.issuedAt ? Math.floor(opts.issuedAt.getTime() / 1000) : undefined);
  if (opts.expiresInSeconds !== undefined) {
    const iat = Math.floor((opts.issuedAt?.getTime() ?? Date.now()) / 1000);
    jwt.setExpirationTime(iat + opts.expiresInSeconds);
  }
  return jwt.sign(signingKey);
}
