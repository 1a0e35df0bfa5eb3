import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  parseQuote,
  serializeQuote,
  serializeQuoteSignedPart,
  quoteReportData,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  type QuoteFields,
  type TdReport10,
} from '../../../src/formats/quote.ts';
import type { ReportBody } from '../../../src/formats/report.ts';
import { HAVE_VECTORS, skipWithoutVectors, vector } from '../../helpers/vectors.ts';
import { attributes, bytes, u16, u32 } from './arbitraries.ts';

/**
 * Quote layout at Intel's offsets (restated here from the Quote Library API appendices, not from the
 * parser): header fields, the v5 body descriptor, TD report 1.5, the v3 and v4 signature data, each
 * refusal by its code, and Intel's own quotes (../shared/vectors) byte for byte.
 */
const code = (c: string) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, c, (e as Error).message);
  return true;
};
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
const td10: fc.Arbitrary<TdReport10> = fc.record(
  {
    teeTcbSvn: bytes(16),
    mrSeam: bytes(48),
    mrSignerSeam: bytes(48),
    seamAttributes: bytes(8),
    tdAttributes: bytes(8),
    xfam: bytes(8),
    mrTd: bytes(48),
    mrConfigId: bytes(48),
    mrOwner: bytes(48),
    mrOwnerConfig: bytes(48),
    rtmr: fc.tuple(bytes(48), bytes(48), bytes(48), bytes(48)),
    reportData: bytes(64),
  },
  { noNullPrototype: true },
);
const td15 = fc
  .tuple(td10, bytes(16), bytes(48))
  .map(([r, teeTcbSvn2, mrServiceTd]): TdReport10 => ({ ...r, teeTcbSvn2, mrServiceTd }));
const header = (version: number, teeType: number) =>
  fc.record(
    {
      version: fc.constant(version),
      attKeyType: u16,
      teeType: fc.constant(teeType),
      qeSvn: u16,
      pceSvn: u16,
      qeVendorId: bytes(16),
      userData: bytes(20),
    },
    { noNullPrototype: true },
  );
const signatureData = fc.record(
  {
    signature: bytes(64),
    attestationKey: bytes(64),
    qe: fc.record(
      {
        qeReport: reportBody,
        qeReportSignature: bytes(64),
        qeAuthData: fc.uint8Array({ maxLength: 40 }),
        certification: fc.record({ type: u16, data: fc.uint8Array({ maxLength: 100 }) }, { noNullPrototype: true }),
      },
      { noNullPrototype: true },
    ),
  },
  { noNullPrototype: true },
);
const quote = (version: number, teeType: number, body: fc.Arbitrary<QuoteFields['body']>): fc.Arbitrary<QuoteFields> =>
  fc.record({ header: header(version, teeType), body, signatureData }, { noNullPrototype: true });
const sgx = reportBody.map((report) => ({ kind: 'sgx' as const, report }));
const tdx10 = td10.map((report) => ({ kind: 'td10' as const, report }));
const tdx15 = td15.map((report) => ({ kind: 'td10' as const, report }));

const le16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const le32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

/** Checks the header at 0..48 and returns the offset after the body descriptor (v5) and body. */
function checkHeader(b: Uint8Array, q: QuoteFields): void {
  const h = q.header;
  assert.equal(le16(b, 0), h.version);
  assert.equal(le16(b, 2), h.attKeyType);
  assert.equal(le32(b, 4), h.teeType);
  assert.equal(le16(b, 8), h.qeSvn);
  assert.equal(le16(b, 10), h.pceSvn);
  assert.deepEqual(b.subarray(12, 28), h.qeVendorId);
  assert.deepEqual(b.subarray(28, 48), h.userData);
}
function checkTdReport(b: Uint8Array, t: TdReport10): void {
  const at: Array<[number, Uint8Array]> = [
    [0, t.teeTcbSvn],
    [16, t.mrSeam],
    [64, t.mrSignerSeam],
    [112, t.seamAttributes],
    [120, t.tdAttributes],
    [128, t.xfam],
    [136, t.mrTd],
    [184, t.mrConfigId],
    [232, t.mrOwner],
    [280, t.mrOwnerConfig],
    [328, t.rtmr[0]],
    [376, t.rtmr[1]],
    [424, t.rtmr[2]],
    [472, t.rtmr[3]],
    [520, t.reportData],
  ];
  if (t.mrServiceTd) at.push([584, t.teeTcbSvn2!], [600, t.mrServiceTd]);
  for (const [o, v] of at) assert.deepEqual(b.subarray(o, o + v.length), v, `TD report offset ${o}`);
}
/** The QE report certification data at `o`: QE report (384) ‖ signature (64) ‖ u16 N ‖ auth ‖ u16 type ‖ u32 size ‖ data. */
function checkQe(b: Uint8Array, o: number, q: QuoteFields): number {
  const qe = q.signatureData.qe;
  assert.deepEqual(b.subarray(o + 64, o + 96), qe.qeReport.mrEnclave);
  assert.deepEqual(b.subarray(o + 320, o + 384), qe.qeReport.reportData);
  assert.deepEqual(b.subarray(o + 384, o + 448), qe.qeReportSignature);
  const n = le16(b, o + 448);
  assert.equal(n, qe.qeAuthData.length);
  assert.deepEqual(b.subarray(o + 450, o + 450 + n), qe.qeAuthData);
  const c = o + 450 + n;
  assert.equal(le16(b, c), qe.certification.type);
  assert.equal(le32(b, c + 2), qe.certification.data.length);
  assert.deepEqual(b.subarray(c + 6, c + 6 + qe.certification.data.length), qe.certification.data);
  return c + 6 + qe.certification.data.length;
}

