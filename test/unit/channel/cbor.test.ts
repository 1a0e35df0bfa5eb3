import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CborMap, CborTag, decodeCbor, encodeCbor, type CborValue } from '../../../src/formats/cbor.ts';

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHx = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// RFC 8949 Appendix A examples (the subset of types this codec supports).
const RFC8949: Array<[CborValue, string]> = [
  [0, '00'],
  [23, '17'],
  [24, '1818'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [new Uint8Array(0), '40'],
  [fromHx('01020304'), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['\u00fc', '62c3bc'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [new CborMap([]), 'a0'],
  [
    new CborMap([
      ['a', 1],
      ['b', [2, 3]],
    ]),
    'a26161016162820203',
  ],
  [new CborTag(1, 1363896240), 'c11a514b67b0'],
  [new CborTag(23, fromHx('01020304')), 'd74401020304'],
];

test('encodes the RFC 8949 Appendix A examples byte for byte, and decodes them back', () => {
  for (const [v, h] of RFC8949) {
    assert.equal(hx(encodeCbor(v)), h, `encode ${h}`);
    assert.deepEqual(decodeCbor(fromHx(h)), v, `decode ${h}`);
  }
});

test('refuses indefinite lengths, non-shortest heads, floats, truncation and trailing bytes', () => {
  for (const h of [
    '5f42010243030405ff',
    '1817',
    '190017',
    'f93c00',
    '44010203',
    '83010203ff',
    '0000',
    '9a000000ff',
    'a1',
  ]) {
    assert.throws(() => decodeCbor(fromHx(h)), /cbor/, h);
  }
});

const value = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.nat(),
    fc.uint8Array({ maxLength: 40 }),
    fc.string(),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.string(), tie('v')), { maxLength: 3 }).map((e) => new CborMap(e)),
    fc.tuple(fc.nat(), tie('v')).map(([t, v]) => new CborTag(t, v)),
  ),
})).v;

test('round trip: decode(encode(v)) = v and encode(decode(b)) = b', () => {
  fc.assert(
    fc.property(value, (v) => {
      const b = encodeCbor(v);
      assert.deepEqual(decodeCbor(b), v);
      assert.equal(hx(encodeCbor(decodeCbor(b))), hx(b));
    }),
    { numRuns: 300 },
  );
});
