import type { KeyObject } from 'node:crypto';
import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes, concat, equal } from '../bytes/util.ts';
import { sha256 } from '../crypto/sha256.ts';
import {
  RSA3072_BYTES,
  rsa3072Sign,
  rsa3072Verify,
  rsaModulusLE,
  rsaQ1Q2,
  SIGSTRUCT_EXPONENT,
} from '../crypto/rsa3072.ts';
import { ArgumentError, FormatError } from '../errors.ts';
import { readAttributes, writeAttributes, type Attributes } from './attributes.ts';

/**
 * SIGSTRUCT — 1808 bytes (Intel SDM Vol 3D, §"Enclave Signature Structure (SIGSTRUCT)"; Intel SDK
 * `arch.h` css_header_t / css_key_t / css_body_t / css_buffer_t). All integers little-endian.
 *
 *   off  len  field
 *     0   16  HEADER        06000000E10000000000010000000000h (the SDK splits it into header[12] ‖ type u32;
 *                           type bit 31 marks an Intel debug-signed module, so type is 0 or 80000000h)
 *    16    4  VENDOR        0 (non-Intel) or 00008086h (Intel)
 *    20    4  DATE          BCD yyyymmdd, e.g. 20161214h
 *    24   16  HEADER2       01010000600000006000000001000000h
 *    40    4  SWDEFINED
 *    44   84  reserved
 *   128  384  MODULUS       RSA-3072 n, little-endian
 *   512    4  EXPONENT      3
 *   516  384  SIGNATURE     RSASSA-PKCS1-v1_5 SHA-256 over [0,128) ‖ [900,1028), little-endian
 *   900    4  MISCSELECT
 *   904    4  MISCMASK
 *   908    4  reserved      (CET_ATTRIBUTES/CET_ATTRIBUTES_MASK in recent SDMs; kept as reserved here)
 *   912   16  ISVFAMILYID
 *   928   16  ATTRIBUTES    (u64 flags, u64 xfrm)
 *   944   16  ATTRIBUTEMASK
 *   960   32  ENCLAVEHASH   the expected MRENCLAVE
 *   992   16  reserved
 *  1008   16  ISVEXTPRODID
 *  1024    2  ISVPRODID
 *  1026    2  ISVSVN
 *  1028   12  reserved
 *  1040  384  Q1            floor(s² / n), little-endian
 *  1424  384  Q2            floor((s³ − Q1·s·n) / n), little-endian
 *
 * MRSIGNER = SHA-256(MODULUS as stored). Reserved bytes are written as zero and, when parsing,
 * kept only in `raw` (the signed ones are covered by the signature anyway).
 */
export const SIGSTRUCT_SIZE = 1808;
export const SIGSTRUCT_HEADER = Uint8Array.from([0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0]);
export const SIGSTRUCT_HEADER2 = Uint8Array.from([0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0]);
/** css_header_t.type, bit 31: a module Intel signed for debug launch. */
export const SIGSTRUCT_TYPE_DEBUG = 0x80000000;
export const SIGSTRUCT_VENDOR = { OTHER: 0, INTEL: 0x8086 } as const;

/** The signed byte ranges: [0,128) ‖ [900,1028). */
export const SIGSTRUCT_SIGNED_RANGES = [
  [0, 128],
  [900, 1028],
] as const;

export interface SigstructFields {
  vendor: number;
  /** BCD as stored, e.g. 0x20160109 for 2016-01-09 (see bcdDate). */
  date: number;
  swDefined: number;
  miscSelect: number;
  miscMask: number;
  isvFamilyId: Uint8Array;
  attributes: Attributes;
  attributeMask: Attributes;
  enclaveHash: Uint8Array;
  isvExtProdId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  /** css_header_t.type (header bytes 12..16): 0, or SIGSTRUCT_TYPE_DEBUG. Default 0. */
  moduleType?: number;
}