test('v3, v4 and v5 quotes: every field at its offset, and parse gives the fields back (property)', () => {
  const cases: Array<[string, fc.Arbitrary<QuoteFields>, number, number]> = [
    ['v3 SGX', quote(3, TEE_TYPE_SGX, sgx), 0, 384],
    ['v4 SGX', quote(4, TEE_TYPE_SGX, sgx), 0, 384],
    ['v4 TDX', quote(4, TEE_TYPE_TDX, tdx10), 0, 584],
    ['v5 SGX', quote(5, TEE_TYPE_SGX, sgx), 1, 384],
    ['v5 TDX 1.0', quote(5, TEE_TYPE_TDX, tdx10), 2, 584],
    ['v5 TDX 1.5', quote(5, TEE_TYPE_TDX, tdx15), 3, 648],
  ];
  for (const [name, arb, bodyType, bodySize] of cases) {
    fc.assert(
      fc.property(arb, (q) => {
        const b = serializeQuote(q);
        checkHeader(b, q);
        let o = 48;
        if (bodyType) {
          assert.equal(le16(b, 48), bodyType, 'v5 body type');
          assert.equal(le32(b, 50), bodySize, 'v5 body size');
          o = 54;
        }
        if (q.body.kind === 'sgx') {
          assert.deepEqual(b.subarray(o + 64, o + 96), q.body.report.mrEnclave);
          assert.deepEqual(b.subarray(o + 320, o + 384), q.body.report.reportData);
        } else checkTdReport(b.subarray(o), q.body.report);
        o += bodySize;
        assert.deepEqual(serializeQuoteSignedPart(q.header, q.body), b.subarray(0, o));
        const sigLen = le32(b, o);
        assert.equal(b.length, o + 4 + sigLen);
        const s = o + 4;
        assert.deepEqual(b.subarray(s, s + 64), q.signatureData.signature);
        assert.deepEqual(b.subarray(s + 64, s + 128), q.signatureData.attestationKey);
        let end: number;
        if (q.header.version === 3) end = checkQe(b, s + 128, q);
        else {
          assert.equal(le16(b, s + 128), 6, 'v4/v5 outer certification type');
          assert.equal(le32(b, s + 130), sigLen - 134, 'outer certification size');
          end = checkQe(b, s + 134, q);
        }
        assert.equal(end, b.length, name);
        const p = parseQuote(b);
        assert.equal(p.signedBytes.length, o);
        assert.equal(p.paddingLength, 0);
        assert.deepEqual(p.body, q.body);
        assert.deepEqual(p.header, q.header);
        assert.deepEqual(quoteReportData(p), q.body.report.reportData);
        assert.deepEqual(
          p.signatureData.qe.qeReportRaw,
          b.subarray(
            end - (end - s) + (q.header.version === 3 ? 128 : 134),
            s + (q.header.version === 3 ? 128 : 134) + 384,
          ),
        );
        assert.equal(p.signatureData.outerCertType, q.header.version === 3 ? undefined : 6);
        assert.deepEqual(serializeQuote(p), b);
      }),
      { numRuns: 15, seed: 5 },
    );
  }
});

const one = <T>(a: fc.Arbitrary<T>) => fc.sample(a, { numRuns: 1, seed: 42 })[0];
const setU16 = (b: Uint8Array, o: number, v: number) => {
  const c = b.slice();
  new DataView(c.buffer).setUint16(o, v, true);
  return c;
};
const setU32 = (b: Uint8Array, o: number, v: number) => {
  const c = b.slice();
  new DataView(c.buffer).setUint32(o, v, true);
  return c;
};

