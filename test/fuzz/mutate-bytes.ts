import type { Field } from './fields.ts';
import type { Rng } from './prng.ts';

/**
 * Byte-level mutations of a valid encoding (AFL-style): bit flips, interesting bytes, insertion,
 * deletion, duplication, truncation, extension, splicing with another seed, dictionary tokens, and
 * edits of the seed's length/count fields. Each call applies 1…6 stacked mutations.
 */
export interface ByteContext {
  /** Other seeds of the same target, for splicing. */
  others: readonly Uint8Array[];
  /** Length, count and type fields of this seed (see fields.ts). */
  fields: readonly Field[];
  /** Tokens worth planting (magic values, tags). */
  dictionary: readonly Uint8Array[];
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x81, 0x82, 0x84, 0x1f];
const INTERESTING_32 = [
  0, 1, 2, 3, 4, 5, 6, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
];
export const MAX_INPUT = 1 << 20;

function splice(a: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  at = Math.min(at, a.length);
  remove = Math.max(0, Math.min(remove, a.length - at));
  const out = new Uint8Array(a.length - remove + insert.length);
  out.set(a.subarray(0, at));
  out.set(insert, at);
  out.set(a.subarray(at + remove), at + insert.length);
  return out;
}

/** A chunk length: mostly short, sometimes long. */
function chunk(r: Rng, max: number): number {
  if (max <= 0) return 0;
  return r.chance(0.8) ? Math.min(max, r.range(1, 16)) : r.range(1, max);
}

function writeInt(b: Uint8Array, f: { at: number; size: number; kind: string }, v: number): void {
  for (let i = 0; i < f.size && f.at + i < b.length; i++) {
    const shift = f.kind === 'le' ? i : f.size - 1 - i;
    b[f.at + i] = shift < 4 ? (v >>> (8 * shift)) & 0xff : 0;
  }
}
function readInt(b: Uint8Array, f: { at: number; size: number; kind: string }): number {
  let v = 0;
  for (let i = 0; i < Math.min(f.size, 4) && f.at + i < b.length; i++) {
    const shift = f.kind === 'le' ? i : f.size - 1 - i;
    v += b[f.at + i] * 2 ** (8 * shift);
  }
  return v;
}

/** Edits a known field: ±delta, 0, all-ones, the remaining length, a random value; DER lengths get DER-specific forms. */
function editField(r: Rng, b: Uint8Array, f: Field): Uint8Array {
  if (f.kind === 'der') {
    const forms = [
      () => Uint8Array.of(0x80), // indefinite
      () => Uint8Array.of(0x81, b[f.at + f.size - 1] & 0x7f), // non-minimal
      () => Uint8Array.of(0x84, 0xff, 0xff, 0xff, 0xff),
      () => Uint8Array.of(0x85, 0, 0, 0, 1, 0),
      () => Uint8Array.of(r.int(0x80)),
      () => Uint8Array.of(0x82, r.int(256), r.int(256)),
    ];
    if (r.chance(0.5)) {
      const c = b.slice();
      const last = f.at + f.size - 1;
      c[last] = (c[last] + r.pick([1, -1, 2, -2, 0x10, -0x10])) & 0xff;
      return c;
    }
    return splice(b, f.at, f.size, r.pick(forms)());
  }
  const c = b.slice();
  const old = readInt(c, f);
  const max = f.size >= 4 ? 0xffffffff : 2 ** (8 * f.size) - 1;
  const choices = [
    () => old + r.pick([1, -1, 2, -2, 4, -4, 8, -8, 64, -64]),
    () => 0,
    () => max,
    () => c.length - f.at,
    () => c.length,
    () => r.pick(INTERESTING_32),
    () => r.u32(),
    () => old ^ (1 << r.int(8 * Math.min(f.size, 4))),
  ];
  writeInt(c, f, (r.pick(choices)() >>> 0) & max);
  return c;
}

