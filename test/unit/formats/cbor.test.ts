import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CborMap, CborTag, decodeCbor, encodeCbor, encodeCborHead, type CborValue } from '../../../src/formats/cbor.ts';

/** CBOR heads at every size boundary (RFC 8949 §3), simple values, nesting limits, and each refusal by its code. */
const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const code = (c: string, message?: RegExp) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, c, (e as Error).message);
  if (message) assert.match((e as Error).message, message);
  return true;
};

test('heads: shortest form at each boundary, the same from encodeCborHead and encodeCbor', () => {
  for (const [n, hex] of [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [0xffffffff, '1affffffff'],
    [0x100000000, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
  ] as const) {
    assert.equal(h(encodeCborHead(0, n)), hex, `head ${n}`);
    assert.equal(h(encodeCbor(n)), hex, `encode ${n}`);
    assert.equal(decodeCbor(b(hex)), n);
    // The same argument under major type 2 (a byte string's length prefix).
    assert.equal(h(encodeCborHead(2, n)).slice(2), hex.slice(2));
    assert.equal(encodeCborHead(2, n)[0], 0x40 | b(hex)[0]);
  }
  for (const bad of [-1, 1.5, 2 ** 53, NaN]) {
    assert.throws(() => encodeCborHead(0, bad), code('ERR_FORMAT'), String(bad));
    assert.throws(() => encodeCbor(bad), code('ERR_FORMAT'), String(bad));
  }
});

test('encode: simple values, strings, arrays, maps and tags byte for byte; unsupported values refused', () => {
  assert.equal(h(encodeCbor(false)), 'f4');
  assert.equal(h(encodeCbor(true)), 'f5');
  assert.equal(h(encodeCbor(null)), 'f6');
  assert.equal(h(encodeCbor([true, false, null])), '83f5f4f6');
  assert.equal(h(encodeCbor('ü')), '62c3bc');
  assert.equal(h(encodeCbor(b('0102'))), '420102');
  assert.equal(h(encodeCbor(new CborMap([['a', 1]]))), 'a1616101');
  assert.equal(h(encodeCbor(new CborTag(24, b('00')))), 'd8184100');
  assert.equal(h(encodeCbor(new CborTag(1, 0))), 'c100');
  assert.throws(() => encodeCbor(undefined as unknown as CborValue), code('ERR_FORMAT', /unsupported value/));
  assert.throws(() => encodeCbor({} as unknown as CborValue), code('ERR_FORMAT', /unsupported value/));
});

test('encode: past the first 1 KiB buffer (one large item, many small ones), the result owns exactly its bytes', () => {
  const big = new Uint8Array(5000).fill(0xab);
  const e = encodeCbor([big, 'x'.repeat(3000)]);
  assert.equal(e.buffer.byteLength, e.length);
  assert.equal(h(e.subarray(0, 4)), '82591388');
  const back = decodeCbor(e) as CborValue[];
  assert.deepEqual(back[0], big);
  assert.equal(back[1], 'x'.repeat(3000));
  const many = Array.from({ length: 600 }, (_, i) => i);
  assert.deepEqual(decodeCbor(encodeCbor(many)), many);
  const small = encodeCbor(1);
  assert.equal(small.buffer.byteLength, 1);
});

test('decode: simple values only when asked; never undefined or other simple values', () => {
  assert.equal(decodeCbor(b('f5'), { simple: true }), true);
  assert.equal(decodeCbor(b('f4'), { simple: true }), false);
  assert.equal(decodeCbor(b('f6'), { simple: true }), null);
  for (const x of ['f4', 'f5', 'f6']) assert.throws(() => decodeCbor(b(x)), code('ERR_FORMAT'), x);
  for (const x of ['f3', 'f7', 'f8ff', 'f97c00'])
    assert.throws(() => decodeCbor(b(x), { simple: true }), code('ERR_FORMAT'), x);
  assert.equal(decodeCbor(b('14'), { simple: true }), 20);
  assert.deepEqual(decodeCbor(b('82f5f6'), { simple: true }), [true, null]);
});

test('decode: non-shortest heads, too-large integers and reserved additional info refused', () => {
  for (const x of ['1817', '190017', '1900ff', '1a0000ffff', '1b00000000ffffffff', '5800', '9800'])
    assert.throws(() => decodeCbor(b(x)), code('ERR_FORMAT'), x);
  assert.throws(() => decodeCbor(b('1b0020000000000000')), code('ERR_FORMAT', /too large/));
  for (const x of ['1c', '1d', '1e', '1f', '5f', '9f', 'bf'])
    assert.throws(() => decodeCbor(b(x)), code('ERR_FORMAT', /additional info/), x);
  assert.throws(() => decodeCbor(b('20')), code('ERR_FORMAT', /major type 1/));
});

test('decode: every truncation of a nested item is ERR_SHORT_INPUT; a trailing byte ERR_TRAILING_BYTES', () => {
  const full = encodeCbor([b('010203'), 'abc', new CborMap([['k', 70000]]), new CborTag(2, 0x100000000)]);
  for (let n = 0; n < full.length; n++)
    assert.throws(() => decodeCbor(full.subarray(0, n)), code('ERR_SHORT_INPUT'), `${n}`);
  assert.throws(() => decodeCbor(Uint8Array.from([...full, 0])), code('ERR_TRAILING_BYTES'));
  const v = decodeCbor(full) as CborValue[];
  assert.equal((v[2] as CborMap).get('k'), 70000);
  assert.equal((v[3] as CborTag).tag, 2);
  assert.equal((v[3] as CborTag).value, 0x100000000);
});

test('decode: nesting up to 16 levels, in arrays, map values, map keys and tags; 17 refused', () => {
  const arrays = (k: number) => b('81'.repeat(k) + '00');
  const values = (k: number) => b('a100'.repeat(k) + '00');
  const tags = (k: number) => b('c1'.repeat(k) + '00');
  const keys = (k: number): string => (k === 0 ? '00' : 'a1' + keys(k - 1) + '00');
  for (const [name, make] of [
    ['arrays', arrays],
    ['map values', values],
    ['tags', tags],
    ['map keys', (k: number) => b(keys(k))],
  ] as const) {
    assert.doesNotThrow(() => decodeCbor(make(16)), name);
    assert.throws(() => decodeCbor(make(17)), code('ERR_FORMAT', /nested too deeply/), name);
  }
});

test('CborMap.get: the value of a text key, undefined when absent; keys compare by value', () => {
  const m = new CborMap([
    [1, 'one'],
    ['a', 'A'],
    ['b', null],
  ]);
  assert.equal(m.get('a'), 'A');
  assert.equal(m.get('b'), null);
  assert.equal(m.get('c'), undefined);
  assert.equal(m.get('1'), undefined);
});
