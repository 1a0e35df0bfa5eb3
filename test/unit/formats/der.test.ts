import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  children,
  derTime,
  expectTag,
  integerHex,
  oidText,
  parseDer,
  readTlv,
  smallUint,
  TAG,
} from '../../../src/formats/der-reader.ts';
import {
  bitString,
  boolean,
  context,
  octetString,
  oid,
  printableString,
  seq,
  set,
  smallInteger,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from '../../../src/formats/der-writer.ts';

/** DER (X.690) writer and strict reader: exact encodings from the standard's rules, and every refusal as ERR_DER. */
const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/ /g, ''), 'hex'));
const derError = (e: unknown) => {
  assert.equal((e as { code?: string }).code, 'ERR_DER', (e as Error).message);
  return true;
};

test('tlv: short and long definite lengths at every boundary', () => {
  for (const [n, head] of [
    [0, '0400'],
    [1, '0401'],
    [127, '047f'],
    [128, '048180'],
    [255, '0481ff'],
    [256, '04820100'],
    [65535, '0482ffff'],
    [65536, '0483010000'],
  ] as const) {
    const enc = tlv(0x04, new Uint8Array(n).fill(7));
    assert.equal(h(enc.subarray(0, head.length / 2)), head, `length ${n}`);
    assert.equal(enc.length, head.length / 2 + n);
    const node = parseDer(enc);
    assert.equal(node.tag, 4);
    assert.equal(node.value.length, n);
    assert.ok(node.value.every((x) => x === 7));
    assert.deepEqual(node.raw, enc);
  }
  assert.equal(h(tlv(0x30, b('0101'), b('ff'))), '30030101ff');
});

test('the small builders: exact bytes', () => {
  assert.equal(h(seq(b('0500'), b('0500'))), '300405000500');
  assert.equal(h(set(b('0500'))), '31020500');
  assert.equal(h(octetString(b('abcd'))), '0402abcd');
  assert.equal(h(utf8String('é')), '0c02c3a9');
  assert.equal(h(printableString('AB')), '13024142');
  assert.equal(h(boolean(true)), '0101ff');
  assert.equal(h(boolean(false)), '010100');
  assert.equal(h(bitString(b('a0'))), '030200a0');
  assert.equal(h(bitString(b('a0'), 5)), '030205a0');
  assert.equal(h(context(0, true, b('0500'))), 'a0020500');
  assert.equal(h(context(3, false, b('01'))), '830101');
});

test('unsignedInteger and smallInteger: minimal, non-negative encodings', () => {
  assert.equal(h(unsignedInteger(b('000001'))), '020101');
  assert.equal(h(unsignedInteger(b('80'))), '02020080');
  assert.equal(h(unsignedInteger(b('00ff'))), '020200ff');
  assert.equal(h(unsignedInteger(b('0000'))), '020100');
  assert.equal(h(unsignedInteger(new Uint8Array(0))), '020100');
  assert.equal(h(unsignedInteger(b('7f01'))), '02027f01');
  assert.equal(h(smallInteger(0)), '020100');
  assert.equal(h(smallInteger(127)), '02017f');
  assert.equal(h(smallInteger(128)), '02020080');
  assert.equal(h(smallInteger(256)), '02020100');
  assert.equal(h(smallInteger(0x12345678)), '020412345678');
  for (const bad of [-1, 1.5, 2 ** 53, NaN]) assert.throws(() => smallInteger(bad), RangeError, String(bad));
});

test('oid: exact encodings (X.690 §8.19), and malformed dotted text refused', () => {
  assert.equal(h(oid('1.2.840.113741.1.13.1')), '06092a864886f84d010d01');
  assert.equal(h(oid('2.5.4.3')), '0603550403');
  assert.equal(h(oid('2.999')), '06028837');
  assert.equal(h(oid('0.39')), '060127');
  assert.equal(h(oid('1.2.128')), '06032a8100');
  for (const bad of ['1', '', '1..2', '1.x', '1.2.-3', '1.2 '])
    assert.throws(() => oid(bad), RangeError, JSON.stringify(bad));
});

test('time: UTCTime for 1950–2049, GeneralizedTime outside (RFC 5280 §4.1.2.5)', () => {
  const t = (iso: string) => Buffer.from(parseDer(time(new Date(iso))).value).toString('latin1');
  const tag = (iso: string) => time(new Date(iso))[0];
  assert.equal(t('2049-12-31T23:59:59Z'), '491231235959Z');
  assert.equal(tag('2049-12-31T23:59:59Z'), TAG.UTCTime);
  assert.equal(t('1950-01-01T00:00:00Z'), '500101000000Z');
  assert.equal(tag('1950-01-01T00:00:00Z'), TAG.UTCTime);
  assert.equal(t('2050-01-01T00:00:00Z'), '20500101000000Z');
  assert.equal(tag('2050-01-01T00:00:00Z'), TAG.GeneralizedTime);
  assert.equal(t('1949-12-31T23:59:59Z'), '19491231235959Z');
  assert.equal(tag('1949-12-31T23:59:59Z'), TAG.GeneralizedTime);
  assert.equal(t('2026-03-04T05:06:07.890Z'), '260304050607Z');
});

