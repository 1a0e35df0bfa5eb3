import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CatenaError } from '../../../src/errors.ts';
import {
  emptyReportBody,
  parseReport,
  parseReportBody,
  serializeReport,
  serializeReportBody,
  REPORT_SIZE,
  REPORT_BODY_SIZE,
  type ReportBody,
} from '../../../src/formats/report.ts';
import {
  parseTargetInfo,
  serializeTargetInfo,
  TARGETINFO_SIZE,
  type TargetInfo,
} from '../../../src/formats/targetinfo.ts';
import {
  parseKeyRequest,
  reportKeyRequest,
  serializeKeyRequest,
  KEY_NAME,
  KEYREQUEST_SIZE,
  type KeyRequest,
} from '../../../src/formats/keyrequest.ts';
import { parseSecs, serializeSecs, SECS_SIZE, type Secs } from '../../../src/formats/secs.ts';
import {
  parseSecinfo,
  serializeSecinfo,
  SECINFO_SIZE,
  SECINFO_FLAGS,
  describeSecinfoFlags,
  secinfoPageType,
} from '../../../src/formats/secinfo.ts';
import { ATTR, attributesBytes, attributesFromBytes, isDebug } from '../../../src/formats/attributes.ts';
import { attributes, bytes, bytesWithZeroed, u16, u32, u64 } from './arbitraries.ts';

/**
 * Round trips for the fixed-size SGX structures: parse(serialize(x)) = x for every value, and
 * serialize(parse(b)) = b for every byte string whose reserved ranges are zero (the offsets
 * below are Intel's, restated here independently of the parsers). Wrong lengths are typed errors.
 */
const hasCode = (code: string) => (e: unknown) => e instanceof CatenaError && e.code === code;

function lengthErrors(name: string, size: number, parse: (b: Uint8Array) => unknown): void {
  test(`${name}: wrong lengths and trailing bytes are FormatError ERR_LENGTH`, () => {
    for (const n of [0, 1, size - 1, size + 1, size + 64])
      assert.throws(() => parse(new Uint8Array(n)), hasCode('ERR_LENGTH'), `${n} bytes`);
  });
}

const reportBody: fc.Arbitrary<ReportBody> = fc.record(
  {
    cpuSvn: bytes(16),
    miscSelect: u32,
    isvExtProdId: bytes(16),
    attributes,
    mrEnclave: bytes(32),
    mrSigner: bytes(32),
    configId: bytes(64),
    isvProdId: u16,
    isvSvn: u16,
    configSvn: u16,
    isvFamilyId: bytes(16),
    reportData: bytes(64),
  },
  { noNullPrototype: true },
);
// REPORT_BODY reserved: 20..32, 96..128, 160..192, 262..304.
const REPORT_BODY_RESERVED: Array<[number, number]> = [
  [20, 32],
  [96, 128],
  [160, 192],
  [262, 304],
];

test('REPORT_BODY / REPORT: parse(serialize(x)) = x (property)', () => {
  fc.assert(
    fc.property(reportBody, bytes(32), bytes(16), (body, keyId, mac) => {
      assert.deepEqual(parseReportBody(serializeReportBody(body)), body);
      const r = parseReport(serializeReport(body, keyId, mac));
      assert.deepEqual(r.body, body);
      assert.deepEqual(r.keyId, keyId);
      assert.deepEqual(r.mac, mac);
    }),
    { numRuns: 50 },
  );
});

test('REPORT_BODY / REPORT: serialize(parse(b)) = b when reserved bytes are zero; fields at Intel offsets (property)', () => {
  fc.assert(
    fc.property(bytesWithZeroed(REPORT_SIZE, REPORT_BODY_RESERVED), (b) => {
      const r = parseReport(b);
      assert.deepEqual(serializeReport(r.body, r.keyId, r.mac), b);
      assert.deepEqual(serializeReportBody(parseReportBody(b.subarray(0, 384))), b.subarray(0, 384));
      assert.deepEqual(r.body.mrEnclave, b.subarray(64, 96));
      assert.deepEqual(r.body.mrSigner, b.subarray(128, 160));
      assert.equal(r.body.isvProdId, b[256] | (b[257] << 8));
      assert.deepEqual(r.body.reportData, b.subarray(320, 384));
      assert.deepEqual(r.keyId, b.subarray(384, 416));
      assert.deepEqual(r.mac, b.subarray(416, 432));
    }),
    { numRuns: 50 },
  );
});
test('REPORT: serializeReport keeps a raw 384-byte body as it is (reserved bytes too); another length is ERR_FIELD_LENGTH', () => {
  fc.assert(
    fc.property(bytes(REPORT_SIZE), (b) => {
      assert.deepEqual(serializeReport(b.subarray(0, 384), b.subarray(384, 416), b.subarray(416, 432)), b);
    }),
    { numRuns: 20 },
  );
  for (const n of [383, 385])
    assert.throws(
      () => serializeReport(new Uint8Array(n), new Uint8Array(32), new Uint8Array(16)),
      hasCode('ERR_FIELD_LENGTH'),
    );
});

