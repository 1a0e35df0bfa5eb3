import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CatenaError } from '../../../src/errors.ts';
import { parseSgxs, serializeSgxs, type SgxsRecord } from '../../../src/formats/sgxs.ts';
import { bytes, u32, u64 } from './arbitraries.ts';

const hasCode = (code: string) => (e: unknown) => e instanceof CatenaError && e.code === code;
const flags = fc
  .tuple(fc.integer({ min: 0, max: 0x3f }), fc.integer({ min: 0, max: 0xff }))
  .map(([p, t]) => BigInt(p) | (BigInt(t) << 8n));

const record: fc.Arbitrary<SgxsRecord> = fc.oneof(
  fc.record({ tag: fc.constant('ECREATE' as const), ssaFrameSize: u32, size: u64 }, { noNullPrototype: true }),
  fc.record({ tag: fc.constant('UNSIZED' as const), ssaFrameSize: u32, sizeOffset: u64 }, { noNullPrototype: true }),
  fc.record({ tag: fc.constant('EADD' as const), offset: u64, secinfoFlags: flags }, { noNullPrototype: true }),
  fc.record({ tag: fc.constant('EEXTEND' as const), offset: u64, data: bytes(256) }, { noNullPrototype: true }),
  fc.record({ tag: fc.constant('UNMEASRD' as const), offset: u64, data: bytes(256) }, { noNullPrototype: true }),
);

test('SGXS: parse(serialize(records)) = records and the bytes round-trip (property)', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 12 }), (recs) => {
      const b = serializeSgxs(recs);
      const expectedLength = recs.reduce((n, r) => n + 64 + (r.tag === 'EEXTEND' || r.tag === 'UNMEASRD' ? 256 : 0), 0);
      assert.equal(b.length, expectedLength);
      const back = parseSgxs(b);
      assert.deepEqual(
        back.map((r) => ('data' in r ? { ...r, data: r.data.slice() } : r)),
        recs,
      );
      assert.deepEqual(serializeSgxs(back), b);
    }),
    { numRuns: 60 },
  );
});

test('SGXS: record layout is FTX doc/SGXS.md (tag, then fields at fixed offsets)', () => {
  const b = serializeSgxs([
    { tag: 'ECREATE', ssaFrameSize: 1, size: 0x40000n },
    { tag: 'EADD', offset: 0x3000n, secinfoFlags: 0x201n },
    { tag: 'EEXTEND', offset: 0x3100n, data: new Uint8Array(256).fill(0xaa) },
  ]);
  const v = new DataView(b.buffer);
  assert.equal(new TextDecoder().decode(b.subarray(0, 8)), 'ECREATE\0');
  assert.equal(v.getUint32(8, true), 1);
  assert.equal(v.getBigUint64(12, true), 0x40000n);
  assert.equal(new TextDecoder().decode(b.subarray(64, 72)), 'EADD\0\0\0\0');
  assert.equal(v.getBigUint64(72, true), 0x3000n);
  assert.equal(v.getBigUint64(80, true), 0x201n);
  assert.equal(new TextDecoder().decode(b.subarray(128, 136)), 'EEXTEND\0');
  assert.equal(v.getBigUint64(136, true), 0x3100n);
  assert.ok(b.subarray(144, 192).every((x) => x === 0));
  assert.ok(b.subarray(192, 448).every((x) => x === 0xaa));
  assert.equal(b.length, 448);
});

test('SGXS: unknown tag, reserved bytes, reserved SECINFO bits, truncation are typed FormatErrors', () => {
  const good = serializeSgxs([
    { tag: 'ECREATE', ssaFrameSize: 1, size: 0x2000n },
    { tag: 'EADD', offset: 0n, secinfoFlags: 0x201n },
    { tag: 'EEXTEND', offset: 0n, data: new Uint8Array(256) },
  ]);
  const at = (i: number, v: number) => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  assert.throws(() => parseSgxs(at(0, 0x46)), hasCode('ERR_SGXS_TAG'));
  assert.throws(() => parseSgxs(at(64 + 4, 0x58)), hasCode('ERR_SGXS_TAG'));
  assert.throws(() => parseSgxs(at(63, 1)), hasCode('ERR_SGXS_RESERVED'), 'ECREATE reserved');
  assert.throws(() => parseSgxs(at(64 + 30, 1)), hasCode('ERR_SGXS_RESERVED'), 'EADD SECINFO reserved bytes');
  assert.throws(() => parseSgxs(at(64 + 16 + 2, 1)), hasCode('ERR_SGXS_RESERVED'), 'EADD SECINFO flag bit 16');
  assert.throws(() => parseSgxs(at(128 + 20, 1)), hasCode('ERR_SGXS_RESERVED'), 'EEXTEND reserved');
  for (const cut of [1, 63, 64, 255, 64 + 255])
    assert.throws(() => parseSgxs(good.subarray(0, good.length - cut)), hasCode('ERR_SHORT_INPUT'), `cut ${cut}`);
  assert.deepEqual(parseSgxs(new Uint8Array(0)), []);
});
