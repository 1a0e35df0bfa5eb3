import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pcsCollateral, verifyQuote } from '../../../src/attestation/index.ts';
import { explainTcb } from '../../../src/attestation/dcap/tcb-explanation.ts';
import { hex } from '../../../src/bytes/util.ts';
import { parseTcbInfo } from '../../../src/formats/tcb-info.ts';
import { listenUrl } from '../../../src/server/net.ts';
import { Manufacturer } from '../../../src/sgx/manufacturer/manufacturer.ts';
import { buildPcsServer } from '../../../src/sgx/manufacturer/pcs-server.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../../src/sgx/platform.ts';
import { emulateTdEvidence } from '../../../src/tdx/emulate-td-evidence.ts';

/**
 * TDX TCB recoveries on the emulated manufacturer and PCS: staged at update=early (the next
 * tcbEvaluationDataNumber; the standard release unchanged), promoted, superseded releases served by
 * number, the TDX evaluation data numbers list; Catena's verifier judges an emulated TD by them, and
 * explainTcb names the TDX module or TEE_TCB_SVN component that fell short.
 */
const current = { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN };
const FMSPC = hex(DEFAULT_FMSPC);

async function world() {
  const holder: { m?: Manufacturer } = {};
  const pcs = buildPcsServer({ manufacturer: () => holder.m });
  const url = await listenUrl(pcs, '127.0.0.1', 0);
  const m = (holder.m = await Manufacturer.create({ pcsUrl: url }));
  m.ensureFmspc(DEFAULT_FMSPC, current);
  const ev = await emulateTdEvidence({ manufacturer: m });
  const get = async (path: string) => {
    const r = await fetch(`${url}${path}`);
    assert.equal(r.status, 200, path);
    return (await r.json()) as Record<string, Record<string, unknown>>;
  };
  const tdxInfo = async (q: string) =>
    parseTcbInfo(JSON.stringify((await get(`/tdx/certification/v4/tcb?fmspc=${FMSPC}${q}`)).tcbInfo));
  const verify = async (update: 'standard' | 'early') =>
    verifyQuote(ev.quote!, {
      collateral: pcsCollateral(url, { update }),
      at: new Date(),
      trustedRoots: [m.root],
      policy: { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] },
    });
  return { pcs, url, m, ev, get, tdxInfo, verify };
}

