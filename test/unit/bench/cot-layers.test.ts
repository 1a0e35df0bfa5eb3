import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchCotLayers } from '../../../src/bench/cot-layers.ts';

// Shape and bookkeeping only (one round, two clouds): never speed.

test('bench cot --layers: every kind and link type measured, counts that add up, floors built from their parts', async () => {
  const r = await benchCotLayers({ clouds: 2, rounds: 1, workloadsPerTd: 1 });
  assert.deepEqual(Object.keys(r.elements).sort(), [
    'sgx-enclave/local',
    'sgx-enclave/remote',
    'td-workload/measured',
    'tdx-td/remote',
  ]);
  // Two clouds, one workload per TD, three SGX enclaves per workload: 2 TDs + the extra TD, 2 workloads, 6 enclaves.
  assert.equal(r.elements['tdx-td/remote'].n, 3);
  assert.equal(r.elements['td-workload/measured'].n, 2);
  assert.equal(r.elements['sgx-enclave/remote'].n + r.elements['sgx-enclave/local'].n, 6);
  const f = r.floor;
  for (const k of ['p256VerifyUs', 'sha256Us', 'sha384ExtendUs', 'eventLogReplayUs'] as const) assert.ok(f[k] > 0, k);
  assert.ok(f.tdEventLogEvents >= 8, 'a TD log holds its measured boot');
  for (const e of Object.values(r.elements)) {
    assert.ok(e.admitUs > 0 && e.verifyUs > 0 && e.floorUs > 0);
    // verifyOverFloor is rounded to 2 significant digits.
    assert.ok(Math.abs(e.verifyOverFloor - e.verifyUs / e.floorUs) <= 0.05 * e.verifyOverFloor + 0.01);
  }
  // A TD's link does strictly more crypto than an SGX enclave's remote link: the event-log replay.
  assert.ok(r.elements['tdx-td/remote'].floorUs > r.elements['sgx-enclave/remote'].floorUs);
  assert.ok(r.elements['sgx-enclave/remote'].floorUs > r.elements['sgx-enclave/local'].floorUs);
  const json = JSON.parse(JSON.stringify(r)) as { layers: string[] };
  assert.deepEqual(json.layers, ['tdx', 'sgx']);
});
