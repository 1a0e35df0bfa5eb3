import { p256Verify } from '../../crypto/ecdsa.ts';
import { equal } from '../../bytes/util.ts';
import { CatenaError } from '../../errors.ts';
import type { SignedJson } from '../../formats/pcs-body.ts';
import { slicePcsBody } from '../../formats/pcs-body.ts';
import { parseQeIdentity } from '../../formats/qe-identity.ts';
import { parseTcbInfo } from '../../formats/tcb-info.ts';
import type { VerificationCache } from '../../attestation/dcap/cache.ts';
import { buildChain, commonName, findLeaf, loadCert, type Anchor, type Cert } from '../../attestation/dcap/certs.ts';
import { checkCrl, parseCrl } from '../../attestation/dcap/crl.ts';
import { CHECK_CODES } from '../../attestation/dcap/verify-quote.ts';
import { derFromAny, pemCertificates } from '../../attestation/pem.ts';
import type { DocumentSpec } from './pcs-documents.ts';

/** A TCB info or QE identity the monitor accepted: the exact signed text, its signer's chain, its dates. */
export interface SignedDocument {
  kind: 'tcb-info' | 'qe-identity';
  signed: SignedJson;
  chain: Uint8Array[];
  tcbEvaluationDataNumber: number;
  issueDate: Date;
  nextUpdate: Date;
  /** The signed object without issueDate / nextUpdate: equal for a mere reissue. */
  content: string;
}

/** A CRL the monitor accepted (DER), with the issuer chain the PCS gave (PCK CRLs). */
export interface CrlDocument {
  kind: 'pck-crl' | 'root-ca-crl';
  der: Uint8Array;
  issuerChain?: Uint8Array[];
  thisUpdate: Date;
  nextUpdate: Date;
  /** The revoked serials, sorted: equal for a mere reissue. */
  content: string;
}

/** The signed tcbevaluationdatanumbers list: the tcbRecoveryEventDate of each number. */
export interface EvalNumbersDocument {
  kind: 'eval-numbers';
  recoveryEventDates: Map<number, string>;
  nextUpdate: Date;
}

export type HeldDocument = SignedDocument | CrlDocument | EvalNumbersDocument;

export type Appraised =
  { ok: true; doc: HeldDocument } | { ok: false; reason: string; detail: string; tcbEvaluationDataNumber?: number };

export interface AcceptContext {
  anchors: Anchor[];
  at: Date;
  cache: VerificationCache;
}

/** Why a document is refused: a stable code (the DCAP verifier's for the same check) and a message. */
class Refusal extends CatenaError {
  constructor(
    code: string,
    message: string,
    readonly tcbEvaluationDataNumber?: number,
  ) {
    super(code, message);
  }
}

/** Code of an older document than the one held (a rollback): docs/errors.md. */
export const ROLLBACK = 'ERR_COLLATERAL_ROLLBACK';
const FORMAT = 'ERR_COLLATERAL_FORMAT';

function issuerChain(headers: Headers, names: string[]): Uint8Array[] {
  for (const n of names) {
    const v = headers.get(n);
    if (!v) continue;
    try {
      return pemCertificates(decodeURIComponent(v));
    } catch (e) {
      throw new Refusal(FORMAT, `header ${n}: ${(e as Error).message}`);
    }
  }
  throw new Refusal(FORMAT, `no ${names.join(' / ')} header`);
}

/** The signing certificate of `ders`, chained (by issuer name and signature) to a trusted root, valid at `at`. */
function signerOf(ders: Uint8Array[], ctx: AcceptContext, code: string, what: string): Cert {
  let certs: Cert[];
  try {
    certs = ders.map((d) => loadCert(d, ctx.cache));
  } catch (e) {
    throw new Refusal(code, `${what} unreadable: ${(e as Error).message}`);
  }
  const leaf = findLeaf(certs);
  if (!leaf) throw new Refusal(code, `${what}: cannot tell the signing certificate (no single leaf)`);
  const anchorCerts = ctx.anchors.flatMap((a) => (a.cert ? [a.cert] : []));
  const res = buildChain(leaf, [...certs, ...anchorCerts], ctx.anchors, ctx.at, ctx.cache);
  if (!res.ok) throw new Refusal(code, `${what}: ${res.reason}`);
  return leaf;
}

function contentWithoutDates(text: string): string {
  const o = JSON.parse(text) as Record<string, unknown>;
  delete o.issueDate;
  delete o.nextUpdate;
  return JSON.stringify(o);
}