test('writer → reader round trips: times, OIDs, integers (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) }),
      fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 2 ** 47 - 1 }),
      fc.uint8Array({ maxLength: 20 }),
      (ms, arcs, n, mag) => {
        const d = new Date(Math.floor(ms / 1000) * 1000);
        if (d.getUTCFullYear() >= 1000) assert.equal(derTime(parseDer(time(d)), 't').getTime(), d.getTime());
        const dotted = ['1', String(arcs[0] % 40), ...arcs.slice(1).map(String)].join('.');
        assert.equal(oidText(parseDer(oid(dotted))), dotted);
        assert.equal(oidText(parseDer(oid(`2.${arcs[0]}`))), `2.${arcs[0]}`);
        assert.equal(smallUint(parseDer(smallInteger(n)), TAG.INTEGER, 'n'), n);
        const stripped = h(mag).replace(/^(00)+/, '') || '00';
        assert.equal(integerHex(parseDer(unsignedInteger(mag)), 'i'), stripped);
      },
    ),
    { numRuns: 200, seed: 690 },
  );
});

test('readTlv and parseDer refuse every malformed head with ERR_DER', () => {
  for (const bad of [
    '',
    '30',
    '1f00', // multi-byte tag
    '3f00',
    '3080', // indefinite length
    '0485000000000001', // five length bytes
    '0482', // truncated length
    '048201',
    '04817f' + '00'.repeat(0x7f), // long form for a short length
    '0482007f' + '00'.repeat(0x7f),
    '04820080' + '00'.repeat(0x80), // leading zero length byte
    '0403aabb', // value overruns
    '0400ff', // trailing bytes
  ])
    assert.throws(() => parseDer(b(bad)), derError, bad);
  assert.equal(parseDer(b('048180' + '00'.repeat(0x80))).value.length, 0x80);
  // A four-byte length is allowed (16 MiB here), a five-byte one is not.
  const big = new Uint8Array(6 + 0x1000000);
  big.set([0x04, 0x84, 0x01, 0, 0, 0]);
  assert.equal(parseDer(big).value.length, 0x1000000);
  // readTlv from an offset: the node and the offset after it.
  const two = b('0500' + '0401aa');
  const first = readTlv(two, 0);
  assert.equal(first.next, 2);
  const second = readTlv(two, first.next);
  assert.deepEqual([second.node.tag, h(second.node.value), h(second.node.raw), second.next], [4, 'aa', '0401aa', 5]);
  assert.throws(() => readTlv(two, 4), derError);
});

test('children: a constructed value tiled exactly by its children; a primitive or an overrunning child refused', () => {
  const kids = children(parseDer(b('3006' + '0500' + '0402abcd')));
  assert.deepEqual(
    kids.map((k) => [k.tag, h(k.value)]),
    [
      [5, ''],
      [4, 'abcd'],
    ],
  );
  assert.deepEqual(children(parseDer(b('3000'))), []);
  assert.deepEqual(children(parseDer(b('a0020500'))).length, 1);
  assert.throws(() => children(parseDer(b('0402abcd'))), derError);
  assert.throws(() => children(parseDer(b('3003' + '0402ab'))), derError);
});

test('expectTag: missing or another tag is ERR_DER', () => {
  const n = parseDer(b('0500'));
  assert.equal(expectTag(n, TAG.NULL, 'x'), n);
  assert.throws(() => expectTag(undefined, TAG.NULL, 'x'), derError);
  assert.throws(() => expectTag(n, TAG.INTEGER, 'x'), derError);
});

test('oidText: arcs split by the first byte (0, 1, 2) and every malformed encoding refused', () => {
  const t = (hex: string) => oidText(parseDer(b(hex)));
  assert.equal(t('060100'), '0.0');
  assert.equal(t('060127'), '0.39');
  assert.equal(t('060128'), '1.0');
  assert.equal(t('06014f'), '1.39');
  assert.equal(t('060150'), '2.0');
  assert.equal(t('06028837'), '2.999');
  assert.equal(t('06032a8100'), '1.2.128');
  for (const bad of ['0600', '0602802a', '06022a81', '06012a'.slice(0, 4), '0403550403'])
    assert.throws(() => t(bad), derError, bad);
});

test('smallUint: non-negative minimal integers of 1 to 6 bytes, INTEGER or ENUMERATED as asked', () => {
  const u = (hex: string, tag: number = TAG.INTEGER) => smallUint(parseDer(b(hex)), tag, 'n');
  assert.equal(u('020100'), 0);
  assert.equal(u('02017f'), 127);
  assert.equal(u('02020080'), 128);
  assert.equal(u('0206' + '7fffffffffff'), 0x7fffffffffff);
  assert.equal(u('0a0102', TAG.ENUMERATED), 2);
  for (const bad of ['0200', '0207' + '00'.repeat(7), '020180', '0202007f', '02020000', '0a0102'])
    assert.throws(() => u(bad), derError, bad);
});

