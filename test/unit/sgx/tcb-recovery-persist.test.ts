import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manufacturer } from '../../../src/sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../../src/sgx/platform.ts';

/** A recovery staged at update=early survives save/load (catena emulate pcs --data restarts), and promotes after it. */
test('save/load keeps a staged recovery and the release dates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-mfr-early-'));
  try {
    const m = await Manufacturer.create();
    m.ensureFmspc(DEFAULT_FMSPC, { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN });
    m.qeIdentity();
    m.stageTcbRecovery(undefined, { advisoryId: 'CATENA-SA-01234' });
    const list = JSON.parse(m.tcbEvaluationDataNumbers().body).tcbEvaluationDataNumbers.tcbEvalNumbers;
    await m.save(dir);

    const back = await Manufacturer.load(dir);
    assert.equal(back.tcbEvaluationDataNumber, m.tcbEvaluationDataNumber);
    assert.equal(back.earlyTcbEvaluationDataNumber, m.tcbEvaluationDataNumber + 1);
    assert.deepEqual(back.tcbLevels(DEFAULT_FMSPC, 'early'), m.tcbLevels(DEFAULT_FMSPC, 'early'));
    assert.deepEqual(back.tcbLevels(DEFAULT_FMSPC), m.tcbLevels(DEFAULT_FMSPC));
    assert.deepEqual(JSON.parse(back.tcbEvaluationDataNumbers().body).tcbEvaluationDataNumbers.tcbEvalNumbers, list);
    assert.equal(
      JSON.parse(back.qeIdentity('early').body).enclaveIdentity.tcbEvaluationDataNumber,
      m.tcbEvaluationDataNumber + 1,
    );
    back.promoteTcbRecovery();
    assert.equal(back.tcbEvaluationDataNumber, m.tcbEvaluationDataNumber + 1);
    assert.ok(back.tcbLevels(DEFAULT_FMSPC)[1].advisoryIds.includes('CATENA-SA-01234'));
    assert.throws(() => back.promoteTcbRecovery(), { code: 'ERR_MANUFACTURER_STATE' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
