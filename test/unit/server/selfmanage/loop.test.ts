import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../../src/bytes/util.ts';
import type { ChainPolicy } from '../../../../src/chain/types.ts';
import type { ElementHandle } from '../../../../src/cot/element.ts';
import type { ChainEvent } from '../../../../src/server/chain-service.ts';
import { listenUrl } from '../../../../src/server/net.ts';
import type { FetchEvidence } from '../../../../src/server/reattest.ts';
import { buildPcsServer } from '../../../../src/sgx/manufacturer/pcs-server.ts';
import { DEFAULT_FMSPC } from '../../../../src/sgx/platform.ts';
import { verifyAuditLog, type JobRow } from '../../../../src/store/index.ts';
import { elementId, ManagerFixture } from '../fixture.ts';

/**
 * The self-management loop in one process: a manager watching the emulated PCS of its world's
 * manufacturer (no timer: each round is run by the test), chains whose policies carry reactions, and
 * the world changed underneath — a TCB recovery staged early then promoted, a platform revoked. The
 * reactions run as durable jobs; the audit log holds every step.
 */
describe('self-management loop (monitor → analyse → plan → execute)', () => {
  let f: ManagerFixture;
  let pcs: FastifyInstance;
  const hosted = new Map<string, ElementHandle>();
  const events: ChainEvent[] = [];
  const fetchEvidence: FetchEvidence = async (_agent, element, chain, nonce) => {
    const h = hosted.get(element)!;
    const report = await h.evidence(f.world.qeTargetInfo(h), chain, nonce);
    return { quote: hex(await f.world.quote(h, report)), collateral: f.world.collateral(h) };
  };
  // Chain A: a predicted downgrade is re-attested (cannot heal: the platform keeps its TCB); a downgrade quarantines.
  const policyA: ChainPolicy = {
    acceptedTcbStatuses: ['UpToDate'],
    reactions: { 'tcb-predicted-downgrade': ['notify', 'reattest'], 'tcb-downgrade': ['notify', 'quarantine'] },
  };
  // Chain B accepts OutOfDate (a recovery does not touch it) and revokes what is revoked upstream.
  const policyB: ChainPolicy = { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'], reactions: { revoked: ['revoke'] } };
  let a: string, b: string;
  const ids: Record<string, string> = {};
  let revokedPlatform: string;

  const stateOf = async (chain: string) => {
    const v = (await f.req('GET', `/v1/chains/${chain}/verify`)).json<{
      states: Record<string, { state: string; cause?: string }>;
      statuses: Record<string, string>;
    }>();
    return v;
  };
  const jobs = async (): Promise<JobRow[]> => f.store.listJobs({ kind: 'reaction', limit: 100 });
  const settle = async (want: (js: JobRow[]) => boolean) => {
    for (let i = 0; i < 200; i++) {
      await f.app.jobRunner.runDue();
      if (want(await jobs())) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`reaction jobs did not settle: ${JSON.stringify((await jobs()).map((j) => [j.state, j.lastError]))}`);
  };

  before(async () => {
    f = await ManagerFixture.create();
    pcs = buildPcsServer({ manufacturer: f.world.manufacturer, adminToken: 'pcs-admin' });
    const pcsUrl = await listenUrl(pcs, '127.0.0.1', 0);
    await f.restart({
      pcsUrl,
      watchIntervalMs: 0,
      fetchEvidence,
      jobPollMs: 60_000,
      reactionBackoff: { baseMs: 1, maxMs: 2 },
    });
    await f.app.ready();
    f.app.chains.events.on('event', (ev: ChainEvent) => events.push(ev));
    assert.equal(
      (
        await f.req(
          'POST',
          '/v1/agents',
          { id: 'agent-s', cloud: 'c', url: 'https://127.0.0.1:9', platforms: [] },
          f.agent,
        )
      ).statusCode,
      201,
    );
    for (const [name, policy] of [
      ['a', policyA],
      ['b', policyB],
    ] as const) {
      const chain = await f.createChain(policy);
      const [first, remote] = [await f.load(0), await f.load(1)];
      const l1 = await f.firstLink(chain, first);
      assert.equal((await f.req('POST', `/v1/chains/${chain}/elements`, { ...l1, agent: 'agent-s' })).statusCode, 201);
      const l2 = await f.remoteLink(chain, elementId(first), first, remote, policy, 2);
      assert.equal((await f.req('POST', `/v1/chains/${chain}/elements`, { ...l2, agent: 'agent-s' })).statusCode, 201);
      for (const h of [first, remote]) hosted.set(elementId(h), h);
      ids[`${name}.first`] = elementId(first);
      ids[`${name}.remote`] = elementId(remote);
      revokedPlatform = remote.platformPpid;
      if (name === 'a') a = chain;
      else b = chain;
    }
  });
  after(async () => {
    await f.close();
    await pcs.close();
  });

  test('the first rounds watch the FMSPC in use and record every element valid, with the TCB status', async () => {
    await f.app.selfManager.tick();
    for (const chain of [a, b]) {
      const v = await stateOf(chain);
      assert.deepEqual(
        Object.values(v.states).map((s) => s.state),
        ['valid', 'valid'],
      );
    }
    const el = (await f.req('GET', `/v1/chains/${a}/elements/${ids['a.first']}`)).json<{
      health: { state: string; tcbStatus: string };
    }>();
    assert.deepEqual([el.health.state, el.health.tcbStatus], ['valid', 'UpToDate']);
    assert.equal((await jobs()).length, 0, 'nothing to react to');
  });

  test('a recovery staged early: detected, chain A at-risk and its reaction retried until it heals (ERR_NOT_HEALED); chain B untouched', async () => {
    f.world.manufacturer.stageTcbRecovery(DEFAULT_FMSPC);
    await f.app.selfManager.tick();
    assert.ok(events.some((e) => e.type === 'collateral.changed' && e.update === 'early' && e.kind === 'tcb-info'));
    const va = await stateOf(a);
    assert.deepEqual(
      Object.values(va.states).map((s) => s.state),
      ['at-risk', 'at-risk'],
    );
    assert.match(va.states[ids['a.first']].cause!, /early TCB release/);
    assert.deepEqual(
      Object.values((await stateOf(b)).states).map((s) => s.state),
      ['valid', 'valid'],
      'OutOfDate is accepted by chain B',
    );
    // The platform's TCB status is explained over the collateral the monitor holds, early release included.
    const why = (await f.req('GET', `/v1/platforms/${revokedPlatform}/tcb-status`)).json<{
      tcbExplanation: { tcbStatus: string; early?: { tcbStatus: string; changed: boolean } };
    }>();
    assert.equal(why.tcbExplanation.tcbStatus, 'UpToDate');
    assert.deepEqual(why.tcbExplanation.early, { ...why.tcbExplanation.early, tcbStatus: 'OutOfDate', changed: true });
    // The reaction notifies, re-attests (the platform still has its old TCB: still at-risk), and is retried.
    await settle((js) => js.length === 2 && js.every((j) => j.attempts >= 2));
    const js = await jobs();
    for (const j of js) {
      assert.equal(/^\w+ \((ERR_[A-Z_]+)\)/.exec(j.lastError!)?.[1], 'ERR_NOT_HEALED');
      assert.match(
        j.lastError!,
        /^NotHealedError \(ERR_NOT_HEALED\): re-attestation of .* gave affirmed, state at-risk/,
      );
    }
    assert.equal(
      events.filter((e) => e.type === 'element.notify').length,
      2,
      'notified once per element, not per attempt',
    );
  });

  test('promoted: chain A degraded and quarantined by its reaction; chain verification names each state and cause', async () => {
    f.world.manufacturer.promoteTcbRecovery();
    await f.app.selfManager.tick();
    await settle((js) => js.filter((j) => j.state === 'done').length >= 2);
    const v = await stateOf(a);
    assert.deepEqual(
      Object.values(v.states).map((s) => s.state),
      ['quarantined', 'quarantined'],
    );
    assert.deepEqual(Object.values(v.statuses), ['quarantined', 'quarantined']);
    assert.match(v.states[ids['a.first']].cause!, /tcb-downgrade: .*OutOfDate/);
    const done = (await jobs()).filter((j) => j.state === 'done');
    assert.ok(done.some((j) => (j.result as { outcome: string }).outcome === 'quarantined'));
  });

  test('a platform revoked upstream: chain B revokes the element on it (revoked state → revoke reaction, with the cascade)', async () => {
    f.world.manufacturer.revokePlatform(revokedPlatform);
    await f.app.selfManager.tick();
    assert.ok(events.some((e) => e.type === 'collateral.changed' && e.kind === 'pck-crl'));
    await settle((js) => js.some((j) => (j.payload as { event: string }).event === 'revoked' && j.state === 'done'));
    const v = await stateOf(b);
    assert.equal(v.statuses[ids['b.remote']], 'revoked');
    assert.equal(v.states[ids['b.first']].state, 'valid', 'platform 0 is not revoked');
  });

  test('every step is in the audit log, which still verifies', async () => {
    const records = (await f.store.listAudit({ limit: 10_000 })).filter((r) => r.subject.startsWith('job:'));
    const steps = records.map((r) => (r.detail as { name?: string }).name).filter(Boolean);
    for (const s of ['notify', 'reattest', 'quarantine', 'revoke']) assert.ok(steps.includes(s), s);
    const all = await f.store.listAudit({ limit: 10_000 });
    assert.equal(verifyAuditLog(all, [], () => true).ok, true);
  });
});