function signedBody(body: Uint8Array, key: 'tcbInfo' | 'enclaveIdentity' | 'tcbEvaluationDataNumbers'): SignedJson {
  try {
    return slicePcsBody(Buffer.from(body).toString('utf8'), key);
  } catch (e) {
    throw new Refusal(FORMAT, (e as Error).message);
  }
}

function checkSignature(signed: SignedJson, signer: Cert, code: string, what: string): void {
  if (!p256Verify(signer.publicKey, Buffer.from(signed.text, 'utf8'), signed.signature))
    throw new Refusal(code, `the signature over the exact ${what} text does not verify with "${commonName(signer)}"`);
}

function notExpired(nextUpdate: Date, at: Date, what: string, code = CHECK_CODES['collateral.tcbInfoWindow']): void {
  if (at > nextUpdate)
    throw new Refusal(code, `${what} expired: nextUpdate ${nextUpdate.toISOString()} is before ${at.toISOString()}`);
}

function signedDocument(
  spec: DocumentSpec & { kind: 'tcb-info' | 'qe-identity' },
  body: Uint8Array,
  headers: Headers,
  ctx: AcceptContext,
  held: SignedDocument | undefined,
): SignedDocument {
  const tcb = spec.kind === 'tcb-info';
  const code = CHECK_CODES[tcb ? 'collateral.tcbInfo' : 'collateral.qeIdentity'];
  const what = tcb ? 'TCB info' : 'QE identity';
  const signed = signedBody(body, tcb ? 'tcbInfo' : 'enclaveIdentity');
  const chain = issuerChain(
    headers,
    tcb
      ? ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain']
      : ['SGX-Enclave-Identity-Issuer-Chain', 'Enclave-Identity-Issuer-Chain'],
  );
  const signer = signerOf(chain, ctx, CHECK_CODES['collateral.tcbSigningChain'], `${what} signing chain`);
  checkSignature(signed, signer, code, tcb ? 'tcbInfo' : 'enclaveIdentity');
  let parsed: { tcbEvaluationDataNumber: number; issueDate: Date; nextUpdate: Date; id: string };
  try {
    parsed = tcb ? parseTcbInfo(signed.text) : parseQeIdentity(signed.text);
  } catch (e) {
    throw new Refusal(code, (e as Error).message);
  }
  const n = parsed.tcbEvaluationDataNumber;
  const expectId = tcb ? (spec.tee === 'tdx' ? 'TDX' : 'SGX') : spec.tee === 'tdx' ? 'TD_QE' : 'QE';
  if (parsed.id !== expectId) throw new Refusal(code, `${what} ${parsed.id} is not ${expectId}`, n);
  if (spec.kind === 'tcb-info') {
    const fmspc = Buffer.from((parsed as ReturnType<typeof parseTcbInfo>).fmspc).toString('hex');
    if (fmspc !== spec.fmspc)
      throw new Refusal(CHECK_CODES['pck.fmspcPceId'], `TCB info is for FMSPC ${fmspc}, not ${spec.fmspc}`, n);
  }
  try {
    notExpired(parsed.nextUpdate, ctx.at, what);
  } catch (e) {
    throw new Refusal((e as Refusal).code, (e as Error).message, n);
  }
  if (held && n < held.tcbEvaluationDataNumber)
    throw new Refusal(
      ROLLBACK,
      `${what} tcbEvaluationDataNumber ${n} is lower than the ${held.tcbEvaluationDataNumber} held`,
      n,
    );
  return {
    kind: spec.kind,
    signed,
    chain,
    tcbEvaluationDataNumber: n,
    issueDate: parsed.issueDate,
    nextUpdate: parsed.nextUpdate,
    content: contentWithoutDates(signed.text),
  };
}