test('REPORT_BODY: emptyReportBody is the all-zero body', () => {
  assert.deepEqual(serializeReportBody(emptyReportBody()), new Uint8Array(REPORT_BODY_SIZE));
  assert.deepEqual(emptyReportBody(), parseReportBody(new Uint8Array(REPORT_BODY_SIZE)));
});
lengthErrors('REPORT', REPORT_SIZE, parseReport);
lengthErrors('REPORT_BODY', REPORT_BODY_SIZE, parseReportBody);

const targetInfo: fc.Arbitrary<TargetInfo> = fc.record(
  { mrEnclave: bytes(32), attributes, configSvn: u16, miscSelect: u32, configId: bytes(64) },
  { noNullPrototype: true },
);
test('TARGETINFO: round trips both ways (property)', () => {
  fc.assert(
    fc.property(
      targetInfo,
      bytesWithZeroed(TARGETINFO_SIZE, [
        [48, 50],
        [56, 64],
        [128, 512],
      ]),
      (t, b) => {
        assert.deepEqual(parseTargetInfo(serializeTargetInfo(t)), t);
        assert.deepEqual(serializeTargetInfo(parseTargetInfo(b)), b);
        assert.deepEqual(parseTargetInfo(b).mrEnclave, b.subarray(0, 32));
        assert.equal(parseTargetInfo(b).miscSelect, new DataView(b.buffer).getUint32(52, true));
      },
    ),
    { numRuns: 50 },
  );
});
lengthErrors('TARGETINFO', TARGETINFO_SIZE, parseTargetInfo);

const keyRequest: fc.Arbitrary<KeyRequest> = fc.record(
  {
    keyName: u16,
    keyPolicy: u16,
    isvSvn: u16,
    cpuSvn: bytes(16),
    attributeMask: attributes,
    keyId: bytes(32),
    miscMask: u32,
    configSvn: u16,
  },
  { noNullPrototype: true },
);
test('KEYREQUEST: round trips both ways (property)', () => {
  fc.assert(
    fc.property(
      keyRequest,
      bytesWithZeroed(KEYREQUEST_SIZE, [
        [6, 8],
        [78, 512],
      ]),
      (k, b) => {
        assert.deepEqual(parseKeyRequest(serializeKeyRequest(k)), k);
        assert.deepEqual(serializeKeyRequest(parseKeyRequest(b)), b);
        assert.deepEqual(parseKeyRequest(b).keyId, b.subarray(40, 72));
      },
    ),
    { numRuns: 50 },
  );
});
lengthErrors('KEYREQUEST', KEYREQUEST_SIZE, parseKeyRequest);

const secs: fc.Arbitrary<Secs> = fc.record(
  {
    size: u64,
    baseAddr: u64,
    ssaFrameSize: u32,
    miscSelect: u32,
    attributes,
    mrEnclave: bytes(32),
    mrSigner: bytes(32),
    configId: bytes(64),
    isvProdId: u16,
    isvSvn: u16,
    configSvn: u16,
  },
  { noNullPrototype: true },
);
// SECS reserved: 24..48, 96..128, 160..192, 262..4096.
test('SECS: round trips both ways; fields at SDM offsets (property)', () => {
  fc.assert(
    fc.property(
      secs,
      bytesWithZeroed(SECS_SIZE, [
        [24, 48],
        [96, 128],
        [160, 192],
        [262, 4096],
      ]),
      (s, b) => {
        assert.deepEqual(parseSecs(serializeSecs(s)), s);
        const p = parseSecs(b);
        assert.deepEqual(serializeSecs(p), b);
        const v = new DataView(b.buffer);
        assert.equal(p.size, v.getBigUint64(0, true));
        assert.equal(p.ssaFrameSize, v.getUint32(16, true));
        assert.equal(p.attributes.flags, v.getBigUint64(48, true));
        assert.deepEqual(p.mrEnclave, b.subarray(64, 96));
        assert.deepEqual(p.mrSigner, b.subarray(128, 160));
        assert.deepEqual(p.configId, b.subarray(192, 256));
        assert.equal(p.isvSvn, v.getUint16(258, true));
      },
    ),
    { numRuns: 30 },
  );
});
lengthErrors('SECS', SECS_SIZE, parseSecs);

