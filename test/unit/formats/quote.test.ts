import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../../../src/errors.ts';
import { parseQuote, serializeQuote, TEE_TYPE_TDX, type Quote, type ReportBody } from '../../../src/formats/index.ts';

/** Quote v3/v4 layout: round trips of random field values, and refusals of malformed lengths. */
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u16 = fc.integer({ min: 0, max: 0xffff });

const reportBody: fc.Arbitrary<ReportBody> = fc.record({
  cpuSvn: bytes(16),
  miscSelect: fc.integer({ min: 0, max: 0xffffffff }),
  isvExtProdId: bytes(16),
  attributes: fc.record({
    flags: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    xfrm: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  }),
  mrEnclave: bytes(32),
  mrSigner: bytes(32),
  configId: bytes(64),
  isvProdId: u16,
  isvSvn: u16,
  configSvn: u16,
  isvFamilyId: bytes(16),
  reportData: bytes(64),
});

const qe = fc.record({
  qeReport: reportBody,
  qeReportSignature: bytes(64),
  qeAuthData: fc.uint8Array({ maxLength: 64 }),
  certification: fc.record({ type: fc.integer({ min: 1, max: 7 }), data: fc.uint8Array({ maxLength: 300 }) }),
});

const header = (version: number, teeType: number) =>
  fc.record({
    version: fc.constant(version),
    attKeyType: u16,
    teeType: fc.constant(teeType),
    qeSvn: u16,
    pceSvn: u16,
    qeVendorId: bytes(16),
    userData: bytes(20),
  });

const tdReport = fc.record({
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
});

const sgxV3 = fc.record({
  header: header(3, 0),
  body: reportBody.map((report) => ({ kind: 'sgx' as const, report })),
  signatureData: fc.record({ signature: bytes(64), attestationKey: bytes(64), qe }),
});
const tdxV4 = fc.record({
  header: header(4, TEE_TYPE_TDX),
  body: tdReport.map((report) => ({ kind: 'td10' as const, report })),
  signatureData: fc.record({ signature: bytes(64), attestationKey: bytes(64), qe }),
});

/** Plain JSON of a structure (fast-check records have a null prototype; bytes as hex, bigints as text). */
function plain(x: unknown): string {
  return JSON.stringify(x, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  );
}

function strip(q: Quote) {
  const { qeReportRaw: _raw, ...qeRest } = q.signatureData.qe;
  const { outerCertType: _o, ...sd } = q.signatureData;
  return { header: q.header, body: q.body, signatureData: { ...sd, qe: qeRest } };
}

test('v3 SGX and v4 TDX quotes round-trip: serialize → parse gives the fields back, parse → serialize gives the bytes back', () => {
  fc.assert(
    fc.property(fc.oneof(sgxV3, tdxV4), (fields) => {
      const bytes1 = serializeQuote(fields);
      const q = parseQuote(bytes1);
      assert.equal(plain(strip(q)), plain(fields));
      assert.deepEqual(serializeQuote(q), bytes1);
      assert.equal(q.signedBytes.length, 48 + (fields.body.kind === 'sgx' ? 384 : 584));
      assert.deepEqual(q.signedBytes, bytes1.subarray(0, q.signedBytes.length));
      assert.equal(q.signatureData.qe.qeReportRaw.length, 384);
    }),
    { numRuns: 150 },
  );
});

test('every truncation of a quote is a FormatError, and so is any trailing byte', () => {
  const [fields] = fc.sample(sgxV3, { numRuns: 1, seed: 7 });
  const full = serializeQuote(fields);
  for (let n = 0; n < full.length; n++)
    assert.throws(() => parseQuote(full.subarray(0, n)), FormatError, `length ${n}`);
  assert.throws(
    () => parseQuote(Uint8Array.from([...full, 0])),
    (e: unknown) => e instanceof FormatError && e.code === 'ERR_TRAILING_BYTES',
  );
  // Zero padding only when asked for, and only zeros.
  assert.equal(parseQuote(Uint8Array.from([...full, 0, 0, 0]), { allowZeroPadding: true }).paddingLength, 3);
  assert.throws(() => parseQuote(Uint8Array.from([...full, 0, 1]), { allowZeroPadding: true }), FormatError);
});

test('sig_data_len must equal what the signature data holds', () => {
  const [fields] = fc.sample(sgxV3, { numRuns: 1, seed: 11 });
  const full = serializeQuote(fields);
  const view = new DataView(full.buffer, full.byteOffset);
  const len = view.getUint32(432, true);
  for (const wrong of [len - 1, len + 1]) {
    const b = new Uint8Array(full);
    new DataView(b.buffer).setUint32(432, wrong, true);
    assert.throws(() => parseQuote(wrong > len ? Uint8Array.from([...b, 0]) : b), FormatError, `sig_data_len ${wrong}`);
  }
});

test('unknown versions and TEE types, a non-zero v3 reserved field and a v4 wrapper other than type 6 are refused', () => {
  const [v3] = fc.sample(sgxV3, { numRuns: 1, seed: 3 });
  const [v4] = fc.sample(tdxV4, { numRuns: 1, seed: 3 });
  const b3 = serializeQuote(v3);
  for (const version of [0, 2, 5]) {
    const b = new Uint8Array(b3);
    new DataView(b.buffer).setUint16(0, version, true);
    assert.throws(
      () => parseQuote(b),
      (e: unknown) => e instanceof FormatError && e.code === 'ERR_QUOTE_VERSION',
    );
  }
  const r = new Uint8Array(b3);
  r[4] = 1;
  assert.throws(() => parseQuote(r), FormatError);
  const b4 = serializeQuote(v4);
  const t = new Uint8Array(b4);
  t[4] = 0x82;
  assert.throws(
    () => parseQuote(t),
    (e: unknown) => e instanceof FormatError && e.code === 'ERR_QUOTE_VERSION',
  );
  const w = new Uint8Array(b4);
  new DataView(w.buffer).setUint16(48 + 584 + 4 + 128, 5, true);
  assert.throws(() => parseQuote(w), /type 5, expected 6/);
});