function once(r: Rng, b: Uint8Array, ctx: ByteContext): Uint8Array {
  const n = b.length;
  const pos = () => r.int(n + 1);
  switch (r.int(14)) {
    case 0: {
      if (n === 0) return r.bytes(r.range(1, 8));
      const c = b.slice();
      for (let k = r.small(8); k > 0; k--) {
        const i = r.int(n);
        c[i] = c[i] ^ (1 << r.int(8));
      }
      return c;
    }
    case 1: {
      if (n === 0) return Uint8Array.of(r.pick(INTERESTING_8));
      const c = b.slice();
      c[r.int(n)] = r.chance(0.5) ? r.pick(INTERESTING_8) : r.int(256);
      return c;
    }
    case 2:
      return splice(
        b,
        pos(),
        0,
        r.chance(0.5) ? r.bytes(chunk(r, 64)) : new Uint8Array(chunk(r, 64)).fill(r.pick(INTERESTING_8)),
      );
    case 3: {
      const at = r.int(n);
      return splice(b, at, chunk(r, n - at), new Uint8Array(0));
    }
    case 4: {
      if (n === 0) return b;
      const at = r.int(n);
      const len = chunk(r, n - at);
      return splice(b, pos(), 0, b.slice(at, at + len));
    }
    case 5:
      return b.slice(0, r.chance(0.5) ? r.int(n) : Math.max(0, n - r.range(1, 8)));
    case 6: {
      const tail = r.chance(0.5) ? new Uint8Array(r.small(64, 0.9)) : r.bytes(r.small(64, 0.9));
      return splice(b, n, 0, tail);
    }
    case 7:
    case 8: {
      if (ctx.fields.length === 0) return once(r, b, ctx);
      const f = r.pick(ctx.fields);
      if (f.at + f.size > n) return b.slice(0, Math.min(n, f.at + r.int(f.size + 1)));
      return editField(r, b, f);
    }
    case 9: {
      if (ctx.others.length === 0) return once(r, b, ctx);
      const o = r.pick(ctx.others);
      if (r.chance(0.5)) return new Uint8Array([...b.subarray(0, r.int(n + 1)), ...o.subarray(r.int(o.length + 1))]);
      const at = r.int(o.length);
      return splice(b, r.int(n + 1), r.chance(0.5) ? 0 : chunk(r, n), o.slice(at, at + chunk(r, o.length - at)));
    }
    case 10: {
      if (ctx.dictionary.length === 0) return once(r, b, ctx);
      const t = r.pick(ctx.dictionary);
      const at = ctx.fields.length && r.chance(0.5) ? r.pick(ctx.fields).at : r.int(n + 1);
      return splice(b, Math.min(at, n), r.chance(0.5) ? Math.min(t.length, n - Math.min(at, n)) : 0, t);
    }
    case 11: {
      // Overwrite a chunk with another chunk of the same input.
      if (n < 2) return once(r, b, ctx);
      const len = chunk(r, n >> 1);
      const from = r.int(n - len + 1);
      const to = r.int(n - len + 1);
      const c = b.slice();
      c.set(b.subarray(from, from + len), to);
      return c;
    }
    case 12: {
      // An interesting u16/u32 at any offset: a length field the seed's list does not know about.
      if (n < 4) return once(r, b, ctx);
      const c = b.slice();
      const size = r.pick([2, 4]);
      writeInt(c, { at: r.int(n - size + 1), size, kind: r.chance(0.7) ? 'le' : 'be' }, r.pick(INTERESTING_32));
      return c;
    }
    default: {
      // Random bytes over a chunk.
      if (n === 0) return r.bytes(r.range(1, 32));
      const at = r.int(n);
      const c = b.slice();
      c.set(r.bytes(Math.min(chunk(r, 32), n - at)), at);
      return c;
    }
  }
}

export function mutateBytes(r: Rng, seed: Uint8Array, ctx: ByteContext): Uint8Array {
  let b = seed;
  for (let k = r.small(6, 0.4); k > 0; k--) {
    b = once(r, b, ctx);
    if (b.length > MAX_INPUT) b = b.subarray(0, MAX_INPUT);
  }
  return b === seed ? seed.slice() : b;
}