const secinfoFlags = fc
  .tuple(fc.integer({ min: 0, max: 0x3f }), fc.integer({ min: 0, max: 0xff }))
  .map(([p, t]) => BigInt(p) | (BigInt(t) << 8n));
test('SECINFO: round trips both ways (property)', () => {
  fc.assert(
    fc.property(secinfoFlags, (flags) => {
      const b = serializeSecinfo({ flags });
      assert.equal(b.length, SECINFO_SIZE);
      assert.equal(new DataView(b.buffer).getBigUint64(0, true), flags);
      assert.deepEqual(parseSecinfo(b), { flags });
      assert.deepEqual(serializeSecinfo(parseSecinfo(b)), b);
    }),
  );
});
lengthErrors('SECINFO', SECINFO_SIZE, parseSecinfo);

test('SECINFO: reserved flag bits or bytes are ERR_SECINFO_RESERVED; serialising them is an ArgumentError', () => {
  const b = serializeSecinfo({ flags: SECINFO_FLAGS.R | SECINFO_FLAGS.PT_REG });
  for (const at of [0, 8, 47, 63]) {
    const bad = b.slice();
    bad[at] = at === 0 ? 0x40 : 1; // bit 6 of FLAGS is reserved
    assert.throws(() => parseSecinfo(bad), hasCode('ERR_SECINFO_RESERVED'), `byte ${at}`);
  }
  const high = b.slice();
  high[2] = 1; // bit 16
  assert.throws(() => parseSecinfo(high), hasCode('ERR_SECINFO_RESERVED'));
  assert.throws(() => serializeSecinfo({ flags: 1n << 16n }), hasCode('ERR_ARGUMENT'));
});

test('SECINFO flag constants are the SDM values', () => {
  assert.equal(SECINFO_FLAGS.PT_TCS, 0x100n);
  assert.equal(SECINFO_FLAGS.R | SECINFO_FLAGS.W | SECINFO_FLAGS.PT_REG, 0x203n);
  assert.equal(secinfoPageType(0x100n), 1);
  assert.equal(describeSecinfoFlags(0x205n), 'R|X|PT_REG');
});

test('attributes: bytes ↔ fields, DEBUG bit, trailing bytes refused', () => {
  const b = attributesBytes({ flags: 0x0102030405060702n, xfrm: 3n });
  assert.deepEqual([...b.subarray(0, 8)], [2, 7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual(attributesFromBytes(b), { flags: 0x0102030405060702n, xfrm: 3n });
  assert.throws(() => attributesFromBytes(new Uint8Array(17)), hasCode('ERR_TRAILING_BYTES'));
  assert.throws(() => attributesFromBytes(new Uint8Array(15)), hasCode('ERR_SHORT_INPUT'));
  assert.equal(isDebug({ flags: ATTR.DEBUG, xfrm: 0n }), true);
  assert.equal(isDebug({ flags: ATTR.INIT | ATTR.MODE64BIT, xfrm: 2n }), false);
});

test('reportKeyRequest: EGETKEY(REPORT) with only the KEYID set', () => {
  const keyId = new Uint8Array(32).fill(5);
  const k = reportKeyRequest(keyId);
  assert.equal(k.length, KEYREQUEST_SIZE);
  assert.deepEqual(parseKeyRequest(k), {
    keyName: KEY_NAME.REPORT,
    keyPolicy: 0,
    isvSvn: 0,
    cpuSvn: new Uint8Array(16),
    attributeMask: { flags: 0n, xfrm: 0n },
    keyId,
    miscMask: 0,
    configSvn: 0,
  });
});

test('SECINFO: flags that are not a non-negative bigint are ERR_ARGUMENT', () => {
  for (const flags of [-1n, 1 as unknown as bigint, undefined as unknown as bigint])
    assert.throws(() => serializeSecinfo({ flags }), hasCode('ERR_ARGUMENT'), String(flags));
});
