import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSecs, serializeSecs, type Secs } from '../../../src/formats/secs.ts';
import { parseSgxs, serializeSgxs, type SgxsRecord } from '../../../src/formats/sgxs.ts';
import {
  bcdDate,
  dateFromBcd,
  parseSigstruct,
  serializeSigstruct,
  SIGSTRUCT_SIZE,
  verifySigstruct,
  type Sigstruct,
} from '../../../src/formats/sigstruct.ts';
import { skipWithoutVectors, vector } from '../../helpers/vectors.ts';

/**
 * The writers' argument checks (SECS, SGXS, SIGSTRUCT): each integer field at its largest value is
 * written, one past it (and −1, a fraction, the wrong type) is ERR_ARGUMENT. And the SIGSTRUCT date
 * helpers at their edges.
 */
const argument = (e: unknown) => {
  assert.equal((e as { code?: string }).code, 'ERR_ARGUMENT', (e as Error).message);
  return true;
};
const U64_MAX = 0xffffffffffffffffn;
const badU64 = [-1n, U64_MAX + 1n, 1 as unknown as bigint, undefined as unknown as bigint];
const badU32 = [-1, 2 ** 32, 1.5, NaN];
const badU16 = [-1, 2 ** 16, 0.5];

const secs: Secs = {
  size: 0x40000n,
  baseAddr: 0n,
  ssaFrameSize: 1,
  miscSelect: 0,
  attributes: { flags: 4n, xfrm: 3n },
  mrEnclave: new Uint8Array(32),
  mrSigner: new Uint8Array(32),
  configId: new Uint8Array(64),
  isvProdId: 0,
  isvSvn: 0,
  configSvn: 0,
};

test('SECS: every integer field at its maximum round-trips; out of range or mistyped is ERR_ARGUMENT', () => {
  const max: Secs = {
    ...secs,
    size: U64_MAX,
    baseAddr: U64_MAX,
    ssaFrameSize: 2 ** 32 - 1,
    miscSelect: 2 ** 32 - 1,
    attributes: { flags: U64_MAX, xfrm: U64_MAX },
    isvProdId: 0xffff,
    isvSvn: 0xffff,
    configSvn: 0xffff,
  };
  assert.deepEqual(parseSecs(serializeSecs(max)), max);
  // And at its minimum, 0 (a u64 is unsigned: 0 is in range).
  const min: Secs = { ...max, size: 0n, baseAddr: 0n, attributes: { flags: 0n, xfrm: 0n } };
  assert.deepEqual(parseSecs(serializeSecs(min)), min);
  for (const k of ['size', 'baseAddr'] as const)
    for (const v of badU64) assert.throws(() => serializeSecs({ ...secs, [k]: v }), argument, `${k} ${v}`);
  for (const k of ['ssaFrameSize', 'miscSelect'] as const)
    for (const v of badU32) assert.throws(() => serializeSecs({ ...secs, [k]: v }), argument, `${k} ${v}`);
  for (const k of ['isvProdId', 'isvSvn', 'configSvn'] as const)
    for (const v of badU16) assert.throws(() => serializeSecs({ ...secs, [k]: v }), argument, `${k} ${v}`);
  for (const k of ['flags', 'xfrm'] as const)
    for (const v of badU64)
      assert.throws(
        () => serializeSecs({ ...secs, attributes: { ...secs.attributes, [k]: v } }),
        argument,
        `${k} ${v}`,
      );
  assert.throws(() => serializeSecs({ ...secs, attributes: undefined as unknown as Secs['attributes'] }), argument);
});

