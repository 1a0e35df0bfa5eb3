import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { CatenaError } from '../../../src/errors.ts';
import { serializeSgxs, type SgxsRecord } from '../../../src/formats/sgxs.ts';
import { Measurement, measureSgxs } from '../../../src/sgx/measure.ts';

const hasCode = (code: string) => (e: unknown) => e instanceof CatenaError && e.code === code;
const PAGE = 4096;

/** The 64-byte blocks written out by hand from the SDM's ECREATE/EADD/EEXTEND pseudocode. */
function block(tag: string, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(64);
  b.set(new TextEncoder().encode(tag));
  fill(new DataView(b.buffer));
  return b;
}

test('Measurement = SHA-256 over the SDM blocks, written here by hand', () => {
  const page = new Uint8Array(PAGE).map((_, i) => (i * 7) & 0xff);
  const h = createHash('sha256');
  h.update(
    block('ECREATE\0', (v) => {
      v.setUint32(8, 2, true);
      v.setBigUint64(12, 0x10000n, true);
    }),
  );
  h.update(
    block('EADD\0\0\0\0', (v) => {
      v.setBigUint64(8, 0x2000n, true);
      v.setBigUint64(16, 0x205n, true);
    }),
  );
  for (let i = 0; i < 16; i++) {
    h.update(block('EEXTEND\0', (v) => v.setBigUint64(8, 0x2000n + BigInt(i * 256), true)));
    h.update(page.subarray(i * 256, (i + 1) * 256));
  }
  h.update(
    block('EADD\0\0\0\0', (v) => {
      v.setBigUint64(8, 0x3000n, true);
      v.setBigUint64(16, 0x203n, true);
    }),
  );
  const m = new Measurement();
  m.ecreate(2, 0x10000n);
  m.addPage(0x2000n, 0x205n, page);
  m.addPage(0x3000n, 0x203n, new Uint8Array(PAGE), false);
  assert.deepEqual(m.finish(), new Uint8Array(h.digest()));
});

/** A random well-formed enclave: distinct pages, some measured, in random order. */
const enclave = fc
  .record({
    ssa: fc.integer({ min: 1, max: 4 }),
    sizeLog: fc.integer({ min: 13, max: 20 }),
    pages: fc.array(
      fc.record({
        slot: fc.nat(),
        flags: fc.constantFrom(0x201n, 0x203n, 0x205n, 0x100n),
        measured: fc.boolean(),
        fillByte: fc.integer({ min: 0, max: 255 }),
      }),
      { maxLength: 6 },
    ),
  })
  .map(({ ssa, sizeLog, pages }) => {
    const slots = 2 ** (sizeLog - 12);
    const seen = new Set<number>();
    const ps = pages.map((p) => ({ ...p, slot: p.slot % slots })).filter((p) => !seen.has(p.slot) && seen.add(p.slot));
    return { ssa, size: 1n << BigInt(sizeLog), pages: ps };
  });

test('measureSgxs(stream) = Measurement replay = SHA-256(stream) for streams without UNMEASRD (property)', () => {
  fc.assert(
    fc.property(enclave, ({ ssa, size, pages }) => {
      const recs: SgxsRecord[] = [{ tag: 'ECREATE', ssaFrameSize: ssa, size }];
      const m = new Measurement();
      m.ecreate(ssa, size);
      for (const p of pages) {
        const offset = BigInt(p.slot * PAGE);
        const data = new Uint8Array(PAGE).fill(p.fillByte);
        m.addPage(offset, p.flags, data, p.measured);
        recs.push({ tag: 'EADD', offset, secinfoFlags: p.flags });
        if (p.measured)
          for (let i = 0; i < 16; i++)
            recs.push({
              tag: 'EEXTEND',
              offset: offset + BigInt(i * 256),
              data: data.subarray(i * 256, (i + 1) * 256),
            });
      }
      const stream = serializeSgxs(recs);
      const mr = m.finish();
      assert.deepEqual(measureSgxs(stream), mr);
      assert.deepEqual(mr, new Uint8Array(createHash('sha256').update(stream).digest()));
    }),
    { numRuns: 40 },
  );
});