test('v5 body descriptor: an unknown type is ERR_QUOTE_VERSION, a size that does not fit the type is ERR_QUOTE_FORMAT', () => {
  const sgx5 = serializeQuote(one(quote(5, TEE_TYPE_SGX, sgx)));
  const td5 = serializeQuote(one(quote(5, TEE_TYPE_TDX, tdx10)));
  for (const t of [0, 4, 0xffff])
    assert.throws(() => parseQuote(setU16(sgx5, 48, t)), code('ERR_QUOTE_VERSION'), `type ${t}`);
  assert.throws(() => parseQuote(setU32(sgx5, 50, 385)), code('ERR_QUOTE_FORMAT'));
  assert.throws(() => parseQuote(setU32(sgx5, 50, 584)), code('ERR_QUOTE_FORMAT'));
  assert.throws(() => parseQuote(setU32(td5, 50, 648)), code('ERR_QUOTE_FORMAT'));
  assert.throws(() => parseQuote(setU32(td5, 50, 384)), code('ERR_QUOTE_FORMAT'));
});

test('v5 body descriptor: the body type must fit tee_type (SGX report under SGX, TD reports under TDX only)', () => {
  const sgx5 = serializeQuote(one(quote(5, TEE_TYPE_SGX, sgx)));
  const td5 = serializeQuote(one(quote(5, TEE_TYPE_TDX, tdx10)));
  const td15q = serializeQuote(one(quote(5, TEE_TYPE_TDX, tdx15)));
  assert.throws(() => parseQuote(setU32(sgx5, 4, TEE_TYPE_TDX)), code('ERR_QUOTE_VERSION'));
  assert.throws(() => parseQuote(setU32(td5, 4, TEE_TYPE_SGX)), code('ERR_QUOTE_VERSION'));
  assert.throws(() => parseQuote(setU32(td5, 4, 0x82)), code('ERR_QUOTE_VERSION'));
  assert.throws(() => parseQuote(setU32(td15q, 4, 0x82)), code('ERR_QUOTE_VERSION'));
  assert.throws(() => parseQuote(setU32(td15q, 4, TEE_TYPE_SGX)), code('ERR_QUOTE_VERSION'));
});

test('v5 TD report 1.5: every truncation is ERR_SHORT_INPUT or a format error, a trailing byte ERR_TRAILING_BYTES', () => {
  const b = serializeQuote(one(quote(5, TEE_TYPE_TDX, tdx15)));
  for (let n = 0; n < b.length; n += n < 800 ? 1 : 37)
    assert.throws(
      () => parseQuote(b.subarray(0, n)),
      (e: unknown) => (e as { name?: string }).name === 'FormatError',
      `length ${n}`,
    );
  assert.throws(() => parseQuote(Uint8Array.from([...b, 0])), code('ERR_TRAILING_BYTES'));
  assert.equal(parseQuote(Uint8Array.from([...b, 0, 0]), { allowZeroPadding: true }).paddingLength, 2);
});

test('a TD report 1.5 without tee_tcb_svn2 is written with zeros there', () => {
  const q = one(quote(5, TEE_TYPE_TDX, tdx15));
  const { teeTcbSvn2: _omit, ...rest } = q.body.report as TdReport10;
  const b = serializeQuote({ ...q, body: { kind: 'td10', report: rest } });
  assert.deepEqual(b.subarray(54 + 584, 54 + 600), new Uint8Array(16));
  assert.deepEqual(parseQuote(b).body.report.reportData, q.body.report.reportData);
});

/** A sample quote whose PCK certification data is 3 bytes (so a size one smaller is still a size). */
function withCert(q: QuoteFields): QuoteFields {
  const qe = { ...q.signatureData.qe, certification: { type: 5, data: Uint8Array.of(1, 2, 3) } };
  return { ...q, signatureData: { ...q.signatureData, qe } };
}