export interface Sigstruct extends SigstructFields {
  moduleType: number;
  /** RSA-3072 modulus, 384 bytes little-endian as stored. */
  modulus: Uint8Array;
  exponent: number;
  /** 384 bytes little-endian as stored. */
  signature: Uint8Array;
  q1: Uint8Array;
  q2: Uint8Array;
  /** The exact 1808 bytes parsed. */
  raw: Uint8Array;
}

function checkHeader(header: Uint8Array, header2: Uint8Array): string | undefined {
  if (!equal(header.subarray(0, 12), SIGSTRUCT_HEADER.subarray(0, 12)))
    return 'HEADER is not 06000000E10000000000010000000000h';
  const type = new DataView(header.buffer, header.byteOffset + 12, 4).getUint32(0, true);
  if (type !== 0 && type !== SIGSTRUCT_TYPE_DEBUG)
    return `HEADER type 0x${type.toString(16)} is neither 0 nor 0x80000000`;
  if (!equal(header2, SIGSTRUCT_HEADER2)) return 'HEADER2 is not 01010000600000006000000001000000h';
  return undefined;
}

/** Parses exactly 1808 bytes. FormatError ERR_LENGTH on another length, ERR_SIGSTRUCT_HEADER on bad header constants. */
export function parseSigstruct(bytes: Uint8Array): Sigstruct {
  abytes(bytes, undefined, 'sigstruct');
  if (bytes.length !== SIGSTRUCT_SIZE)
    throw new FormatError(`sigstruct: expected ${SIGSTRUCT_SIZE} bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const raw = bytes.slice();
  const r = new Reader(raw, 'sigstruct');
  const header = r.bytesOf(16, 'header');
  const vendor = r.u32('vendor');
  const date = r.u32('date');
  const header2 = r.bytesOf(16, 'header2');
  const bad = checkHeader(header, header2);
  if (bad) throw new FormatError(`sigstruct: ${bad}`, 'ERR_SIGSTRUCT_HEADER');
  const moduleType = new DataView(raw.buffer, 12, 4).getUint32(0, true);
  const swDefined = r.u32('swdefined');
  r.skip(84, 'reserved1');
  const modulus = r.bytesOf(RSA3072_BYTES, 'modulus');
  const exponent = r.u32('exponent');
  const signature = r.bytesOf(RSA3072_BYTES, 'signature');
  const miscSelect = r.u32('miscselect');
  const miscMask = r.u32('miscmask');
  r.skip(4, 'reserved2');
  const isvFamilyId = r.bytesOf(16, 'isvfamilyid');
  const attributes = readAttributes(r, 'attributes');
  const attributeMask = readAttributes(r, 'attributemask');
  const enclaveHash = r.bytesOf(32, 'enclavehash');
  r.skip(16, 'reserved3');
  const isvExtProdId = r.bytesOf(16, 'isvextprodid');
  const isvProdId = r.u16('isvprodid');
  const isvSvn = r.u16('isvsvn');
  r.skip(12, 'reserved4');
  const q1 = r.bytesOf(RSA3072_BYTES, 'q1');
  const q2 = r.bytesOf(RSA3072_BYTES, 'q2');
  r.end();
  return {
    moduleType,
    vendor,
    date,
    swDefined,
    modulus,
    exponent,
    signature,
    miscSelect,
    miscMask,
    isvFamilyId,
    attributes,
    attributeMask,
    enclaveHash,
    isvExtProdId,
    isvProdId,
    isvSvn,
    q1,
    q2,
    raw,
  };
}

function u32(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ArgumentError(`${name}: expected a u32, got ${v}`);
  return v;
}
function u16(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new ArgumentError(`${name}: expected a u16, got ${v}`);
  return v;
}
function u64(v: bigint, name: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn)
    throw new ArgumentError(`${name}: expected a u64 bigint`);
  return v;
}
function attrs(a: Attributes, name: string): Attributes {
  return {
    flags: u64(a?.flags, `${name}.flags`),
    // Stryker disable next-line OptionalChaining: when a is missing, a?.flags above has already thrown the ArgumentError
    xfrm: u64(a?.xfrm, `${name}.xfrm`),
  };
}

/** Writes the 1808 bytes with the given key material (used by signing and by serializeSigstruct). */
function writeSigstruct(
  f: SigstructFields,
  key: { modulus: Uint8Array; exponent: number; signature: Uint8Array; q1: Uint8Array; q2: Uint8Array },
): Uint8Array {
  const moduleType = u32(f.moduleType ?? 0, 'moduleType');
  if (moduleType !== 0 && moduleType !== SIGSTRUCT_TYPE_DEBUG)
    throw new ArgumentError('moduleType: expected 0 or 0x80000000');
  const w = new Writer()
    .bytes(SIGSTRUCT_HEADER.subarray(0, 12))
    .u32(moduleType)
    .u32(u32(f.vendor, 'vendor'))
    .u32(u32(f.date, 'date'))
    .bytes(SIGSTRUCT_HEADER2)
    .u32(u32(f.swDefined, 'swDefined'))
    .zeros(84)
    .bytes(abytes(key.modulus, RSA3072_BYTES, 'modulus'))
    .u32(u32(key.exponent, 'exponent'))
    .bytes(abytes(key.signature, RSA3072_BYTES, 'signature'))
    .u32(u32(f.miscSelect, 'miscSelect'))
    .u32(u32(f.miscMask, 'miscMask'))
    .zeros(4)
    .bytes(abytes(f.isvFamilyId, 16, 'isvFamilyId'));
  writeAttributes(w, attrs(f.attributes, 'attributes'));
  writeAttributes(w, attrs(f.attributeMask, 'attributeMask'));
  w.bytes(abytes(f.enclaveHash, 32, 'enclaveHash'))
    .zeros(16)
    .bytes(abytes(f.isvExtProdId, 16, 'isvExtProdId'))
    .u16(u16(f.isvProdId, 'isvProdId'))
    .u16(u16(f.isvSvn, 'isvSvn'))
    .zeros(12)
    .bytes(abytes(key.q1, RSA3072_BYTES, 'q1'))
    .bytes(abytes(key.q2, RSA3072_BYTES, 'q2'));
  return w.finish();
}

/** Serialises a parsed (or hand-built) SIGSTRUCT as it stands: no signing, reserved bytes zero. */
export function serializeSigstruct(s: Sigstruct): Uint8Array {
  return writeSigstruct(s, s);
}

/** The signed bytes of a 1808-byte SIGSTRUCT: [0,128) ‖ [900,1028). */
export function sigstructSignedBytes(raw: Uint8Array): Uint8Array {
  abytes(raw, SIGSTRUCT_SIZE, 'sigstruct');
  return concat(...SIGSTRUCT_SIGNED_RANGES.map(([a, b]) => raw.subarray(a, b)));
}

/** Builds and signs a SIGSTRUCT with a vendor RSA-3072 e=3 key. Deterministic: same inputs, same 1808 bytes. */
export function signSigstruct(fields: SigstructFields, vendorKey: KeyObject): Uint8Array {
  const modulus = rsaModulusLE(vendorKey);
  const zero = new Uint8Array(RSA3072_BYTES);
  const unsigned = writeSigstruct(fields, {
    modulus,
    exponent: SIGSTRUCT_EXPONENT,
    signature: zero,
    q1: zero,
    q2: zero,
  });
  const { signatureLE, q1LE, q2LE } = rsa3072Sign(vendorKey, sigstructSignedBytes(unsigned));
  unsigned.set(signatureLE, 516);
  unsigned.set(q1LE, 1040);
  unsigned.set(q2LE, 1424);
  return unsigned;
}

/**
 * Checks what EINIT checks in a SIGSTRUCT itself: header constants, vendor, exponent 3, the RSA
 * signature over the signed bytes of `raw`, and Q1/Q2. Never throws for bad content; each failure
 * is named (`header`, `vendor`, `exponent`, `signature`, `q1`, `q2`, `raw`).
 */
export function verifySigstruct(s: Sigstruct): { ok: boolean; failures: string[] } {
  const failures: string[] = [];
  if (!(s?.raw instanceof Uint8Array) || s.raw.length !== SIGSTRUCT_SIZE)
    return { ok: false, failures: ['raw: not the 1808 parsed bytes'] };
  const raw = s.raw;
  const bad = checkHeader(raw.subarray(0, 16), raw.subarray(24, 40));
  if (bad) failures.push(`header: ${bad}`);
  // Work from raw so a caller who edited fields after parsing cannot make stale fields "verify".
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const vendor = dv.getUint32(16, true);
  if (vendor !== SIGSTRUCT_VENDOR.OTHER && vendor !== SIGSTRUCT_VENDOR.INTEL)
    failures.push(`vendor: 0x${vendor.toString(16)} is neither 0 nor 0x8086`);
  const exponent = dv.getUint32(512, true);
  if (exponent !== SIGSTRUCT_EXPONENT) failures.push(`exponent: ${exponent}, EINIT requires 3`);
  const modulus = raw.subarray(128, 512);
  const signature = raw.subarray(516, 900);
  if (!rsa3072Verify(modulus, SIGSTRUCT_EXPONENT, sigstructSignedBytes(raw), signature)) {
    failures.push('signature: RSA-3072 PKCS#1 v1.5 SHA-256 signature over [0,128) ‖ [900,1028) does not verify');
  }
  let q: { q1LE: Uint8Array; q2LE: Uint8Array } | undefined;
  try {
    q = rsaQ1Q2(signature, modulus);
  } catch {
    // A zero modulus, or a signature so far above the modulus that Q1/Q2 need more than 384 bytes:
    // no stored Q1/Q2 can be right, and that is a named failure, not an exception (found by fuzzing).
  }
  if (!q || !equal(q.q1LE, raw.subarray(1040, 1424))) failures.push('q1: Q1 is not floor(signature² / modulus)');
  if (!q || !equal(q.q2LE, raw.subarray(1424, 1808)))
    failures.push('q2: Q2 is not floor((signature³ − Q1·signature·modulus) / modulus)');
  return { ok: failures.length === 0, failures };
}

/** MRSIGNER: SHA-256 of the modulus as stored (384 bytes little-endian). */
export function mrSignerOf(s: Pick<Sigstruct, 'modulus'>): Uint8Array {
  return sha256(abytes(s.modulus, RSA3072_BYTES, 'modulus'));
}

/**
 * A calendar date as SIGSTRUCT.DATE stores it: BCD yyyymmdd, "20160109" or 20160109 → 0x20160109.
 * FormatError ERR_SIGSTRUCT_DATE for anything that is not a real date with eight digits.
 */
export function bcdDate(yyyymmdd: string | number): number {
  // A negative or fractional number spells no eight digits ("-2016…", "2016….5"): refused by the pattern.
  const s = String(yyyymmdd);
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  const bad = () => new FormatError(`date: expected YYYYMMDD, got ${s}`, 'ERR_SIGSTRUCT_DATE');
  if (!m) throw bad();
  // Date.UTC rolls month 13 or day 32 over: a date whose month and day do not read back as written is none.
  const t = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (t.toISOString().slice(5, 10) !== `${m[2]}-${m[3]}`) throw bad();
  return parseInt(s, 16);
}

/** The inverse of bcdDate: 0x20160109 → "20160109". FormatError ERR_SIGSTRUCT_DATE when a nibble is not a decimal digit. */
export function dateFromBcd(bcd: number): string {
  const s = (bcd >>> 0).toString(16).padStart(8, '0');
  // Stryker disable next-line Regex: s has exactly 8 characters (a u32 in hex, padded), so either anchor alone is enough
  if (!/^\d{8}$/.test(s)) throw new FormatError(`date: 0x${s} is not BCD`, 'ERR_SIGSTRUCT_DATE');
  return s;
}
