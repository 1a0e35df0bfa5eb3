import { Reader, Writer } from '../bytes/cursor.ts';

/**
 * sgx_attributes_t (16 bytes): u64 flags, u64 xfrm.
 * Flags: INIT 0x1, DEBUG 0x2, MODE64BIT 0x4, PROVISIONKEY 0x10, EINITTOKEN_KEY 0x20, KSS 0x80.
 */
export interface Attributes {
  flags: bigint;
  xfrm: bigint;
}

export const ATTR = {
  INIT: 0x1n,
  DEBUG: 0x2n,
  MODE64BIT: 0x4n,
  PROVISIONKEY: 0x10n,
  EINITTOKEN_KEY: 0x20n,
  KSS: 0x80n,
} as const;

export function readAttributes(r: Reader, field = 'attributes'): Attributes {
  return { flags: r.u64(`${field}.flags`), xfrm: r.u64(`${field}.xfrm`) };
}

export function writeAttributes(w: Writer, a: Attributes): void {
  w.u64(a.flags).u64(a.xfrm);
}

export function attributesBytes(a: Attributes): Uint8Array {
  const w = new Writer();
  writeAttributes(w, a);
  return w.finish();
}

export function attributesFromBytes(b: Uint8Array): Attributes {
  const r = new Reader(b, 'attributes');
  const a = readAttributes(r);
  r.end();
  return a;
}

export function isDebug(a: Attributes): boolean {
  return (a.flags & ATTR.DEBUG) !== 0n;
}
