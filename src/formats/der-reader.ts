import { FormatError } from '../errors.ts';

/**
 * A strict DER reader (ITU-T X.690 §10): definite lengths only, minimal length encoding,
 * no trailing bytes inside a constructed value. Enough to walk certificates, CRLs and Intel's SGX
 * extension without a general ASN.1 library on the verification hot path.
 */
export interface DerNode {
  /** The identifier octet (single-byte tags only: DER as used by X.509 never needs more). */
  tag: number;
  /** The whole TLV. */
  raw: Uint8Array;
  /** The value octets. */
  value: Uint8Array;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
} as const;

function derError(what: string, message: string): FormatError {
  return new FormatError(`${what}: ${message}`, 'ERR_DER');
}

/** Reads one TLV at `offset`; returns the node and the offset after it. */
export function readTlv(buf: Uint8Array, offset: number, what = 'DER'): { node: DerNode; next: number } {
  if (offset + 2 > buf.length) throw derError(what, `truncated TLV at ${offset}`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw derError(what, `multi-byte tag at ${offset}`);
  let len = buf[offset + 1];
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // Stryker disable next-line ConditionalExpression: n = 0 reads a length of 0, refused below as non-minimal (ERR_DER all the same)
    if (n === 0) throw derError(what, 'indefinite length');
    // Stryker disable next-line ConditionalExpression: 5 or more length octets, the first non-zero, give a length ≥ 2³² that overruns any input (ERR_DER)
    if (n > 4) throw derError(what, 'length too large');
    // Stryker disable next-line EqualityOperator: length octets ending exactly at the input's end give a length ≥ 0x80 with no value bytes left: refused as an overrun (ERR_DER)
    if (p + n > buf.length) throw derError(what, 'truncated length');
    if (buf[p] === 0) throw derError(what, 'non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    if (len < 0x80) throw derError(what, 'non-minimal length');
    p += n;
  }
  if (p + len > buf.length)
    // Stryker disable next-line ArithmeticOperator: the count in the message text only
    throw derError(what, `value overruns input (${len} bytes at ${p}, have ${buf.length - p})`);
  return { node: { tag, raw: buf.subarray(offset, p + len), value: buf.subarray(p, p + len) }, next: p + len };
}

/** Parses exactly one TLV covering all of `buf`. */
export function parseDer(buf: Uint8Array, what = 'DER'): DerNode {
  const { node, next } = readTlv(buf, 0, what);
  if (next !== buf.length)
    // Stryker disable next-line ArithmeticOperator: the count in the message text only
    throw derError(what, `${buf.length - next} trailing bytes`);
  return node;
}

/** The children of a constructed node (they must tile its value exactly). */
export function children(node: DerNode, what = 'DER'): DerNode[] {
  if ((node.tag & 0x20) === 0) throw derError(what, `tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let p = 0;
  while (p < node.value.length) {
    const { node: c, next } = readTlv(node.value, p, what);
    out.push(c);
    p = next;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw derError(what, 'missing');
  if (node.tag !== tag) throw derError(what, `expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`);
  return node;
}

/** Dotted OID text from an OBJECT IDENTIFIER value. */
export function oidText(node: DerNode, what = 'OID'): string {
  expectTag(node, TAG.OID, what);
  const v = node.value;
  if (v.length === 0) throw derError(what, 'empty OID');
  const parts: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    if (acc === 0 && v[i] === 0x80) throw derError(what, 'non-minimal OID arc');
    acc = acc * 128 + (v[i] & 0x7f);
    if ((v[i] & 0x80) === 0) {
      parts.push(acc);
      acc = 0;
    } else if (i === v.length - 1) throw derError(what, 'truncated OID arc');
  }
  const first = parts[0];
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts.slice(1)].join('.');
}

/** A non-negative INTEGER or ENUMERATED that fits a JS number (SVNs, versions, types). */
export function smallUint(node: DerNode | undefined, tag: number, what: string): number {
  const v = expectTag(node, tag, what).value;
  if (v.length === 0 || v.length > 6) throw derError(what, `integer of ${v.length} bytes`);
  if (v[0] & 0x80) throw derError(what, 'negative integer');
  if (v.length > 1 && v[0] === 0 && (v[1] & 0x80) === 0) throw derError(what, 'non-minimal integer');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** INTEGER value bytes as lowercase hex without sign padding (certificate/CRL serial numbers). */
export function integerHex(node: DerNode, what: string): string {
  expectTag(node, TAG.INTEGER, what);
  let v = node.value;
  if (v.length === 0) throw derError(what, 'empty integer');
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  return Buffer.from(v).toString('hex');
}

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1 window 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
export function derTime(node: DerNode | undefined, what: string): Date {
  // A structure that ends early leaves no node here (a CRL cut after its issuer, found by fuzzing).
  if (!node) throw derError(what, 'missing');
  const s = Buffer.from(node.value).toString('latin1');
  let m: RegExpMatchArray | null;
  let year: number;
  if (node.tag === TAG.UTCTime && (m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.GeneralizedTime && (m = s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/))) {
    year = Number(m[1]);
  } else {
    throw derError(what, `not a DER UTCTime/GeneralizedTime: ${JSON.stringify(s)}`);
  }
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  // Date.UTC rolls a field over (month 13 is January of the next year, 24:00 the next day): a time whose
  // month to second do not read back as written names no instant (X.690 §11.7/§11.8; RFC 5280 §4.1.2.5).
  if (d.toISOString().slice(5, 19) !== `${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) throw derError(what, `bad time ${s}`);
  return d;
}