function crlDocument(
  spec: DocumentSpec & { kind: 'pck-crl' | 'root-ca-crl' },
  body: Uint8Array,
  headers: Headers,
  ctx: AcceptContext,
  held: CrlDocument | undefined,
): CrlDocument {
  const pck = spec.kind === 'pck-crl';
  const code = CHECK_CODES[pck ? 'crl.pck' : 'crl.rootCa'];
  const what = pck ? `PCK CRL (${spec.ca} CA)` : 'root CA CRL';
  let der: Uint8Array;
  let crl: ReturnType<typeof parseCrl>;
  try {
    der = derFromAny(body, 'X509 CRL');
    crl = parseCrl(der, ctx.cache);
  } catch (e) {
    throw new Refusal(code, `${what} unreadable: ${(e as Error).message}`);
  }
  let issuer: Cert;
  let chain: Uint8Array[] | undefined;
  if (spec.kind === 'pck-crl') {
    chain = issuerChain(headers, ['SGX-PCK-CRL-Issuer-Chain']);
    issuer = signerOf(chain, ctx, code, `${what} issuer chain`);
    const ca = /platform/i.test(issuer.subjectText) ? 'platform' : 'processor';
    if (ca !== spec.ca) throw new Refusal(code, `${what} is issued by "${commonName(issuer)}", a ${ca} CA`);
  } else {
    const root = ctx.anchors.find((a) => a.cert && equal(a.cert.subject, crl.issuer))?.cert;
    if (!root) throw new Refusal(code, `${what} is issued by none of the trusted roots`);
    issuer = root;
  }
  const problem = checkCrl(crl, issuer, ctx.at, ctx.cache);
  if (problem) throw new Refusal(code, `${what} ${problem}`);
  if (held && crl.thisUpdate < held.thisUpdate)
    throw new Refusal(
      ROLLBACK,
      `${what} thisUpdate ${crl.thisUpdate.toISOString()} is older than the ${held.thisUpdate.toISOString()} held`,
    );
  return {
    kind: spec.kind,
    der,
    ...(chain ? { issuerChain: chain } : {}),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    content: [...crl.revoked].sort().join(','),
  };
}

function evalNumbersDocument(body: Uint8Array, headers: Headers, ctx: AcceptContext): EvalNumbersDocument {
  const code = CHECK_CODES['collateral.tcbInfo'];
  const signed = signedBody(body, 'tcbEvaluationDataNumbers');
  const chain = issuerChain(headers, ['TCB-Evaluation-Data-Numbers-Issuer-Chain']);
  const signer = signerOf(chain, ctx, CHECK_CODES['collateral.tcbSigningChain'], 'TCB evaluation data numbers chain');
  checkSignature(signed, signer, code, 'tcbEvaluationDataNumbers');
  const o = JSON.parse(signed.text) as { nextUpdate?: unknown; tcbEvalNumbers?: unknown };
  const nextUpdate = new Date(typeof o.nextUpdate === 'string' ? o.nextUpdate : NaN);
  if (Number.isNaN(nextUpdate.getTime()) || !Array.isArray(o.tcbEvalNumbers))
    throw new Refusal(FORMAT, 'tcbEvaluationDataNumbers: no nextUpdate or tcbEvalNumbers');
  notExpired(nextUpdate, ctx.at, 'TCB evaluation data numbers');
  const recoveryEventDates = new Map<number, string>();
  for (const e of o.tcbEvalNumbers as Array<Record<string, unknown>>) {
    if (typeof e?.tcbEvaluationDataNumber === 'number' && typeof e.tcbRecoveryEventDate === 'string')
      recoveryEventDates.set(e.tcbEvaluationDataNumber, e.tcbRecoveryEventDate);
  }
  return { kind: 'eval-numbers', recoveryEventDates, nextUpdate };
}

/**
 * Accepts a fetched document only if it parses, its signature verifies under its issuer chain, that
 * chain ends at a trusted root, it is current at `ctx.at`, and it is not older than the one held
 * (tcbEvaluationDataNumber; a CRL's thisUpdate). Otherwise the refusal names the DCAP verifier's code
 * for the same check (ERR_TCB_INFO, ERR_TCB_SIGNING_CHAIN, ERR_COLLATERAL_EXPIRED, ERR_PCK_CRL, …),
 * ERR_COLLATERAL_FORMAT for a body that is not the document, or ERR_COLLATERAL_ROLLBACK.
 */
export function acceptDocument(
  spec: DocumentSpec,
  body: Uint8Array,
  headers: Headers,
  ctx: AcceptContext,
  held: HeldDocument | undefined,
): Appraised {
  try {
    switch (spec.kind) {
      case 'tcb-info':
      case 'qe-identity':
        return { ok: true, doc: signedDocument(spec, body, headers, ctx, held as SignedDocument | undefined) };
      case 'pck-crl':
      case 'root-ca-crl':
        return { ok: true, doc: crlDocument(spec, body, headers, ctx, held as CrlDocument | undefined) };
      case 'eval-numbers':
        return { ok: true, doc: evalNumbersDocument(body, headers, ctx) };
    }
  } catch (e) {
    const code = e instanceof CatenaError ? e.code : 'ERR_VERIFIER_INTERNAL';
    return {
      ok: false,
      reason: code,
      detail: (e as Error).message,
      ...(e instanceof Refusal && e.tcbEvaluationDataNumber !== undefined
        ? { tcbEvaluationDataNumber: e.tcbEvaluationDataNumber }
        : {}),
    };
  }
}
