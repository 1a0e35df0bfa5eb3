import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { hex } from '../../bytes/util.ts';
import { p256PublicRaw } from '../../crypto/ecdsa.ts';
import { randomBytes } from '../../crypto/random.ts';
import { x509 } from './x509.ts';
import { ECDSA_SHA256, publicCryptoKey, signingCryptoKey } from './keys.ts';
import { dn, SGX_EXTENSION_OID } from './names.ts';

/**
 * Issues one X.509 v3 certificate in the profile of Intel's SGX PKI (Intel SGX PCK Certificate and
 * CRL Profile §1.3–1.5, and the certificates Intel actually ships): ecdsa-with-SHA256, 20-byte
 * positive serial, extensions in Intel's order — Authority Key Identifier (keyIdentifier only),
 * CRL Distribution Points (one URI), Subject Key Identifier, Key Usage (critical), Basic
 * Constraints (critical), then, on PCK certificates, the SGX extension (not critical).
 */
export interface CertificateSpec {
  subject: string;
  issuer: string;
  /** The issuer's private key (the subject's own key for the self-signed root). */
  issuerKey: KeyObject;
  /** The subject's public key. */
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** CA certificates carry CA:TRUE with this path length; leaves carry CA:FALSE. */
  ca?: { pathLength: number };
  crlUrl: string;
  /** The SGX extension value (PCK certificates only). */
  sgxExtension?: Uint8Array;
  serial?: Uint8Array;
}

export const KEY_USAGE = {
  ca: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
  leaf: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
} as const;

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed point). */
export function keyIdentifier(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(p256PublicRaw(pub))]);
  return new Uint8Array(createHash('sha1').update(point).digest());
}

/** A fresh 20-byte serial whose first byte is 0x01–0x7f (positive, no padding byte, the RFC 5280 maximum). */
export function newSerial(): Uint8Array {
  const s = randomBytes(20);
  s[0] = (s[0]! % 0x7f) + 1;
  return s;
}

/** Dates in certificates and CRLs carry whole seconds. */
export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export async function issueCertificate(spec: CertificateSpec): Promise<Uint8Array> {
  const extensions: x509.Extension[] = [
    new x509.AuthorityKeyIdentifierExtension(hex(keyIdentifier(spec.issuerKey))),
    new x509.CRLDistributionPointsExtension([spec.crlUrl]),
    new x509.SubjectKeyIdentifierExtension(hex(keyIdentifier(spec.publicKey))),
    new x509.KeyUsagesExtension(spec.ca ? KEY_USAGE.ca : KEY_USAGE.leaf, true),
    spec.ca ? new x509.BasicConstraintsExtension(true, spec.ca.pathLength, true) : new x509.BasicConstraintsExtension(false, undefined, true),
  ];
  if (spec.sgxExtension) extensions.push(new x509.Extension(SGX_EXTENSION_OID, false, Uint8Array.from(spec.sgxExtension)));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: hex(spec.serial ?? newSerial()),
    subject: dn(spec.subject),
    issuer: dn(spec.issuer),
    notBefore: wholeSeconds(spec.notBefore),
    notAfter: wholeSeconds(spec.notAfter),
    publicKey: await publicCryptoKey(spec.publicKey),
    signingKey: await signingCryptoKey(spec.issuerKey),
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}
