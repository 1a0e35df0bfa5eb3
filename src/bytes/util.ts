import { timingSafeEqual } from 'node:crypto';
import { ArgumentError, FormatError } from '../errors.ts';

/** Lowercase hex of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Bytes from hex; rejects odd length and non-hex characters (Buffer.from silently truncates). */
export function fromHex(s: string, expectedLength?: number, name = 'hex'): Uint8Array {
  const t = s.startsWith('0x') ? s.slice(2) : s;
  // Buffer stops decoding at the first pair that is not hex (or at a lone last digit): a short result
  // means a bad character or an odd length.
  // (One pass instead of a regex scan first; quotes in chains are ~9 KB of hex.)
  const buf = Buffer.from(t, 'hex');
  if (buf.length * 2 !== t.length) throw new FormatError(`${name}: not a hex string`, 'ERR_HEX');
  // Buffer.from pools results under 4 KB (copied out, so nothing pins or exposes the pool); a larger one
  // owns its memory and is handed over as a plain Uint8Array without a second copy (a quote: ≈ 4.6 KB).
  const out =
    // Stryker disable next-line ConditionalExpression,EqualityOperator: copying a result that owns its memory gives equal bytes (only a copy's cost); the pooled case is tested
    buf.byteLength < Buffer.poolSize >>> 1
      ? new Uint8Array(buf)
      : new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new FormatError(`${name}: expected ${expectedLength} bytes, got ${out.length}`, 'ERR_HEX');
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Plain equality, for public values. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  // Stryker disable next-line EqualityOperator: at i = length both a[i] and b[i] are undefined
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Constant-time equality, for MACs and secrets. Length is not secret. */
export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Asserts a Uint8Array of an exact length, naming the field (noble's `abytes`). */
export function abytes(x: unknown, len: number | undefined, name: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new ArgumentError(`${name}: expected Uint8Array`);
  if (len !== undefined && x.length !== len) throw new ArgumentError(`${name}: expected ${len} bytes, got ${x.length}`);
  return x;
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function u16le(n: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, true);
  return b;
}
export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
export function u64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}
