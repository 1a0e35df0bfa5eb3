import { createPrivateKey, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { Reader, Writer } from '../bytes/cursor.ts';
import { p256PublicRaw, p256Sign } from '../crypto/ecdsa.ts';
import { FormatError } from '../errors.ts';
import { readReportBody, REPORT_BODY_SIZE, type ReportBody } from '../formats/report.ts';
import { selfSignedCertificate } from '../formats/self-signed-certificate.ts';
import { basicConstraints, extension } from '../formats/x509-writer.ts';

/**
 * MOCK evidence — a clearly fake stand-in for a DCAP quote, for tests and for the CLI until the
 * DCAP issuer/validator are wired in. It is NOT a quote: it starts with an ASCII label where a
 * quote has its version (3 or 4), so no quote parser and no DCAP validator accepts it.
 *
 *   off  len  field
 *     0   32  magic "CATENA-MOCK-EVIDENCE/NOT-A-QUOTE"
 *    32  384  REPORT body (sgx_report_body_t, src/formats/report.ts), REPORTDATA at 32+320
 *   416   64  signer public key, P-256 X‖Y
 *   480   64  ECDSA P-256 signature r‖s (SHA-256) over bytes [0, 480)
 *   544       end
 *
 * The signer is a "mock attestation root": a P-256 key with a self-signed certificate that a
 * MockQuoteValidator is told to trust. Nothing checks that the REPORT body came from an enclave:
 * whoever holds the root key can claim any identity — which is exactly what "mock" means.
 */
export const MOCK_EVIDENCE_MAGIC = new TextEncoder().encode('CATENA-MOCK-EVIDENCE/NOT-A-QUOTE');
export const MOCK_EVIDENCE_SIZE = 544;
const SIGNED = 480;

export interface MockEvidence {
  body: ReportBody;
  rawBody: Uint8Array;
  signerKey: Uint8Array;
  signature: Uint8Array;
  signed: Uint8Array;
}

export function isMockEvidence(b: Uint8Array): boolean {
  return b.length >= 32 && MOCK_EVIDENCE_MAGIC.every((x, i) => b[i] === x);
}

export function parseMockEvidence(bytes: Uint8Array): MockEvidence {
  if (bytes.length !== MOCK_EVIDENCE_SIZE)
    throw new FormatError(`mock evidence: expected ${MOCK_EVIDENCE_SIZE} bytes, got ${bytes.length}`, 'ERR_LENGTH');
  if (!isMockEvidence(bytes)) throw new FormatError('mock evidence: bad magic');
  const r = new Reader(bytes, 'mock evidence');
  r.skip(32, 'magic');
  const body = readReportBody(r);
  const signerKey = r.bytesOf(64, 'signer_key');
  const signature = r.bytesOf(64, 'signature');
  r.end();
  return {
    body,
    rawBody: bytes.subarray(32, 32 + REPORT_BODY_SIZE),
    signerKey,
    signature,
    signed: bytes.subarray(0, SIGNED),
  };
}

/** Signs a 384-byte REPORT body into mock evidence. */
export function signMockEvidence(rawBody: Uint8Array, key: KeyObject): Uint8Array {
  if (rawBody.length !== REPORT_BODY_SIZE)
    throw new FormatError(`mock evidence: report body must be ${REPORT_BODY_SIZE} bytes`, 'ERR_LENGTH');
  const signed = new Writer().bytes(MOCK_EVIDENCE_MAGIC).bytes(rawBody).bytes(p256PublicRaw(key)).finish();
  return new Writer().bytes(signed).bytes(p256Sign(key, signed)).finish();
}

/** A mock attestation root: the key that signs mock evidence and its self-signed certificate. */
export interface MockAttestationRoot {
  certificate: Uint8Array;
  certPem: string;
  keyPem: string;
  privateKey: KeyObject;
}

export async function createMockAttestationRoot(
  commonName = 'Catena MOCK attestation root (NOT Intel, NOT for production)',
): Promise<MockAttestationRoot> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const now = Date.now();
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const certificate = selfSignedCertificate({
    commonName: commonName.replace(/[,=+<>#;"\\]/g, ' '),
    organization: 'Catena',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    spki: new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    privateKey: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }),
    extensions: [extension('2.5.29.19', true, basicConstraints(true))],
  });
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  pkcs8.fill(0);
  return mockRootFromPem(new X509Certificate(certificate).toString(), keyPem);
}

/** Reloads a mock root saved as two PEM texts. */
export function mockRootFromPem(certPem: string, keyPem: string): MockAttestationRoot {
  const c = new X509Certificate(certPem);
  const privateKey = createPrivateKey(keyPem);
  if (!c.checkPrivateKey(privateKey)) throw new FormatError('mock root: the key does not belong to the certificate');
  return { certificate: new Uint8Array(c.raw), certPem: c.toString(), keyPem, privateKey };
}