test('integerHex: sign padding stripped, empty refused', () => {
  const i = (hex: string) => integerHex(parseDer(b(hex)), 'serial');
  assert.equal(i('020100'), '00');
  assert.equal(i('02020080'), '80');
  assert.equal(i('0203000001'), '01');
  assert.equal(i('0202abcd'), 'abcd');
  assert.throws(() => i('0200'), derError);
  assert.throws(() => integerHex(parseDer(b('0401aa')), 'serial'), derError);
});

test('derTime: UTCTime years 50–99 are 19xx and 00–49 are 20xx; GeneralizedTime as written; anything else ERR_DER', () => {
  const d = (hex: string) => derTime(parseDer(b(hex)), 'when').toISOString();
  const utc = (s: string) => '17' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
  const gen = (s: string) => '18' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
  assert.equal(d(utc('500101000000Z')), '1950-01-01T00:00:00.000Z');
  assert.equal(d(utc('491231235959Z')), '2049-12-31T23:59:59.000Z');
  assert.equal(d(utc('991231235958Z')), '1999-12-31T23:59:58.000Z');
  assert.equal(d(utc('000102030405Z')), '2000-01-02T03:04:05.000Z');
  assert.equal(d(gen('20500102030405Z')), '2050-01-02T03:04:05.000Z');
  assert.equal(d(gen('19491231235959Z')), '1949-12-31T23:59:59.000Z');
  for (const bad of [
    utc('4912312359Z'),
    utc('491231235959'),
    utc('491231235959+0000'),
    utc('20500102030405Z'),
    gen('500101000000Z'),
    gen('20500102030405'),
    '0401aa',
  ])
    assert.throws(() => d(bad), derError, bad);
  assert.throws(() => derTime(undefined, 'when'), derError);
});

test('derTime: a field out of its range is ERR_DER, not rolled over into the next month, day or minute', () => {
  const d = (hex: string) => derTime(parseDer(b(hex)), 'when').toISOString();
  const utc = (s: string) => '17' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
  const gen = (s: string) => '18' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
  // The largest value of each field reads as written.
  assert.equal(d(utc('491231235959Z')), '2049-12-31T23:59:59.000Z');
  assert.equal(d(utc('480229000000Z')), '2048-02-29T00:00:00.000Z');
  assert.equal(d(gen('20000229000000Z')), '2000-02-29T00:00:00.000Z');
  assert.equal(d(utc('250430000000Z')), '2025-04-30T00:00:00.000Z');
  for (const bad of [
    utc('491301000000Z'), // month 13 (Date.UTC: 2050-01-01)
    utc('490001000000Z'), // month 0
    utc('490100000000Z'), // day 0
    utc('490132000000Z'), // day 32
    utc('250431000000Z'), // 31 April
    utc('250229000000Z'), // 29 February of a common year
    gen('21000229000000Z'), // 2100 is not a leap year
    utc('491231240000Z'), // hour 24
    utc('491231236000Z'), // minute 60
    utc('491231235960Z'), // second 60
    gen('20501301000000Z'),
  ])
    assert.throws(() => d(bad), derError, bad);
});

test('readTlv inside a constructed value: length octets cut by the end of the parent are ERR_DER, also for its last child', () => {
  // SEQUENCE (3) { OCTET STRING with a two-octet length of which one octet is there }.
  assert.throws(() => children(parseDer(b('3003 048201'))), derError);
  assert.throws(() => children(parseDer(b('3005 0400 048201'))), derError);
  assert.throws(() => readTlv(b('048201'), 0), derError);
  // Whole, the children are read.
  assert.equal(children(parseDer(b('3004 0400 0400'))).length, 2);
});

test('children: a primitive node has none, even when its value would read as DER (ERR_DER)', () => {
  // OCTET STRING { 05 00 } and INTEGER { 30 00 }: values that are themselves well-formed TLVs.
  assert.throws(() => children(parseDer(b('0402 0500'))), derError);
  assert.throws(() => children(parseDer(b('0202 3000'))), derError);
  assert.equal(children(parseDer(b('3002 0500'))).length, 1);
  assert.equal(children(parseDer(b('a002 0500'))).length, 1, 'a constructed context tag');
});

test('smallUint: up to 6 value octets; 7 or more are ERR_DER even when the value would fit a double', () => {
  const i = (hex: string) => smallUint(parseDer(b(hex)), TAG.INTEGER, 'n');
  assert.equal(i('0206 7fffffffffff'), 0x7fffffffffff);
  assert.throws(() => i('0207 01000000000000'), derError);
  assert.throws(() => i('0207 00ffffffffffff'), derError);
});

test('derTime: the pattern is anchored at both ends (a longer string is no time)', () => {
  const d = (hex: string) => derTime(parseDer(b(hex)), 'when');
  const utc = (s: string) => '17' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
  const gen = (s: string) => '18' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
  for (const bad of [
    utc('491231235959Z0'),
    utc('491231235959ZZ'),
    utc('1491231235959Z'),
    gen('20500102030405Z0'),
    gen('120500102030405Z'),
    gen('+20500102030405Z'),
  ])
    assert.throws(() => d(bad), derError, bad);
});
