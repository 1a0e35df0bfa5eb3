import {
  bitString,
  boolean,
  context,
  octetString,
  oid,
  seq,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der-writer.ts';

/**
 * X.509 pieces (RFC 5280) Catena writes with its one DER writer (der-writer.ts): certificates of the
 * emulated manufacturer, RA-TLS and mock roots, the agent listener; CRLs of the emulated manufacturer.
 * Every signature is ecdsa-with-SHA256; the caller signs the TBS bytes (the key stays where it is).
 */
export const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** RFC 5280 §4.2.1.3 KeyUsage named bits, as flags (bit i = 1 << i). */
export const KEY_USAGE = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  keyCertSign: 32,
  cRLSign: 64,
} as const;

const SPKI_P256_PREFIX = Uint8Array.from(Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'));

/** SubjectPublicKeyInfo of a P-256 key from its raw point x‖y (64 bytes). */
export function spkiP256(point: Uint8Array): Uint8Array {
  if (point.length !== 64) throw new RangeError(`P-256 point must be 64 bytes (x‖y), got ${point.length}`);
  const out = new Uint8Array(SPKI_P256_PREFIX.length + 65);
  out.set(SPKI_P256_PREFIX, 0);
  out[SPKI_P256_PREFIX.length] = 4;
  out.set(point, SPKI_P256_PREFIX.length + 1);
  return out;
}

/** One Extension: critical is written only when true (DER omits a DEFAULT FALSE). */
export function extension(id: string | Uint8Array, critical: boolean, value: Uint8Array): Uint8Array {
  const o = typeof id === 'string' ? oid(id) : id;
  return critical ? seq(o, boolean(true), octetString(value)) : seq(o, octetString(value));
}

/** KeyUsage flags as a DER BIT STRING: trailing zero bits dropped and counted as unused. */
export function keyUsageBits(flags: number): Uint8Array {
  let last = -1;
  for (let i = 0; i < 9; i++) if (flags & (1 << i)) last = i;
  // No bit set (last = −1): no bytes, 0 unused bits.
  const bytes = new Uint8Array((last >> 3) + 1);
  for (let i = 0; i <= last; i++) if (flags & (1 << i)) bytes[i >> 3] |= 0x80 >> (i & 7);
  return bitString(bytes, 7 - (last & 7));
}

/** BasicConstraints value: CA:TRUE with an optional path length, or CA:FALSE (the empty SEQUENCE). */
export function basicConstraints(ca: boolean, pathLength?: number): Uint8Array {
  if (!ca) return seq();
  return pathLength === undefined ? seq(boolean(true)) : seq(boolean(true), smallInteger(pathLength));
}

/** An RDNSequence, one attribute per RDN, in the order given: [attribute type OID, encoded value]. */
export function distinguishedName(attributes: Array<[type: string, value: Uint8Array]>): Uint8Array {
  return seq(...attributes.map(([type, value]) => set(seq(oid(type), value))));
}

/** CN=…, O=… as UTF8Strings: the names of Catena's self-signed certificates. */
export function simpleName(commonName: string, organization: string): Uint8Array {
  return distinguishedName([
    ['2.5.4.3', utf8String(commonName)],
    ['2.5.4.10', utf8String(organization)],
  ]);
}

export interface TbsCertificateSpec {
  /** Unsigned big-endian magnitude (RFC 5280: positive, at most 20 bytes). */
  serial: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  /** Each from extension(); none → no extensions field. */
  extensions: Uint8Array[];
}

/** TBSCertificate v3, ecdsa-with-SHA256 (RFC 5280 §4.1); times in whole seconds. */
export function tbsCertificate(t: TbsCertificateSpec): Uint8Array {
  const parts = [
    context(0, true, smallInteger(2)),
    unsignedInteger(t.serial),
    ECDSA_WITH_SHA256,
    t.issuer,
    seq(time(wholeSeconds(t.notBefore)), time(wholeSeconds(t.notAfter))),
    t.subject,
    t.spki,
  ];
  if (t.extensions.length) parts.push(context(3, true, seq(...t.extensions)));
  return seq(...parts);
}

/** Certificate or CertificateList: the TBS, ecdsa-with-SHA256, and the DER ECDSA signature over the TBS. */
export function signedX509(tbs: Uint8Array, signatureDer: Uint8Array): Uint8Array {
  return seq(tbs, ECDSA_WITH_SHA256, bitString(signatureDer));
}

/** Dates in certificates and CRLs carry whole seconds. */
export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}
