import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Reader, Writer } from '../../../src/bytes/cursor.ts';

/** The little-endian cursor: exact values, exact offsets, and every short read or trailing byte refused by code. */
const code = (c: string, message?: RegExp) => (e: unknown) => {
  const err = e as { code?: string; message: string };
  assert.equal(err.code, c, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

test('Reader reads u8, u16, u32, u64 little-endian at consecutive offsets, and bytes, skip and rest', () => {
  const b = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22);
  const r = new Reader(b);
  assert.equal(r.u8('a'), 1);
  assert.equal(r.offset, 1);
  assert.equal(r.u8('b'), 2);
  assert.equal(r.u16('c'), 0x0403);
  assert.equal(r.u32('d'), 0x08070605);
  assert.equal(r.u64('e'), 0x100f0e0d0c0b0a09n);
  assert.equal(r.offset, 16);
  assert.equal(r.remaining, 6);
  r.skip(1, 'f');
  assert.deepEqual(r.bytesOf(2, 'g'), Uint8Array.of(18, 19));
  assert.deepEqual(r.rest(), Uint8Array.of(20, 21, 22));
  assert.equal(r.remaining, 0);
  r.end();
});

test('Reader: a read past the end is ERR_SHORT_INPUT naming the structure (default "input") and the field; the offset stays', () => {
  const r = new Reader(new Uint8Array(3));
  assert.throws(
    () => r.u32('the_field'),
    code('ERR_SHORT_INPUT', /^input: too short reading the_field \(need 4 bytes at offset 0, have 3\)/),
  );
  assert.equal(r.offset, 0);
  assert.equal(r.u8('x'), 0);
  assert.throws(() => new Reader(new Uint8Array(1)).u16('y'), code('ERR_SHORT_INPUT'));
  assert.throws(() => r.u64('z'), code('ERR_SHORT_INPUT'));
  assert.throws(() => r.bytesOf(3, 'w'), code('ERR_SHORT_INPUT'));
  assert.throws(() => r.skip(3, 'v'), code('ERR_SHORT_INPUT'));
  assert.equal(r.offset, 1);
  const named = new Reader(new Uint8Array(0), 'thing');
  assert.throws(() => named.u8('f'), code('ERR_SHORT_INPUT', /^thing: too short reading f/));
});

test('Reader: a negative length is ERR_SHORT_INPUT, never a step backwards', () => {
  const r = new Reader(new Uint8Array(8));
  r.skip(4, 'a');
  assert.throws(() => r.bytesOf(-1, 'b'), code('ERR_SHORT_INPUT'));
  assert.throws(() => r.skip(-2, 'c'), code('ERR_SHORT_INPUT'));
  assert.equal(r.offset, 4);
});

test('Reader.end: trailing bytes are ERR_TRAILING_BYTES with their count', () => {
  const r = new Reader(new Uint8Array(5), 'rec');
  r.skip(2, 'a');
  assert.throws(() => r.end(), code('ERR_TRAILING_BYTES', /^rec: 3 trailing bytes$/));
  r.skip(3, 'b');
  r.end();
});

test('Reader on a subarray reads its own window of the buffer', () => {
  const big = Uint8Array.of(0xaa, 0xbb, 1, 0, 0xcc);
  const r = new Reader(big.subarray(2, 4));
  assert.equal(r.u16('x'), 1);
  r.end();
});

test('Writer writes what Reader reads, at the same offsets, growing past its first buffer (property)', () => {
  type Op =
    ['u8', number] | ['u16', number] | ['u32', number] | ['u64', bigint] | ['bytes', Uint8Array] | ['zeros', number];
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.integer({ min: 0, max: 0xff }).map((v): Op => ['u8', v]),
    fc.integer({ min: 0, max: 0xffff }).map((v): Op => ['u16', v]),
    fc.integer({ min: 0, max: 0xffffffff }).map((v): Op => ['u32', v]),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v): Op => ['u64', v]),
    fc.uint8Array({ maxLength: 700 }).map((v): Op => ['bytes', v]),
    fc.integer({ min: 0, max: 600 }).map((v): Op => ['zeros', v]),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const w = new Writer();
      const dv = (n: number, f: (d: DataView) => void) => {
        const b = new Uint8Array(n);
        f(new DataView(b.buffer));
        return b;
      };
      const expected: number[] = [];
      for (const [kind, v] of ops) {
        if (kind === 'u8') w.u8(v);
        else if (kind === 'u16') w.u16(v);
        else if (kind === 'u32') w.u32(v);
        else if (kind === 'u64') w.u64(v);
        else if (kind === 'bytes') w.bytes(v);
        else w.zeros(v);
        if (kind === 'u8') expected.push(v);
        else if (kind === 'u16') expected.push(...dv(2, (d) => d.setUint16(0, v, true)));
        else if (kind === 'u32') expected.push(...dv(4, (d) => d.setUint32(0, v, true)));
        else if (kind === 'u64') expected.push(...dv(8, (d) => d.setBigUint64(0, v, true)));
        else if (kind === 'bytes') expected.push(...v);
        else expected.push(...new Uint8Array(v));
        assert.equal(w.length, expected.length);
      }
      const out = w.finish();
      assert.deepEqual(out, Uint8Array.from(expected));
      const r = new Reader(out);
      for (const [kind, v] of ops) {
        if (kind === 'u8') assert.equal(r.u8('f'), v);
        else if (kind === 'u16') assert.equal(r.u16('f'), v);
        else if (kind === 'u32') assert.equal(r.u32('f'), v);
        else if (kind === 'u64') assert.equal(r.u64('f'), v);
        else if (kind === 'bytes') assert.deepEqual(r.bytesOf(v.length, 'f'), v);
        else assert.deepEqual(r.bytesOf(v, 'f'), new Uint8Array(v));
      }
      r.end();
    }),
    { numRuns: 60, seed: 4493 },
  );
});

test('Writer: zeros after other bytes are zeros; finish returns a copy', () => {
  const w = new Writer().bytes(new Uint8Array(300).fill(0xff)).zeros(5).u32(-1);
  const a = w.finish();
  assert.deepEqual(a.subarray(300, 305), new Uint8Array(5));
  assert.deepEqual(a.subarray(305), Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  a[0] = 0;
  assert.equal(w.finish()[0], 0xff);
});