test('v3 and v4 signature data: every inner size that disagrees is refused', () => {
  const v4 = serializeQuote(withCert(one(quote(4, TEE_TYPE_SGX, sgx))));
  const s = 48 + 384 + 4;
  const outerSize = le32(v4, s + 130);
  // The outer size one more or one less than what follows: short input or trailing bytes inside.
  assert.throws(() => parseQuote(setU32(v4, s + 130, outerSize + 1)), code('ERR_SHORT_INPUT'));
  assert.throws(() => parseQuote(setU32(v4, s + 130, outerSize - 1)), code('ERR_SHORT_INPUT'));
  assert.throws(() => parseQuote(setU16(v4, s + 128, 5)), code('ERR_QUOTE_FORMAT'));
  // Inner trailing bytes: the QE certification data's own size made one byte smaller, the outer size kept.
  const c = s + 134 + 448;
  const authLen = le16(v4, c);
  const innerSize = le32(v4, c + 2 + authLen + 2);
  assert.throws(() => parseQuote(setU32(v4, c + 2 + authLen + 2, innerSize - 1)), code('ERR_TRAILING_BYTES'));
  const v3 = serializeQuote(withCert(one(quote(3, TEE_TYPE_SGX, sgx))));
  const c3 = s + 128 + 448;
  const auth3 = le16(v3, c3);
  const size3 = le32(v3, c3 + 2 + auth3 + 2);
  assert.throws(() => parseQuote(setU32(v3, c3 + 2 + auth3 + 2, size3 - 1)), code('ERR_TRAILING_BYTES'));
  assert.throws(() => parseQuote(setU32(v3, c3 + 2 + auth3 + 2, size3 + 1)), code('ERR_SHORT_INPUT'));
});

test('a v3 quote with tee_type ≠ 0 is ERR_QUOTE_FORMAT; a v4 one with another TEE type is ERR_QUOTE_VERSION; versions 2 and 6 too', () => {
  const v3 = serializeQuote(one(quote(3, TEE_TYPE_SGX, sgx)));
  assert.throws(() => parseQuote(setU32(v3, 4, TEE_TYPE_TDX)), code('ERR_QUOTE_FORMAT'));
  const v4 = serializeQuote(one(quote(4, TEE_TYPE_SGX, sgx)));
  assert.throws(() => parseQuote(setU32(v4, 4, 1)), code('ERR_QUOTE_VERSION'));
  for (const v of [2, 6]) assert.throws(() => parseQuote(setU16(v4, 0, v)), code('ERR_QUOTE_VERSION'));
});

test(
  "Intel's quotes (sgx-v3-phala, sgx-v3-zkdcap, tdx-v4-phala): the README's facts, and serialize(parse(q)) = q",
  { skip: skipWithoutVectors },
  () => {
    assert.ok(HAVE_VECTORS);
    const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const phala = vector('sgx-v3-phala/quote.dat');
    const q = parseQuote(phala);
    assert.deepEqual([q.header.version, q.header.attKeyType, q.header.qeSvn, q.header.pceSvn], [3, 2, 10, 15]);
    assert.equal(hexOf(q.header.qeVendorId), '939a7233f79c4ca9940a0db3957f0607');
    assert.ok(q.body.kind === 'sgx');
    assert.equal(hexOf(q.body.report.mrEnclave), '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb');
    assert.equal(hexOf(q.body.report.mrSigner), '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6');
    assert.equal(q.body.report.attributes.flags, 5n);
    assert.equal(q.body.report.attributes.xfrm, 0xe7n);
    assert.equal(Buffer.from(q.body.report.reportData.subarray(0, 13)).toString(), 'Hello, world!');
    assert.equal(le32(phala, 432), 4164);
    assert.equal(q.signatureData.qe.qeAuthData.length, 32);
    assert.equal(q.signatureData.qe.certification.type, 5);
    assert.equal(q.signatureData.qe.certification.data.length, 3548);
    assert.deepEqual(serializeQuote(q), phala);
    const zk = parseQuote(vector('sgx-v3-zkdcap/quote.dat'));
    assert.deepEqual([zk.header.qeSvn, zk.header.pceSvn], [10, 16]);
    assert.equal(hexOf(zk.body.report.reportData).length, 128);
    assert.ok(zk.body.kind === 'sgx');
    assert.equal(hexOf(zk.body.report.mrSigner), '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e');
    const tdxBytes = vector('tdx-v4-phala/quote.dat');
    assert.throws(() => parseQuote(tdxBytes), code('ERR_TRAILING_BYTES'));
    const t = parseQuote(tdxBytes, { allowZeroPadding: true });
    assert.equal(t.paddingLength, 70);
    assert.deepEqual([t.header.version, t.header.teeType], [4, TEE_TYPE_TDX]);
    assert.equal(le32(tdxBytes, 632), 4300);
    assert.equal(t.signedBytes.length, 632);
    assert.equal(t.signatureData.outerCertType, 6);
    assert.equal(t.signatureData.qe.qeAuthData.length, 32);
    assert.equal(t.signatureData.qe.certification.type, 5);
    assert.deepEqual(serializeQuote(t), tdxBytes.subarray(0, tdxBytes.length - 70));
  },
);
