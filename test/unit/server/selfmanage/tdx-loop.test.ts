import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../../src/bytes/util.ts';
import type { ChainPolicy } from '../../../../src/chain/types.ts';
import type { ChainEvent, ElementRecord } from '../../../../src/server/chain-service.ts';
import { listenUrl } from '../../../../src/server/net.ts';
import { buildPcsServer } from '../../../../src/sgx/manufacturer/pcs-server.ts';
import type { JobRow } from '../../../../src/store/index.ts';
import { emulateTdEvidence } from '../../../../src/tdx/emulate-td-evidence.ts';
import { elementId, ManagerFixture } from '../fixture.ts';

/**
 * A TDX TCB recovery through the whole self-management loop of a manager (no timer: each round is run
 * by the test). Each chain holds an SGX enclave and a TD — an element whose newest evidence is an
 * emulated TDX quote from a platform of the same manufacturer (the manager cannot admit TD elements
 * yet: the TD's quote is held as the element's re-attestation evidence, the seam the re-appraisal reads).
 * The emulated PCS stages a TDX module recovery early, then promotes it, then revokes the former TDX
 * level: the TD is at-risk, degraded, revoked, each explained in words in the event and the chain's
 * states, and each state is acted on by the chain policy's reactions; the SGX enclaves stay valid.
 */
