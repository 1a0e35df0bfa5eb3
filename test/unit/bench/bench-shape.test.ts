import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchCot } from '../../../src/bench/cot.ts';
import { cotPlotSvg } from '../../../src/bench/cot-plot.ts';
import { LinkFloorSampler, measureCryptoFloor } from '../../../src/bench/floor.ts';
import { benchVerify } from '../../../src/bench/verify.ts';
import { skipWithoutVectors, VECTORS_DIR } from '../../helpers/vectors.ts';

// Shapes and bookkeeping only, at tiny sizes: these tests never assert speed.

test('bench cot at sizes 1, 6, 13: the issue-6 JSON shape, link counts that add up, a verifying chain per size', async () => {
  const r = await benchCot({ sizes: [13, 1, 6], clouds: 2, localShare: 0.5 });
  assert.deepEqual(
    r.sizes.map((s) => s.size),
    [1, 6, 13],
    'sorted',
  );
  for (const s of r.sizes) {
    for (const k of ['buildMs', 'verifyMs', 'cpuMs', 'peakRssMb'] as const)
      assert.ok(typeof s[k] === 'number' && s[k] > 0, `${s.size} ${k}`);
    assert.equal(s.links.local + s.links.remote, s.size - 1, 'every element after the first is one link');
    assert.ok(Math.abs(s.links.local - (s.size - 1) * 0.5) <= 1, 'local share honoured');
    assert.ok(s.valid);
    assert.ok(s.startupMs <= s.buildMs);
  }
  for (const k of ['local', 'remote'] as const) {
    assert.ok(r.floorUs[k] > 0 && Number.isFinite(r.marginalUs[k]));
    // At three tiny sizes the least-squares marginal can come out negative on a noisy machine: compare magnitudes.
    assert.ok(Math.abs(r.ratio[k] - r.marginalUs[k] / r.floorUs[k]) <= 0.01 * Math.abs(r.ratio[k]) + 0.001);
  }
  // A remote link's floor is a local link's parts plus signing and verifying the quote. Compared as parts,
  // not as the two sampled medians: those are timings, and on a loaded machine their order can flip.
  assert.ok(r.floorParts.signQuote > 0 && r.floorParts.verifyQuote > 0, 'a remote link does strictly more crypto');
  assert.ok(Number.isNaN(r.slope), 'no slope without two sizes ≥ 1000');
  assert.ok(r.startupOffsetMs > 0 && r.machineSetupMs > 0);
  const json = JSON.parse(JSON.stringify(r));
  for (const k of [
    'sizes',
    'startupOffsetMs',
    'marginalUs',
    'floorUs',
    'ratio',
    'slope',
    'floorIsolatedUs',
    'ratioIsolated',
    'floorSamples',
  ])
    assert.ok(k in json, k);
  assert.match(cotPlotSvg(r), /<svg[\s\S]*CoT size \(elements\)[\s\S]*<\/svg>/);
});

test('bench cot on two threads (pipelineFrom): links in runs of 128 per type, every link counted once, a verifying chain', async () => {
  const r = await benchCot({ sizes: [300], clouds: 2, localShare: 0.5, pipelineFrom: 300 });
  const [s] = r.sizes;
  // Runs of 128 local then 128 remote links: 1–128 local, 129–256 remote, 257–299 local.
  assert.deepEqual(s.links, { local: 171, remote: 128 });
  assert.ok(s.valid);
  assert.ok(s.linkCpuMs.local > 0 && s.linkCpuMs.remote > 0);
});

test('bench cot refuses impossible options', async () => {
  await assert.rejects(benchCot({ sizes: [] }), { code: 'ERR_BENCH_ARGUMENT' });
  await assert.rejects(benchCot({ sizes: [5], clouds: 1, localShare: 0.5 }), { code: 'ERR_BENCH_ARGUMENT' });
  await assert.rejects(benchCot({ sizes: [5], localShare: 2 }), { code: 'ERR_BENCH_ARGUMENT' });
  await assert.rejects(benchCot({ sizes: [5], pipelineFrom: 0 }), { code: 'ERR_BENCH_ARGUMENT' });
});

test('crypto floor: every part measured, the isolated sums as documented, the link floor from its sampled batches', () => {
  const inputs = {
    localLinkBytes: new Uint8Array(1500),
    remoteLinkBytes: new Uint8Array(11000),
    quoteSigned: new Uint8Array(432),
  };
  const f = measureCryptoFloor({ ...inputs, iterations: 5, batches: 3 });
  const p = f.parts;
  const common = p.keygen + p.signer + 2 * p.cmac + 2 * p.bindingHash;
  assert.ok(Math.abs(f.isolated.local - (common + p.signLink.local + p.verifyRawLink.local)) < 1e-6);
  assert.ok(
    Math.abs(f.isolated.remote - (common + p.signQuote + p.verifyQuote + p.signLink.remote + p.verifyRawLink.remote)) <
      1e-6,
  );
  assert.ok(f.local > 0 && f.remote > 0);
  // The link floor is the median of the sampler's batches: batches taken during a run count.
  const sampler = new LinkFloorSampler(inputs);
  for (let i = 0; i < 4; i++) sampler.sample(2);
  const g = measureCryptoFloor({ ...inputs, iterations: 5, batches: 3 }, sampler);
  assert.equal(sampler.samples, 7);
  assert.equal(g.local, sampler.local);
  assert.equal(g.remote, sampler.remote);
});

test(
  'bench verify: the documented shape, every contender ran, ratios are quotients',
  { skip: skipWithoutVectors },
  async () => {
    const r = await benchVerify({ seconds: 0.3, rounds: 1, vectorsDir: VECTORS_DIR });
    assert.ok(r.counts.cold > 0 && r.counts.warm > 0 && r.counts.dcapQvl > 0);
    assert.ok(Math.abs(r.ratio.cold - r.catena.cold / r.dcapQvl) <= 0.01 * r.ratio.cold);
    assert.ok(Math.abs(r.ratio.warm - r.catena.warm / r.dcapQvl) <= 0.01 * r.ratio.warm);
  },
);

test('bench verify: a missing vectors folder is a clear error', async () => {
  await assert.rejects(benchVerify({ vectorsDir: '/nonexistent/vectors' }), {
    code: 'ERR_BENCH_VECTORS',
    message: /\/nonexistent\/vectors/,
  });
});