test('UNMEASRD records are skipped; UNSIZED cannot be measured; empty stream refused', () => {
  const data = new Uint8Array(256).fill(9);
  const base: SgxsRecord[] = [
    { tag: 'ECREATE', ssaFrameSize: 1, size: 0x2000n },
    { tag: 'EADD', offset: 0n, secinfoFlags: 0x203n },
  ];
  assert.deepEqual(
    measureSgxs(serializeSgxs([...base, { tag: 'UNMEASRD', offset: 0n, data }])),
    measureSgxs(serializeSgxs(base)),
  );
  assert.notDeepEqual(
    measureSgxs(serializeSgxs([...base, { tag: 'EEXTEND', offset: 0n, data }])),
    measureSgxs(serializeSgxs(base)),
  );
  assert.throws(
    () => measureSgxs(serializeSgxs([{ tag: 'UNSIZED', ssaFrameSize: 1, sizeOffset: 0x100n }])),
    hasCode('ERR_SGXS_UNSIZED'),
  );
  assert.throws(() => measureSgxs(new Uint8Array(0)), hasCode('ERR_SGXS_EMPTY'));
});

test('the CPU order rules are enforced (ERR_MEASUREMENT_ORDER / ERR_SGXS_VALUE)', () => {
  const E: SgxsRecord = { tag: 'ECREATE', ssaFrameSize: 1, size: 0x4000n };
  const A = (offset: bigint): SgxsRecord => ({ tag: 'EADD', offset, secinfoFlags: 0x203n });
  const X = (offset: bigint): SgxsRecord => ({ tag: 'EEXTEND', offset, data: new Uint8Array(256) });
  const order = hasCode('ERR_MEASUREMENT_ORDER');
  assert.throws(() => measureSgxs(serializeSgxs([A(0n)])), order, 'EADD before ECREATE');
  assert.throws(() => measureSgxs(serializeSgxs([E, E])), order, 'ECREATE twice');
  assert.throws(() => measureSgxs(serializeSgxs([E, A(0x1000n), A(0x1000n)])), order, 'page added twice');
  assert.throws(() => measureSgxs(serializeSgxs([E, A(0x1800n)])), order, 'unaligned EADD');
  assert.throws(() => measureSgxs(serializeSgxs([E, A(0x4000n)])), order, 'EADD outside SIZE');
  assert.throws(() => measureSgxs(serializeSgxs([E, A(0n), X(0x80n)])), order, 'unaligned EEXTEND');
  assert.throws(() => measureSgxs(serializeSgxs([E, A(0n), X(0x1000n)])), order, 'EEXTEND in a page not added');
  assert.throws(
    () => measureSgxs(serializeSgxs([{ ...E, size: 0x3000n }])),
    hasCode('ERR_SGXS_VALUE'),
    'size not a power of two',
  );
  assert.throws(
    () => measureSgxs(serializeSgxs([{ ...E, ssaFrameSize: 0 }])),
    hasCode('ERR_SGXS_VALUE'),
    'SSAFRAMESIZE 0',
  );
  const m = new Measurement();
  m.ecreate(1, 0x2000n);
  m.finish();
  assert.throws(() => m.finish(), order, 'finish twice');
  assert.throws(() => m.eadd(0n, 0x203n), order, 'EADD after finish');
  assert.throws(() => new Measurement().finish(), order, 'finish before ECREATE');
  const m2 = new Measurement();
  m2.ecreate(1, 0x2000n);
  assert.throws(() => m2.addPage(0n, 0x203n, new Uint8Array(100)), hasCode('ERR_ARGUMENT'), 'short page');
  assert.throws(() => m2.eadd(0n, 1n << 20n), hasCode('ERR_ARGUMENT'), 'reserved SECINFO bits');
});
