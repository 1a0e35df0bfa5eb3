import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainTcb } from '../../../src/attestation/dcap/tcb-explanation.ts';
import { parseTcbInfo } from '../../../src/formats/tcb-info.ts';
import { Manufacturer } from '../../../src/sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../../src/sgx/platform.ts';

/** explainTcb under standard and early TCB info of the emulated manufacturer (a staged recovery). */
const info = (body: string) => parseTcbInfo(JSON.stringify((JSON.parse(body) as { tcbInfo: unknown }).tcbInfo));

test('under early collateral: UpToDate now, OutOfDate once promoted, short of the new level by the raised components', async () => {
  const m = await Manufacturer.create();
  const tcb = { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN };
  m.ensureFmspc(DEFAULT_FMSPC, tcb);
  m.stageTcbRecovery(DEFAULT_FMSPC, { advisoryId: 'CATENA-SA-04242' });
  const early = m.tcbLevels(DEFAULT_FMSPC, 'early');
  const x = explainTcb(tcb, info(m.tcbInfo(DEFAULT_FMSPC).body), info(m.tcbInfo(DEFAULT_FMSPC, 'early').body));
  assert.equal(x.tcbStatus, 'UpToDate');
  assert.equal(x.matched?.index, 0);
  assert.equal(x.next, null);
  assert.equal(x.upToDate, null);
  assert.ok(x.early);
  assert.equal(x.early.changed, true);
  assert.equal(x.early.tcbEvaluationDataNumber, m.tcbEvaluationDataNumber + 1);
  assert.equal(x.early.tcbStatus, 'OutOfDate');
  assert.ok(x.early.advisoryIds.includes('CATENA-SA-04242'));
  assert.equal(x.early.next?.tcbStatus, 'UpToDate');
  const expected = early[0].components.flatMap((need, i) =>
    tcb.components[i] < need ? [{ component: 'sgx', index: i, have: tcb.components[i], need }] : [],
  );
  assert.ok(expected.length > 0);
  assert.deepEqual(x.early.next?.shortfalls, expected);
  assert.equal(x.early.upToDate, null, 'the UpToDate level is the next one: not repeated');
});

test('a PCESVN shortfall and a TCB below every level', async () => {
  const m = await Manufacturer.create();
  const tcb = { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN };
  m.ensureFmspc(DEFAULT_FMSPC, tcb);
  const levels = m.tcbLevels(DEFAULT_FMSPC);
  const parsed = info(m.tcbInfo(DEFAULT_FMSPC).body);
  const low = explainTcb({ components: tcb.components, pceSvn: tcb.pceSvn - 1 }, parsed);
  const m2 = levels.findIndex(
    (l) => l.pceSvn <= tcb.pceSvn - 1 && l.components.every((c, i) => c <= tcb.components[i]),
  );
  assert.equal(low.matched?.index, m2);
  assert.equal(low.tcbStatus, levels[m2].status);
  assert.ok(
    low.next!.shortfalls.some(
      (s) => s.component === 'pcesvn' && s.have === tcb.pceSvn - 1 && s.need === levels[m2 - 1].pceSvn,
    ),
  );
  assert.equal(low.upToDate?.index ?? -1, levels[m2 - 1].status === 'UpToDate' ? -1 : 0);

  const none = explainTcb({ components: new Array(16).fill(0), pceSvn: 0 }, parsed);
  assert.equal(none.matched, null);
  assert.equal(none.tcbStatus, null);
  assert.deepEqual(none.advisoryIds, []);
  assert.equal(none.next?.index, levels.length - 1, 'what reaching the lowest level takes');
  assert.equal(none.upToDate?.index, 0);
});
