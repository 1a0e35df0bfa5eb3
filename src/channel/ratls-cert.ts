import { createPrivateKey, createPublicKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { Lru } from '../bytes/lru.ts';
import { concat, equal } from '../bytes/util.ts';
import { sha256 } from '../crypto/sha256.ts';
import { FormatError } from '../errors.ts';
import { selfSignedCertificate } from '../formats/self-signed-certificate.ts';
import { basicConstraints, extension, KEY_USAGE, keyUsageBits } from '../formats/x509-writer.ts';
import { readCertificateParts, type CertificateParts } from '../formats/x509-reader.ts';
import { expectTag, parseDer, TAG } from '../formats/der-reader.ts';

const BASIC_CONSTRAINTS_OID = '2.5.29.19';
import { CborMap, CborTag, decodeCbor, encodeCbor } from '../formats/cbor.ts';
import { ChannelError } from './errors.ts';
import { CHECK, type QuoteIssuer } from './types.ts';

/**
 * RA-TLS certificates (docs/channel.md, "Certificate").
 *
 * The key pair is ECDSA P-256, created where this code runs (inside the enclave). The certificate
 * is self-signed and carries the evidence twice, both extensions NON-critical (OpenSSL and mbedTLS
 * refuse certificates with unknown critical extensions):
 *
 *   1.2.840.113741.1337.6  (Gramine's legacy RA-TLS OID)  extnValue = OCTET STRING { raw evidence }
 *   2.23.133.5.4.9         (TCG DICE tagged evidence / conceptual message wrapper)
 *                          extnValue = OCTET STRING { CBOR  #6.60000([ bstr evidence, bstr claims ]) }
 *                          claims    = CBOR map { "pubkey-hash": [ 1, bstr SHA-256(SPKI) ] }
 *                          (tag 60000 and the claims layout as Gramine writes them; hash-alg 1 =
 *                          sha-256 in the IANA Named Information registry)
 *
 * The evidence's REPORTDATA (64 bytes) binds the key:
 *   [0:32)  = SHA-256(SubjectPublicKeyInfo, DER)
 *   [32:64) = SHA-256(claims)  — binds the DICE claims too. Note Gramine's DICE-format verifier
 *             looks for SHA-256(claims) at [0:32); Catena keeps SHA-256(SPKI) there (the legacy
 *             Gramine binding the issue asks for), so foreign stacks can READ our evidence from
 *             either extension but only legacy-OID verifiers check the binding as-is.
 */
export const GRAMINE_QUOTE_OID = '1.2.840.113741.1337.6';
export const TCG_DICE_TAGGED_EVIDENCE_OID = '2.23.133.5.4.9';
export const DICE_EVIDENCE_CBOR_TAG = 60000;
const IANA_SHA256 = 1;
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE_OID = '2.5.29.15';
const MAX_EVIDENCE = 64 * 1024;

export interface RatlsCredentials {
  /** PKCS#8 PEM of the private key: keep it where it was made (inside the enclave). */
  keyPem: string;
  certPem: string;
  certificate: Uint8Array;
  spki: Uint8Array;
  evidence: Uint8Array;
  reportData: Uint8Array;
}

export interface RatlsCertificateOptions {
  /** Subject and issuer CN (default "Catena RA-TLS"). */
  commonName?: string;
  notBefore?: Date;
  /** Default notBefore + 1 day: the certificate is as fresh as its evidence. */
  notAfter?: Date;
}

/** The claims map of the DICE extension for a key: {"pubkey-hash": [1, SHA-256(spki)]}. */
export function diceClaims(spki: Uint8Array): Uint8Array {
  return encodeCbor(new CborMap([['pubkey-hash', [IANA_SHA256, sha256(spki)]]]));
}

/** The REPORTDATA a certificate with this SubjectPublicKeyInfo must carry in its evidence. */
export function ratlsReportData(spki: Uint8Array): Uint8Array {
  return concat(sha256(spki), sha256(diceClaims(spki)));
}

export function encodeDiceEvidence(evidence: Uint8Array, claims: Uint8Array): Uint8Array {
  return encodeCbor(new CborTag(DICE_EVIDENCE_CBOR_TAG, [evidence, claims]));
}

/** Reads #6.60000([bstr evidence, bstr claims]); anything else is a FormatError. */
export function decodeDiceEvidence(bytes: Uint8Array): { evidence: Uint8Array; claims: Uint8Array } {
  const v = decodeCbor(bytes);
  if (!(v instanceof CborTag) || v.tag !== DICE_EVIDENCE_CBOR_TAG)
    throw new FormatError(`dice evidence: expected CBOR tag ${DICE_EVIDENCE_CBOR_TAG}`);
  const a = v.value;
  if (!Array.isArray(a) || a.length !== 2 || !(a[0] instanceof Uint8Array) || !(a[1] instanceof Uint8Array)) {
    throw new FormatError('dice evidence: expected [bstr evidence, bstr claims]');
  }
  return { evidence: a[0], claims: a[1] };
}

/**
 * Creates the key pair and the certificate: SPKI first, then evidence over ratlsReportData(SPKI)
 * from `issuer`, then the self-signed certificate carrying it.
 */
export async function createRatlsCertificate(
  issuer: QuoteIssuer,
  opts: RatlsCertificateOptions = {},
): Promise<RatlsCredentials> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const reportData = ratlsReportData(spki);
  let evidence: Uint8Array;
  try {
    evidence = await issuer.issue(reportData);
  } catch (e) {
    throw new ChannelError(
      'ERR_CHANNEL_ISSUER',
      CHECK.evidence,
      `evidence for the certificate key could not be produced: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (!(evidence instanceof Uint8Array) || evidence.length === 0 || evidence.length > MAX_EVIDENCE) {
    throw new ChannelError(
      'ERR_CHANNEL_ISSUER',
      CHECK.evidence,
      'the issuer returned no evidence bytes (or more than 64 KiB)',
    );
  }
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + 86_400_000);
  const cn = (opts.commonName ?? 'Catena RA-TLS').replace(/[,=+<>#;"\\]/g, ' ');
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const certificate = selfSignedCertificate({
    commonName: cn,
    organization: 'Catena',
    notBefore,
    notAfter,
    spki,
    privateKey: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }),
    extensions: [
      extension(BASIC_CONSTRAINTS, false, basicConstraints(false)),
      extension(KEY_USAGE_OID, false, keyUsageBits(KEY_USAGE.digitalSignature)),
      extension(GRAMINE_QUOTE_OID, false, evidence),
      extension(TCG_DICE_TAGGED_EVIDENCE_OID, false, encodeDiceEvidence(evidence, diceClaims(spki))),
    ],
  });
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${b64lines(pkcs8)}-----END PRIVATE KEY-----\n`;
  pkcs8.fill(0);
  return {
    keyPem,
    certPem: `-----BEGIN CERTIFICATE-----\n${b64lines(certificate)}-----END CERTIFICATE-----\n`,
    certificate,
    spki,
    evidence,
    reportData,
  };
}

function b64lines(b: Uint8Array): string {
  return Buffer.from(b)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n');
}

export interface RatlsCertificateContents {
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** The evidence to appraise (identical in both extensions when both are present). */
  evidence: Uint8Array;
  gramine?: Uint8Array;
  dice?: { evidence: Uint8Array; claims: Uint8Array };
}

/**
 * Reads an RA-TLS certificate (DER) without trusting it: the key, the validity window and the
 * evidence. Refusals are ChannelErrors: unreadable certificate, no evidence extension, a repeated
 * extension, or two extensions that disagree (different evidence, or DICE claims that do not
 * hash this certificate's key).
 */
export function readRatlsCertificate(der: Uint8Array): RatlsCertificateContents {
  return readUncached(der);
}

/**
 * readRatlsCertificate with a memory: the same peer presents the same certificate on every handshake,
 * and parsing it (two X.509 parsers, CBOR) costs more than the rest of the handshake's verification.
 * Results are kept by exact bytes (never by a hash: different bytes can never share an entry) in a
 * bounded LRU owned by whoever verifies many handshakes (an enclave endpoint); refusals are not kept.
 */
export class RatlsCertificateReader {
  private readonly seen: Lru<string, RatlsCertificateContents>;

  constructor(max = 256) {
    this.seen = new Lru(max);
  }

  read(der: Uint8Array): RatlsCertificateContents {
    const r = this.seen.getOrSet(Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1'), () =>
      readUncached(der),
    );
    // Copies: a caller that changes the bytes it got cannot change what the next handshake reads.
    return {
      spki: r.spki.slice(),
      notBefore: new Date(r.notBefore),
      notAfter: new Date(r.notAfter),
      evidence: r.evidence.slice(),
      ...(r.gramine ? { gramine: r.gramine.slice() } : {}),
      ...(r.dice ? { dice: { evidence: r.dice.evidence.slice(), claims: r.dice.claims.slice() } } : {}),
    };
  }
}

function readUncached(der: Uint8Array): RatlsCertificateContents {
  let cert: CertificateParts;
  try {
    new NodeX509(Buffer.from(der)); // OpenSSL's parser too: what node:tls accepted must parse the same here
    cert = readCertificateParts(der);
    // RA-TLS keys are EC keys on a named curve (P-256 here, P-384 from Gramine's mbedTLS), and an
    // extension OpenSSL let through must still be well formed.
    const key = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'secp384r1'))
      throw new Error('the key is not an EC key on P-256 or P-384');
    for (const e of cert.extensions)
      if (e.oid === BASIC_CONSTRAINTS_OID)
        expectTag(parseDer(e.value, 'basicConstraints'), TAG.SEQUENCE, 'basicConstraints');
  } catch (e) {
    throw new ChannelError(
      'ERR_CHANNEL_CERTIFICATE',
      CHECK.certificate,
      `peer certificate unreadable: ${(e as Error).message}`,
    );
  }
  const spki = cert.spki.slice();
  const one = (oid: string): Uint8Array | undefined => {
    const exts = cert.extensions.filter((e) => e.oid === oid);
    if (exts.length > 1)
      throw new ChannelError(
        'ERR_CHANNEL_CERTIFICATE',
        CHECK.certificate,
        `extension ${oid} appears ${exts.length} times`,
      );
    return exts[0] ? exts[0].value.slice() : undefined;
  };
  const gramine = one(GRAMINE_QUOTE_OID);
  const diceBytes = one(TCG_DICE_TAGGED_EVIDENCE_OID);
  let dice: { evidence: Uint8Array; claims: Uint8Array } | undefined;
  if (diceBytes) {
    try {
      dice = decodeDiceEvidence(diceBytes);
    } catch (e) {
      throw new ChannelError(
        'ERR_CHANNEL_CERTIFICATE',
        CHECK.evidence,
        `TCG DICE evidence extension: ${(e as Error).message}`,
      );
    }
    if (!equal(dice.claims, diceClaims(spki))) {
      throw new ChannelError(
        'ERR_CHANNEL_KEY_BINDING',
        CHECK.extensionsAgree,
        'the DICE claims do not name this certificate key (pubkey-hash)',
      );
    }
  }
  if (gramine && dice && !equal(gramine, dice.evidence)) {
    throw new ChannelError(
      'ERR_CHANNEL_KEY_BINDING',
      CHECK.extensionsAgree,
      'the two evidence extensions carry different evidence',
    );
  }
  const evidence = gramine ?? dice?.evidence;
  if (!evidence || evidence.length === 0) {
    throw new ChannelError(
      'ERR_CHANNEL_NO_EVIDENCE',
      CHECK.evidence,
      `no RA-TLS evidence extension (${GRAMINE_QUOTE_OID} or ${TCG_DICE_TAGGED_EVIDENCE_OID})`,
    );
  }
  return {
    spki,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    evidence,
    ...(gramine ? { gramine } : {}),
    ...(dice ? { dice } : {}),
  };
}
