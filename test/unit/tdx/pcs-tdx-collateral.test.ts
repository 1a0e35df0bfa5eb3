import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicy, pcsCollateral, verifyQuote } from '../../../src/attestation/index.ts';
import { listenUrl } from '../../../src/server/net.ts';
import { Manufacturer } from '../../../src/sgx/manufacturer/manufacturer.ts';
import { buildPcsServer } from '../../../src/sgx/manufacturer/pcs-server.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../../src/sgx/platform.ts';
import { emulateTdEvidence } from '../../../src/tdx/emulate-td-evidence.ts';

/**
 * The emulated PCS serves TDX collateral (/tdx/certification/v4/tcb and /qe/identity): Catena's PCS
 * client fetches it for a TD quote (tee_type 0x81 → the /tdx/ paths) and the emulated TD is accepted.
 */
test('the emulated PCS serves TDX TCB info (id TDX) and the TD_QE identity; a TD quote verifies against it', async () => {
  const holder: { m?: Manufacturer } = {};
  const pcs = buildPcsServer({ manufacturer: () => holder.m });
  try {
    const url = await listenUrl(pcs, '127.0.0.1', 0);
    const m = (holder.m = await Manufacturer.create({ pcsUrl: url }));
    m.ensureFmspc(DEFAULT_FMSPC, { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN });
    const tcb = await fetch(`${url}/tdx/certification/v4/tcb?fmspc=${Buffer.from(DEFAULT_FMSPC).toString('hex')}`);
    assert.equal(tcb.status, 200);
    assert.ok(tcb.headers.get('tcb-info-issuer-chain'));
    const info = ((await tcb.json()) as { tcbInfo: Record<string, unknown> }).tcbInfo;
    assert.equal(info.id, 'TDX');
    assert.equal(info.version, 3);
    assert.deepEqual(
      (info.tdxModuleIdentities as Array<{ id: string }>).map((x) => x.id),
      ['TDX_01'],
    );
    const levels = info.tcbLevels as Array<{ tcb: { tdxtcbcomponents: unknown[] } }>;
    assert.equal(levels[0].tcb.tdxtcbcomponents.length, 16);
    const qe = await fetch(`${url}/tdx/certification/v4/qe/identity`);
    assert.equal(qe.status, 200);
    const id = ((await qe.json()) as { enclaveIdentity: { id: string; isvprodid: number } }).enclaveIdentity;
    assert.equal(id.id, 'TD_QE');
    assert.equal(id.isvprodid, 2);
    const missing = await fetch(`${url}/tdx/certification/v4/tcb?fmspc=001122334455`);
    assert.equal(missing.status, 404);

    const ev = await emulateTdEvidence({ manufacturer: m });
    const a = await verifyQuote(ev.quote!, {
      collateral: pcsCollateral(url),
      at: new Date(),
      trustedRoots: [m.root],
      policy: parsePolicy(ev.policy),
      eventLog: ev.eventLog,
    });
    assert.equal(a.verdict, 'accepted', a.error?.message);
    assert.equal(a.tcbStatus, 'UpToDate');
    assert.equal(a.collateral?.tcbInfo?.id, 'TDX');
    assert.equal(a.collateral?.qeIdentity?.id, 'TD_QE');
  } finally {
    await pcs.close();
  }
});
