import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '../../../src/crypto/sha256.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { parseSigstruct, verifySigstruct, mrSignerOf } from '../../../src/formats/sigstruct.ts';
import { buildEnclave, normalizeConfig, parseEnclaveConfig, readEnclaveImage } from '../../../src/sgx/build.ts';
import { layoutEnclave, loadSgxs, PAGE_SIZE, sgxsOf } from '../../../src/sgx/layout.ts';
import { Measurement, measureSgxs } from '../../../src/sgx/measure.ts';
import { rejectsWithCode } from './helpers.ts';

const vendorKey = generateVendorKey();
const MODULE = 'export default (ctx) => ({ ping: () => "pong" });\n';
const params = { heapSize: 8192, stackSize: 4096, tcsCount: 2, ssaFrameSize: 1 };

/** Replays a layout through the measurement engine (src/sgx/measure.ts), independently of the SGXS writer. */
function measureLayout(text: Uint8Array, p = params): Uint8Array {
  const l = layoutEnclave(text, p);
  const m = new Measurement();
  m.ecreate(l.ssaFrameSize, l.enclaveSize);
  for (const pg of l.pages) m.addPage(pg.offset, pg.secinfoFlags, pg.data ?? new Uint8Array(PAGE_SIZE), pg.measured);
  return m.finish();
}

test('MRENCLAVE of a laid-out module = SHA-256 of its SGXS stream = the measurement engine’s replay (property)', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 9000 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 4 }),
      (src, tcs, heapPages) => {
        const text = new TextEncoder().encode(src);
        const p = { heapSize: heapPages * PAGE_SIZE, stackSize: PAGE_SIZE, tcsCount: tcs, ssaFrameSize: 1 };
        const sgxs = sgxsOf(layoutEnclave(text, p));
        const mr = measureLayout(text, p);
        assert.deepEqual(sha256(sgxs), mr);
        assert.deepEqual(measureSgxs(sgxs), mr);
        const back = loadSgxs(sgxs);
        assert.equal(back.moduleText, src);
        assert.deepEqual(back.mrEnclave, mr);
        assert.equal(back.tcsCount, tcs);
      },
    ),
    { numRuns: 40 },
  );
});

test('the SGXS stream has the documented shape: ECREATE, then EADD/EEXTEND records; TCS pages are PT_TCS; SIZE a power of two', () => {
  const l = layoutEnclave(new TextEncoder().encode(MODULE), params);
  const sgxs = sgxsOf(l);
  const dv = new DataView(sgxs.buffer);
  assert.equal(new TextDecoder().decode(sgxs.subarray(0, 8)), 'ECREATE\0');
  assert.equal(dv.getUint32(8, true), 1);
  const size = dv.getBigUint64(12, true);
  assert.equal(size & (size - 1n), 0n);
  const tcs = l.pages.filter((p) => p.secinfoFlags === 0x100n);
  assert.equal(tcs.length, 2);
  assert.ok(l.pages.every((p) => p.offset % 4096n === 0n && p.offset < size));
  assert.equal(new Set(l.pages.map((p) => p.offset)).size, l.pages.length, 'no page added twice');
  assert.equal(l.pages.find((p) => p.offset === 0x1000n)?.secinfoFlags, 0x205n, 'module pages are R|X|PT_REG');
  // EADD records for unmeasured (heap/stack) pages are followed by no EEXTEND.
  const measuredPages = l.pages.filter((p) => p.measured).length;
  assert.equal(sgxs.length, 64 + l.pages.length * 64 + measuredPages * 16 * (64 + 256));
});

test('layout parameters and the module text change MRENCLAVE; identical inputs reproduce it', () => {
  const text = new TextEncoder().encode(MODULE);
  const base = measureLayout(text);
  assert.deepEqual(measureLayout(text), base);
  assert.notDeepEqual(measureLayout(text, { ...params, heapSize: 3 * 4096 }), base);
  assert.notDeepEqual(measureLayout(text, { ...params, tcsCount: 1 }), base);
  assert.notDeepEqual(measureLayout(text, { ...params, stackSize: 8192 }), base);
  assert.notDeepEqual(measureLayout(new TextEncoder().encode(MODULE + ' '), params), base);
});

