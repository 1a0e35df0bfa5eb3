/**
 * Minimal DER encoding (X.690) for the structures Catena issues itself: TLVs with definite lengths,
 * OIDs, non-negative INTEGERs, times. Callers assemble SEQUENCEs from already-encoded children.
 */

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** tag ‖ length ‖ the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const head = [tag, ...lengthBytes(n)];
  const out = new Uint8Array(head.length + n);
  out.set(head, 0);
  let o = head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]) => tlv(0x30, ...parts);
export const set = (...parts: Uint8Array[]) => tlv(0x31, ...parts);
export const octetString = (b: Uint8Array) => tlv(0x04, b);
export const utf8String = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
export const printableString = (s: string) => tlv(0x13, new TextEncoder().encode(s));
export const boolean = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0x00]));
/** BIT STRING with `unusedBits` unused bits in the last byte. */
export const bitString = (b: Uint8Array, unusedBits = 0) => tlv(0x03, new Uint8Array([unusedBits]), b);
/** Context-specific tag `n`, constructed (EXPLICIT or a constructed IMPLICIT) or primitive. */
export const context = (n: number, constructed: boolean, ...parts: Uint8Array[]) =>
  tlv((constructed ? 0xa0 : 0x80) | n, ...parts);

/** DER INTEGER of an unsigned big-endian magnitude (leading zeros stripped, 0x00 added for a high bit). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  // Past the end magnitude[i] is undefined: an all-zero magnitude strips to empty, written as 0 below.
  while (magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m.length && m[0] & 0x80 ? tlv(0x02, new Uint8Array([0]), m) : tlv(0x02, m.length ? m : new Uint8Array([0]));
}

export function smallInteger(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`DER INTEGER: ${n} is not a non-negative integer`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  // Stryker disable next-line ArrayDeclaration: an empty magnitude is written as the INTEGER 0, as [0] is
  return unsignedInteger(new Uint8Array(bytes.length ? bytes : [0]));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`OID ${dotted}: bad arc`);
    return Number(a);
  });
  if (arcs.length < 2) throw new RangeError(`OID ${dotted}: fewer than two arcs`);
  const out: number[] = [];
  const push = (v: number) => {
    const b: number[] = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  };
  push(arcs[0] * 40 + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, new Uint8Array(out));
}

const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function time(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  const enc = new TextEncoder();
  return y >= 1950 && y < 2050
    ? tlv(0x17, enc.encode(`${two(y % 100)}${rest}`))
    : tlv(0x18, enc.encode(`${String(y).padStart(4, '0')}${rest}`));
}