describe('self-management loop: a TDX TCB recovery', () => {
  let f: ManagerFixture;
  let pcs: FastifyInstance;
  const events: ChainEvent[] = [];
  // Chain A holds TDs at UpToDate: notified early, quarantined once degraded.
  const policyA: ChainPolicy = {
    acceptedTcbStatuses: ['UpToDate'],
    reactions: { 'tcb-predicted-downgrade': ['notify'], 'tcb-downgrade': ['notify', 'quarantine'] },
  };
  // Chain B accepts OutOfDate and revokes what is revoked upstream.
  const policyB: ChainPolicy = { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'], reactions: { revoked: ['revoke'] } };
  const chains: Record<'a' | 'b', string> = { a: '', b: '' };
  const ids: Record<string, string> = {};

  const verify = async (chain: string) =>
    (await f.req('GET', `/v1/chains/${chain}/verify`)).json<{
      states: Record<string, { state: string; cause?: string; explanation?: string }>;
      statuses: Record<string, string>;
    }>();
  const jobs = async (): Promise<JobRow[]> => f.store.listJobs({ kind: 'reaction', limit: 100 });
  const settle = async (want: (js: JobRow[]) => boolean) => {
    for (let i = 0; i < 200; i++) {
      await f.app.jobRunner.runDue();
      if (want(await jobs())) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`reaction jobs did not settle: ${JSON.stringify((await jobs()).map((j) => [j.state, j.lastError]))}`);
  };
  const stateEvents = (element: string) =>
    events.filter((e) => e.type === 'element.state' && e.element === element) as Array<
      ChainEvent & { state: string; cause?: string; explanation?: string }
    >;

  before(async () => {
    f = await ManagerFixture.create();
    pcs = buildPcsServer({ manufacturer: f.world.manufacturer, adminToken: 'pcs-admin' });
    const pcsUrl = await listenUrl(pcs, '127.0.0.1', 0);
    await f.restart({ pcsUrl, watchIntervalMs: 0, jobPollMs: 60_000, reactionBackoff: { baseMs: 1, maxMs: 2 } });
    await f.app.ready();
    f.app.chains.events.on('event', (ev: ChainEvent) => events.push(ev));
    const ev = await emulateTdEvidence({ manufacturer: f.world.manufacturer });
    assert.ok(ev.quote);
    for (const [name, policy] of [
      ['a', policyA],
      ['b', policyB],
    ] as const) {
      const chain = await f.createChain(policy);
      const [first, second] = [await f.load(0), await f.load(1)];
      assert.equal(
        (await f.req('POST', `/v1/chains/${chain}/elements`, await f.firstLink(chain, first))).statusCode,
        201,
      );
      const l2 = await f.remoteLink(chain, elementId(first), first, second, policy, 2);
      assert.equal((await f.req('POST', `/v1/chains/${chain}/elements`, l2)).statusCode, 201);
      // The seam: the second element's newest evidence is the TD's quote.
      await f.app.chains.updateElementUnderLock(chain, elementId(second), 'test', (row) => ({
        record: {
          ...(row.record as ElementRecord),
          reattestation: { at: new Date().toISOString(), nonce: '00', verdict: 'affirmed', quote: hex(ev.quote!) },
        },
      }));
      chains[name] = chain;
      ids[`${name}.sgx`] = elementId(first);
      ids[`${name}.td`] = elementId(second);
    }
  });
  after(async () => {
    await f.close();
    await pcs.close();
  });

  test('the first rounds watch the TDX collateral of the TD and record it valid', async () => {
    await f.app.selfManager.tick();
    for (const c of Object.values(chains)) {
      const v = await verify(c);
      assert.deepEqual(
        Object.values(v.states).map((s) => s.state),
        ['valid', 'valid'],
      );
    }
    const td = (await f.store.getElement(chains.a, ids['a.td']))!.record as ElementRecord;
    assert.equal(td.health?.tcbStatus, 'UpToDate');
    assert.match(td.health?.explanation ?? '', /^TDX TCB info \d+: TDX module and TDX level UpToDate$/);
  });

  test('staged early: the TD of chain A at-risk, explained in the event, notified; the SGX enclaves and chain B untouched', async () => {
    f.world.manufacturer.stageTdxTcbRecovery('module');
    await f.app.selfManager.tick();
    assert.ok(
      events.some((e) => e.type === 'collateral.changed' && e.kind === 'tcb-info' && e.update === 'early'),
      'the early TDX TCB info is detected',
    );
    const va = await verify(chains.a);
    assert.equal(va.states[ids['a.td']].state, 'at-risk');
    assert.equal(va.states[ids['a.sgx']].state, 'valid', 'the SGX levels did not move');
    assert.match(va.states[ids['a.td']].explanation!, /TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate/);
    const ev = stateEvents(ids['a.td']).at(-1)!;
    assert.equal(ev.state, 'at-risk');
    assert.match(ev.cause!, /TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate \(UpToDate needs ISVSVN 5\)/);
    assert.match(ev.explanation!, /^under the early release: /);
    assert.deepEqual(
      Object.values((await verify(chains.b)).states).map((s) => s.state),
      ['valid', 'valid'],
      'OutOfDate is accepted by chain B',
    );
    await settle((js) => js.length === 1 && js[0].state === 'done');
    assert.equal(events.filter((e) => e.type === 'element.notify' && e.element === ids['a.td']).length, 1);
  });

  test('promoted: the TD of chain A degraded and quarantined by its reaction, the cause naming the module', async () => {
    f.world.manufacturer.promoteTcbRecovery();
    await f.app.selfManager.tick();
    const ev = stateEvents(ids['a.td']).at(-1)!;
    assert.equal(ev.state, 'degraded');
    assert.match(ev.explanation!, /TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate/);
    await settle((js) =>
      js.some((j) => (j.payload as { event: string }).event === 'tcb-downgrade' && j.state === 'done'),
    );
    const v = await verify(chains.a);
    assert.equal(v.statuses[ids['a.td']], 'quarantined');
    assert.equal(v.states[ids['a.td']].state, 'quarantined');
    assert.match(v.states[ids['a.td']].cause!, /tcb-downgrade: .*TDX module TDX_01 at ISVSVN 4 OutOfDate/);
    assert.equal(v.states[ids['a.sgx']].state, 'valid');
    assert.equal((await verify(chains.b)).states[ids['b.td']].state, 'valid', 'OutOfDate is accepted by chain B');
  });

  test('the former TDX level revoked: the TD of chain B revoked by its reaction; its SGX enclave valid', async () => {
    f.world.manufacturer.stageTdxTcbRecovery('tee-tcb-svn', { downgradeTo: 'Revoked' });
    f.world.manufacturer.promoteTcbRecovery();
    await f.app.selfManager.tick();
    const ev = stateEvents(ids['b.td']).at(-1)!;
    assert.equal(ev.state, 'revoked');
    assert.match(ev.cause!, /TEE_TCB_SVN\[2\] \(TDX Late Microcode Update\) 2 → 3/);
    await settle((js) => js.some((j) => (j.payload as { event: string }).event === 'revoked' && j.state === 'done'));
    const v = await verify(chains.b);
    assert.equal(v.statuses[ids['b.td']], 'revoked');
    assert.equal(v.states[ids['b.sgx']].state, 'valid');
  });
});
