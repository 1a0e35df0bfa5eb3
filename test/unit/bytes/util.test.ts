import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { abytes, concat, ctEqual, equal, fromHex, isZero, u16le, u32le, u64le } from '../../../src/bytes/util.ts';

/** The byte helpers: exact results, and each refusal by its code and the name it reports. */
const fails = (code: string, message: RegExp) => (e: unknown) => {
  const err = e as { code?: string; message: string };
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  return true;
};

test('fromHex: odd length and bad characters are ERR_HEX naming the field (default "hex"); a wrong length too', () => {
  assert.throws(() => fromHex('abc'), fails('ERR_HEX', /^hex: not a hex string$/));
  assert.throws(() => fromHex('0xzz', undefined, 'mrenclave'), fails('ERR_HEX', /^mrenclave: not a hex string$/));
  assert.throws(() => fromHex('abcd', 3, 'f'), fails('ERR_HEX', /^f: expected 3 bytes, got 2$/));
  assert.deepEqual(fromHex('0xABcd', 2), Uint8Array.of(0xab, 0xcd));
});

test("fromHex: a small result owns exactly its bytes (no view of Buffer's shared pool); a large one is exact too", () => {
  const small = fromHex('0102');
  assert.equal(small.byteOffset, 0);
  assert.equal(small.buffer.byteLength, 2);
  const large = fromHex('ab'.repeat(5000));
  assert.equal(large.length, 5000);
  assert.ok(large.every((b) => b === 0xab));
});

test('equal and ctEqual: equal only for the same length and the same bytes (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
      const same = Buffer.compare(a, b) === 0;
      assert.equal(equal(a, b), same);
      assert.equal(ctEqual(a, b), same);
      assert.equal(equal(a, a.slice()), true);
      assert.equal(ctEqual(a, a.slice()), true);
    }),
    { seed: 20261204 },
  );
  // A prefix is not equal, in either order.
  assert.equal(equal(Uint8Array.of(1), Uint8Array.of(1, 2)), false);
  assert.equal(equal(Uint8Array.of(1, 2), Uint8Array.of(1)), false);
  assert.equal(ctEqual(Uint8Array.of(1), Uint8Array.of(1, 2)), false);
  assert.equal(ctEqual(new Uint8Array(0), new Uint8Array(0)), true);
  assert.equal(ctEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
});

test('abytes: not a Uint8Array, or a wrong length, is ERR_ARGUMENT naming the field', () => {
  const b = new Uint8Array(4);
  assert.equal(abytes(b, 4, 'f'), b);
  assert.equal(abytes(b, undefined, 'f'), b);
  assert.throws(() => abytes([1, 2, 3, 4], undefined, 'key'), fails('ERR_ARGUMENT', /^key: expected Uint8Array$/));
  assert.throws(() => abytes('abcd', 4, 'key'), fails('ERR_ARGUMENT', /^key: expected Uint8Array$/));
  assert.throws(() => abytes(b, 5, 'key'), fails('ERR_ARGUMENT', /^key: expected 5 bytes, got 4$/));
});

test('u16le, u32le, u64le: exact little-endian bytes', () => {
  assert.deepEqual(u16le(0x0102), Uint8Array.of(2, 1));
  assert.deepEqual(u32le(0x01020304), Uint8Array.of(4, 3, 2, 1));
  assert.deepEqual(u32le(-1), Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  assert.deepEqual(u64le(0x0102030405060708n), Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1));
});

test('concat and isZero', () => {
  assert.deepEqual(concat(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)), Uint8Array.of(1, 2, 3));
  assert.deepEqual(concat(), new Uint8Array(0));
  assert.equal(isZero(new Uint8Array(3)), true);
  assert.equal(isZero(Uint8Array.of(0, 0, 1)), false);
  assert.equal(isZero(new Uint8Array(0)), true);
});