test('a TDX module recovery: early only until promoted, then standard; the TD OutOfDate with the module named', async () => {
  const w = await world();
  try {
    const sgxBefore = w.m.tcbLevels(DEFAULT_FMSPC);
    const n = w.m.tcbEvaluationDataNumber;
    const r = w.m.stageTdxTcbRecovery('module');
    assert.equal(r.tcbEvaluationDataNumber, n + 1);
    assert.equal((await w.tdxInfo('&update=standard')).tcbEvaluationDataNumber, n, 'standard unchanged');
    const early = await w.tdxInfo('&update=early');
    assert.equal(early.tcbEvaluationDataNumber, n + 1);
    assert.deepEqual(
      early.tdxModuleIdentities![0].tcbLevels.map((l) => [l.isvSvn, l.tcbStatus]),
      [
        [5, 'UpToDate'],
        [4, 'OutOfDate'],
        [2, 'OutOfDate'],
      ],
    );
    const qe = await w.get('/tdx/certification/v4/qe/identity?update=early');
    assert.equal(qe.enclaveIdentity.tcbEvaluationDataNumber, n + 1);
    assert.equal(qe.enclaveIdentity.id, 'TD_QE');
    const numbers = (await w.get('/tdx/certification/v4/tcbevaluationdatanumbers')).tcbEvaluationDataNumbers;
    assert.equal(numbers.id, 'TDX');
    assert.deepEqual(
      (numbers.tcbEvalNumbers as Array<{ tcbEvaluationDataNumber: number }>).map((x) => x.tcbEvaluationDataNumber),
      [n + 1, n],
    );
    assert.deepEqual(w.m.tcbLevels(DEFAULT_FMSPC, 'early'), sgxBefore, 'a TDX recovery leaves the SGX levels');

    assert.equal((await w.verify('standard')).tcbStatus, 'UpToDate');
    const underEarly = await w.verify('early');
    assert.equal(underEarly.verdict, 'accepted', underEarly.error?.message);
    assert.equal(underEarly.tcbStatus, 'OutOfDate');

    const std = await w.tdxInfo('');
    const x = explainTcb({ ...current, teeTcbSvn: Uint8Array.from([4, 1, 2, ...new Array(13).fill(0)]) }, std, early);
    assert.deepEqual(x.tdxModule, {
      id: 'TDX_01',
      isvSvn: 4,
      matched: { ...x.tdxModule!.matched!, isvSvn: 4, tcbStatus: 'UpToDate' },
      upToDate: null,
    });
    assert.deepEqual(x.early?.tdxModule?.upToDate?.isvSvn, 5);
    assert.equal(x.early?.tdxModule?.matched?.tcbStatus, 'OutOfDate');
    assert.equal(x.early?.changed, true, 'the module status changes, though the TDX level does not');
    assert.equal(x.early?.tcbStatus, x.tcbStatus);

    w.m.promoteTcbRecovery();
    assert.equal((await w.tdxInfo('')).tcbEvaluationDataNumber, n + 1);
    assert.equal((await w.tdxInfo(`&tcbEvaluationDataNumber=${n}`)).tdxModuleIdentities![0].tcbLevels[0].isvSvn, 4);
    assert.equal((await w.verify('standard')).tcbStatus, 'OutOfDate');
  } finally {
    await w.pcs.close();
  }
});

test('a TEE_TCB_SVN recovery to Revoked: the late microcode SVN raised, the former level Revoked, the component named', async () => {
  const w = await world();
  try {
    w.m.stageTdxTcbRecovery('tee-tcb-svn', { downgradeTo: 'Revoked' });
    const early = await w.tdxInfo('&update=early');
    assert.deepEqual(early.tcbLevels[0].tdxComponents!.slice(0, 3), [4, 0, 3]);
    assert.deepEqual(early.tcbLevels[1].tdxComponents!.slice(0, 3), [4, 0, 2]);
    assert.equal(early.tcbLevels[1].tcbStatus, 'Revoked');
    assert.deepEqual(early.tcbLevels[0].tdxComponentNames?.[2], {
      category: 'OS/VMM',
      type: 'TDX Late Microcode Update',
    });
    const a = await w.verify('early');
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.check, 'tcb.status');
    assert.equal(a.tcbStatus, 'Revoked');
    const x = explainTcb({ ...current, teeTcbSvn: Uint8Array.from([4, 1, 2, ...new Array(13).fill(0)]) }, early);
    assert.equal(x.tcbStatus, 'Revoked');
    assert.deepEqual(x.next?.shortfalls, [
      { component: 'tdx', index: 2, category: 'OS/VMM', type: 'TDX Late Microcode Update', have: 2, need: 3 },
    ]);
  } finally {
    await w.pcs.close();
  }
});

test('a staged TDX recovery survives save and load', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-tdx-rec-'));
  try {
    const m = await Manufacturer.create();
    m.ensureFmspc(DEFAULT_FMSPC, current);
    m.stageTdxTcbRecovery('module');
    await m.save(dir);
    const again = await Manufacturer.load(dir);
    const levels = (x: Manufacturer, u: 'standard' | 'early') =>
      parseTcbInfo(x.tdxTcbInfo(DEFAULT_FMSPC, u).text).tdxModuleIdentities![0].tcbLevels.map((l) => l.isvSvn);
    assert.deepEqual(levels(again, 'early'), [5, 4, 2]);
    assert.deepEqual(levels(again, 'standard'), [4, 2]);
    again.promoteTcbRecovery();
    assert.deepEqual(levels(again, 'standard'), [5, 4, 2]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
