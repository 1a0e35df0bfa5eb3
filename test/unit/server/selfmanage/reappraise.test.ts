import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { manufacturerHolder } from '../../../../src/bench/selfmanage.ts';
import { hex } from '../../../../src/bytes/util.ts';
import type { ChainPolicy } from '../../../../src/chain/types.ts';
import { dcapRemoteVerifier } from '../../../../src/cot/dcap-remote-verifier.ts';
import type { ElementRecord } from '../../../../src/server/chain-service.ts';
import { Reappraiser, type CollateralHolder } from '../../../../src/server/selfmanage/reappraise.ts';
import { DEFAULT_FMSPC } from '../../../../src/sgx/platform.ts';
import type { ElementRow } from '../../../../src/store/types.ts';
import { elementId, ManagerFixture } from '../fixture.ts';

/**
 * Re-appraisal of stored evidence (no new quote) against the collateral the monitor holds: real quotes
 * of an emulated world, real collateral of its manufacturer after each change (a TCB recovery staged
 * early, then promoted; a platform revoked), the chain policy at each element's depth.
 */
describe('re-appraisal of stored evidence', () => {
  let f: ManagerFixture;
  let chainId: string;
  let holder: CollateralHolder & { refresh(): Promise<void> };
  const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'], evidenceMaxAgeSeconds: 3600 };
  let ids: { first: string; local: string; remote: string };
  let remotePlatform: string;
  let verifications = 0;
  let r: Reappraiser;

  before(async () => {
    f = await ManagerFixture.create();
    chainId = await f.createChain(policy);
    const [first, local, remote] = [await f.load(0), await f.load(0), await f.load(1)];
    const l1 = await f.firstLink(chainId, first);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, l1)).statusCode, 201);
    const l2 = await f.localLink(chainId, elementId(first), first, local, policy, 2);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, l2)).statusCode, 201);
    const l3 = await f.remoteLink(chainId, elementId(local), local, remote, policy, 3);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, l3)).statusCode, 201);
    ids = { first: elementId(first), local: elementId(local), remote: elementId(remote) };
    remotePlatform = remote.platformPpid;
    holder = await manufacturerHolder(f.world.manufacturer);
    const v = dcapRemoteVerifier(f.world.root);
    r = new Reappraiser(
      () => ({
        verify: (...a: Parameters<typeof v.verify>) => {
          verifications++;
          return v.verify(...a);
        },
      }),
      holder,
    );
  });
  after(() => f.close());

  const rows = () => f.store.listElements(chainId);
  const appraise = async (at = new Date(), list?: ElementRow[]) => {
    const out = await r.appraiseChain({ root: f.world.root, policy }, list ?? (await rows()), at);
    return Object.fromEntries(out.map((a) => [a.row.id, a]));
  };
  /** Records the states as the loop does, so the next round compares with them. */
  const record = async (at = new Date()) => {
    const list = await rows();
    const out = await appraise(at, list);
    for (const row of list) if (out[row.id]) (row.record as ElementRecord).health = out[row.id].health;
    return { out, list };
  };

  test('with the collateral of the day every element is valid, and the local child takes its parent platform verdict', async () => {
    const out = await appraise();
    assert.deepEqual(
      Object.values(out).map((a) => a.health.state),
      ['valid', 'valid', 'valid'],
    );
    assert.equal(out[ids.first].health.tcbStatus, 'UpToDate');
    assert.equal(out[ids.local].health.tcbStatus, 'UpToDate', 'inherited from the first enclave on platform 0');
    assert.equal(out[ids.first].changed, true, 'no state was recorded before');
  });

  test('one DCAP verification per platform evidence and release, not per element', async () => {
    verifications = 0;
    await appraise();
    assert.equal(verifications, 2, 'two platforms, standard collateral only (no early release staged)');
  });

  test('a recovery staged early makes every element at-risk with the predicted status and date; promoted, degraded', async () => {
    const { list } = await record();
    f.world.manufacturer.stageTcbRecovery(DEFAULT_FMSPC);
    await holder.refresh();
    const early = await appraise(new Date(), list);
    for (const id of Object.values(ids)) {
      const h = early[id].health;
      assert.equal(h.state, 'at-risk', id);
      assert.equal(h.event, 'tcb-predicted-downgrade');
      assert.equal(h.tcbStatus, 'UpToDate', 'still UpToDate under the standard release');
      assert.equal(h.check, 'policy-tcb-status');
      assert.equal(early[id].changed, true);
    }
    assert.equal(early[ids.first].health.predictedTcbStatus, 'OutOfDate');
    for (const row of list) (row.record as ElementRecord).health = early[row.id].health;
    f.world.manufacturer.promoteTcbRecovery();
    await holder.refresh();
    const promoted = await appraise(new Date(), list);
    for (const id of Object.values(ids)) {
      assert.equal(promoted[id].health.state, 'degraded', id);
      assert.equal(promoted[id].health.event, 'tcb-downgrade');
      assert.equal(promoted[id].health.tcbStatus, 'OutOfDate');
    }
    // The same state again is no change.
    for (const row of list) (row.record as ElementRecord).health = promoted[row.id].health;
    const again = await appraise(new Date(), list);
    assert.equal(Object.values(again).filter((a) => a.changed).length, 0);
  });

  test('a revoked platform: its element is revoked (PCK on the CRL); the others keep their state', async () => {
    const { list } = await record();
    f.world.manufacturer.revokePlatform(remotePlatform);
    await holder.refresh();
    const out = await appraise(new Date(), list);
    assert.equal(out[ids.remote].health.state, 'revoked');
    assert.equal(out[ids.remote].health.event, 'revoked');
    assert.equal(out[ids.remote].health.check, 'pck.revocation');
    assert.equal(out[ids.first].health.state, 'degraded', 'platform 0 is not revoked (still OutOfDate)');
    assert.equal(out[ids.first].changed, false);
  });

  test('collateral past nextUpdate: stale (collateral-stale); evidence older than the policy allows: stale (evidence-stale)', async () => {
    const list = await rows();
    const standard = holder.held({ teeType: 'sgx', fmspc: hex(DEFAULT_FMSPC), pckCa: 'processor' }, 'standard')!;
    const late = await appraise(new Date(standard.nextUpdate.getTime() + 1000), list);
    assert.equal(late[ids.first].health.state, 'stale');
    assert.equal(late[ids.first].health.event, 'collateral-stale');
    // Evidence age: a holder whose collateral is all good, 2 h after the links (policy: 1 h).
    const ok = await manufacturerHolderFresh();
    const aged = await new Reappraiser(() => dcapRemoteVerifier(f.world.root), ok).appraiseChain(
      { root: f.world.root, policy: { evidenceMaxAgeSeconds: 3600, acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] } },
      list,
      new Date(Date.now() + 2 * 3600_000),
    );
    const first = aged.find((a) => a.row.id === ids.first)!;
    assert.equal(first.health.state, 'stale');
    assert.equal(first.health.event, 'evidence-stale');
    assert.equal(first.health.check, 'evidence-age');
  });

  test('quarantined elements stay quarantined; revoked ones are not appraised', async () => {
    const list = (await rows()).map((x) => ({ ...x }));
    list[0].status = 'quarantined';
    list[2].status = 'revoked';
    const out = await appraise(new Date(), list);
    assert.equal(out[ids.first].health.state, 'quarantined');
    assert.equal(out[ids.remote], undefined);
  });

  /** Collateral whose window covers the next hours (the manufacturer's own, re-read now). */
  async function manufacturerHolderFresh(): Promise<CollateralHolder> {
    const h = await manufacturerHolder(f.world.manufacturer);
    return { held: (k, u) => (u === 'standard' ? h.held(k, u) : undefined), stale: () => false };
  }
});