test('SGXS: every integer field at its maximum round-trips; out of range, mistyped or an unknown tag is ERR_ARGUMENT', () => {
  const data = new Uint8Array(256).fill(1);
  const max: SgxsRecord[] = [
    { tag: 'ECREATE', ssaFrameSize: 2 ** 32 - 1, size: U64_MAX },
    { tag: 'UNSIZED', ssaFrameSize: 0, sizeOffset: U64_MAX },
    { tag: 'EADD', offset: U64_MAX, secinfoFlags: 0x201n },
    { tag: 'EEXTEND', offset: U64_MAX, data },
    { tag: 'UNMEASRD', offset: 0n, data },
  ];
  assert.deepEqual(parseSgxs(serializeSgxs(max)), max);
  const w = (r: unknown) => () => serializeSgxs([r as SgxsRecord]);
  for (const v of badU32)
    assert.throws(w({ tag: 'ECREATE', ssaFrameSize: v, size: 0n }), argument, `ssaFrameSize ${v}`);
  for (const v of badU64) {
    assert.throws(w({ tag: 'ECREATE', ssaFrameSize: 1, size: v }), argument, `size ${v}`);
    assert.throws(w({ tag: 'UNSIZED', ssaFrameSize: 1, sizeOffset: v }), argument, `sizeOffset ${v}`);
    assert.throws(w({ tag: 'EADD', offset: v, secinfoFlags: 0n }), argument, `offset ${v}`);
    assert.throws(w({ tag: 'EADD', offset: 0n, secinfoFlags: v }), argument, `secinfoFlags ${v}`);
    assert.throws(w({ tag: 'EEXTEND', offset: v, data }), argument, `EEXTEND offset ${v}`);
  }
  assert.throws(w({ tag: 'EADD', offset: 0n, secinfoFlags: 1n << 40n }), argument, 'reserved SECINFO bit');
  assert.throws(w({ tag: 'EEXTEND', offset: 0n, data: data.subarray(1) }), argument, 'short data');
  for (const r of [{ tag: 'EREMOVE' }, { tag: 'toString' }, {}, undefined, null])
    assert.throws(w(r), argument, JSON.stringify(r));
});

test('SGXS: an unknown tag is ERR_SGXS_TAG showing the 8 bytes it read', () => {
  const b = serializeSgxs([{ tag: 'EADD', offset: 0n, secinfoFlags: 0n }]);
  const bad = Uint8Array.from([...b, ...new TextEncoder().encode('EBLOCK\0\0'), ...new Uint8Array(56)]);
  assert.throws(
    () => parseSgxs(bad),
    (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ERR_SGXS_TAG');
      assert.match((e as Error).message, /"EBLOCK\\u0000\\u0000" at byte 64/);
      return true;
    },
  );
});

test(
  'SIGSTRUCT: the writer range-checks every integer field; the parser copies its input',
  { skip: skipWithoutVectors },
  () => {
    const bytes = vector('sigstruct/sig1.sigstruct.bin');
    const s = parseSigstruct(bytes);
    assert.deepEqual(serializeSigstruct(s), bytes);
    const max: Sigstruct = {
      ...s,
      vendor: 2 ** 32 - 1,
      date: 2 ** 32 - 1,
      swDefined: 2 ** 32 - 1,
      miscSelect: 2 ** 32 - 1,
      miscMask: 2 ** 32 - 1,
      isvProdId: 0xffff,
      isvSvn: 0xffff,
    };
    const back = parseSigstruct(serializeSigstruct(max));
    assert.deepEqual(
      [back.vendor, back.date, back.swDefined, back.miscSelect, back.miscMask, back.isvProdId, back.isvSvn],
      [2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 0xffff, 0xffff],
    );
    for (const k of ['vendor', 'date', 'swDefined', 'miscSelect', 'miscMask'] as const)
      for (const v of badU32) assert.throws(() => serializeSigstruct({ ...s, [k]: v }), argument, `${k} ${v}`);
    for (const k of ['isvProdId', 'isvSvn'] as const)
      for (const v of badU16) assert.throws(() => serializeSigstruct({ ...s, [k]: v }), argument, `${k} ${v}`);
    for (const k of ['attributes', 'attributeMask'] as const) {
      for (const v of badU64) {
        assert.throws(() => serializeSigstruct({ ...s, [k]: { ...s[k], flags: v } }), argument, `${k}.flags ${v}`);
        assert.throws(() => serializeSigstruct({ ...s, [k]: { ...s[k], xfrm: v } }), argument, `${k}.xfrm ${v}`);
      }
      assert.throws(
        () => serializeSigstruct({ ...s, [k]: undefined as unknown as Sigstruct['attributes'] }),
        argument,
        `${k} absent`,
      );
    }
    const maxAttrs = parseSigstruct(serializeSigstruct({ ...s, attributes: { flags: U64_MAX, xfrm: U64_MAX } }));
    assert.deepEqual(maxAttrs.attributes, { flags: U64_MAX, xfrm: U64_MAX });
    // parse copies: changing the input afterwards changes neither the fields nor raw.
    const copy = bytes.slice();
    const p = parseSigstruct(copy);
    copy.fill(0);
    assert.deepEqual(p.raw, bytes);
    assert.equal(verifySigstruct(p).ok, true);
  },
);