test('the loader refuses malformed or tampered SGXS streams (ERR_EINIT_IMAGE)', async () => {
  const sgxs = sgxsOf(layoutEnclave(new TextEncoder().encode(MODULE), params));
  await rejectsWithCode(() => loadSgxs(sgxs.subarray(0, sgxs.length - 1)), 'ERR_EINIT_IMAGE');
  await rejectsWithCode(() => loadSgxs(sgxs.subarray(64)), 'ERR_EINIT_IMAGE');
  const unknown = new Uint8Array([...sgxs, ...new TextEncoder().encode('UNMEASRD'), ...new Uint8Array(56)]);
  await rejectsWithCode(() => loadSgxs(unknown), 'ERR_EINIT_IMAGE');
  // Flip one byte of the module text inside its EEXTEND data: the header's module hash no longer matches.
  const moduleChunk = sgxs.findIndex(
    (_, i) => i > 64 && new TextDecoder().decode(sgxs.subarray(i, i + 14)) === 'export default',
  );
  assert.ok(moduleChunk > 0);
  const tampered = sgxs.slice();
  tampered[moduleChunk] ^= 1;
  await rejectsWithCode(() => loadSgxs(tampered), 'ERR_EINIT_IMAGE');
  // A page added twice.
  const firstEadd = 64;
  const dup = new Uint8Array([...sgxs, ...sgxs.subarray(firstEadd, firstEadd + 64)]);
  await rejectsWithCode(() => loadSgxs(dup), 'ERR_EINIT_IMAGE');
  await rejectsWithCode(() => loadSgxs(new Uint8Array(0)), 'ERR_EINIT_IMAGE');
});

test('buildEnclave: SIGSTRUCT verifies, names the measured MRENCLAVE, the config’s ISV fields and DEBUG choice', () => {
  const prod = buildEnclave(MODULE, { isvProdId: 77, isvSvn: 4 }, vendorKey, { date: '20250102' });
  const s = parseSigstruct(prod.sigstruct);
  assert.ok(verifySigstruct(s).ok);
  assert.deepEqual(s.enclaveHash, prod.mrEnclave);
  assert.deepEqual(sha256(prod.sgxs), prod.mrEnclave);
  assert.deepEqual(mrSignerOf(s), prod.mrSigner);
  assert.equal(s.isvProdId, 77);
  assert.equal(s.isvSvn, 4);
  assert.equal(s.date, 0x20250102);
  assert.equal(s.attributes.flags & 0x2n, 0n);
  assert.equal(s.attributeMask.flags & 0x2n, 0x2n, 'production SIGSTRUCT forbids DEBUG');
  const dbg = buildEnclave(MODULE, { isvProdId: 77, isvSvn: 4, debug: true }, vendorKey);
  assert.equal(parseSigstruct(dbg.sigstruct).attributes.flags & 0x2n, 0x2n);
  assert.deepEqual(dbg.mrEnclave, prod.mrEnclave, 'DEBUG is an attribute, not part of the measurement');
  const prov = buildEnclave(MODULE, { isvProdId: 1, isvSvn: 1, provisionKey: true }, vendorKey);
  assert.equal(parseSigstruct(prov.sigstruct).attributes.flags & 0x10n, 0x10n);
  const back = readEnclaveImage(prod.sgxs, prod.sigstruct);
  assert.equal(back.moduleSource, MODULE);
  assert.equal(back.config.isvProdId, 77);
  assert.deepEqual(back.mrEnclave, prod.mrEnclave);
});

test('enclave configs are checked: unknown fields, sizes not in pages, out-of-range values, bad attribute hex', async () => {
  await rejectsWithCode(() => normalizeConfig({ isvProdId: 1, isvSvn: 1, heapSize: 1000 }), 'ERR_ENCLAVE_CONFIG');
  await rejectsWithCode(() => normalizeConfig({ isvProdId: 70000, isvSvn: 1 }), 'ERR_ENCLAVE_CONFIG');
  await rejectsWithCode(() => normalizeConfig({ isvProdId: 1, isvSvn: 1, tcsCount: 0 }), 'ERR_ENCLAVE_CONFIG');
  await rejectsWithCode(() => parseEnclaveConfig({ isvProdId: 1, isvSvn: 1, isvsvn: 2 }), 'ERR_ENCLAVE_CONFIG');
  await rejectsWithCode(
    () => parseEnclaveConfig({ isvProdId: 1, isvSvn: 1, attributes: '0400' }),
    'ERR_ENCLAVE_CONFIG',
  );
  await rejectsWithCode(() => parseEnclaveConfig([]), 'ERR_ENCLAVE_CONFIG');
  const c = parseEnclaveConfig({ isvProdId: 1, isvSvn: 2, attributes: '00000000000000000700000000000000' });
  assert.deepEqual(c.attributes, { flags: 0n, xfrm: 7n });
  assert.deepEqual(normalizeConfig({ isvProdId: 1, isvSvn: 2 }).heapSize, 65536);
});