test(
  'verifySigstruct: no raw bytes is the one named failure; a bad header is named first',
  { skip: skipWithoutVectors },
  () => {
    const s = parseSigstruct(vector('sigstruct/sig1.sigstruct.bin'));
    assert.deepEqual(verifySigstruct({ ...s, raw: new Uint8Array(SIGSTRUCT_SIZE - 1) }), {
      ok: false,
      failures: ['raw: not the 1808 parsed bytes'],
    });
    assert.deepEqual(verifySigstruct({ ...s, raw: undefined as unknown as Uint8Array }).failures, [
      'raw: not the 1808 parsed bytes',
    ]);
    assert.deepEqual(verifySigstruct(undefined as unknown as Sigstruct).failures, ['raw: not the 1808 parsed bytes']);
    const raw = s.raw.slice();
    raw[0] = 7;
    const v = verifySigstruct({ ...s, raw });
    assert.equal(v.ok, false);
    assert.match(v.failures[0], /^header: /);
  },
);

test('bcdDate: real dates of exactly eight digits only; dateFromBcd: decimal nibbles only', () => {
  assert.equal(bcdDate('20160109'), 0x20160109);
  assert.equal(bcdDate(20240229), 0x20240229);
  assert.equal(bcdDate('00010101'), 0x00010101);
  const date = (e: unknown) => (e as { code?: string }).code === 'ERR_SIGSTRUCT_DATE';
  for (const bad of [
    '2016019',
    '201601090',
    'x20160109',
    '20160109x',
    '20230229',
    '20160001',
    '20161301',
    '20160100',
    '20160431',
    '',
    -20160109,
    2016010.9,
    201601,
  ])
    assert.throws(() => bcdDate(bad), date, String(bad));
  assert.equal(dateFromBcd(0x20160109), '20160109');
  assert.equal(dateFromBcd(0x00000001), '00000001');
  for (const bad of [0x2016010a, 0xa0160109, 0x201f0109]) assert.throws(() => dateFromBcd(bad), date, bad.toString(16));
});

test('SGXS: each record starts with its 8-byte tag text (FTX doc/SGXS.md), the enhanced ones too', () => {
  const data = new Uint8Array(256);
  const text = (r: SgxsRecord) => Buffer.from(serializeSgxs([r]).subarray(0, 8)).toString('latin1');
  assert.equal(text({ tag: 'ECREATE', ssaFrameSize: 1, size: 0n }), 'ECREATE\0');
  assert.equal(text({ tag: 'UNSIZED', ssaFrameSize: 1, sizeOffset: 0n }), 'UNSIZED\0');
  assert.equal(text({ tag: 'EADD', offset: 0n, secinfoFlags: 0n }), 'EADD\0\0\0\0');
  assert.equal(text({ tag: 'EEXTEND', offset: 0n, data }), 'EEXTEND\0');
  assert.equal(text({ tag: 'UNMEASRD', offset: 0n, data }), 'UNMEASRD');
});
