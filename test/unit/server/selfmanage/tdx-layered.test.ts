/**
 * A TDX TCB recovery through the self-management loop of a manager holding a REAL mixed chain (issue 16,
 * items 1 and 2 together): TD (cloud 0) ─measured→ workload ─remote→ SGX enclave (cloud 1) ─local→ SGX
 * enclave; the SGX enclave ─remote→ TD (cloud 1) ─measured→ workload ─remote→ SGX (cloud 0) …; a second TD
 * admitted by the first. Links are appended one by one through POST /v1/chains/:id/elements, from the
 * layered world; the emulated PCS is that world's manufacturer. A TDX module recovery staged early puts
 * every TD at-risk (the module named), promoted it degrades them and the chain policy quarantines them;
 * each workload takes its TD's state (it has no evidence of its own: its trust is the TD's RTMR3); the
 * SGX enclaves, judged on their own SGX quotes, stay valid.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../../src/bytes/util.ts';
import type { ChainPolicy, Link } from '../../../../src/chain/types.ts';
import { buildLayeredChain, layeredPolicy, openLayeredWorld, workloadsOf } from '../../../../src/cot/layered-chain.ts';
import type { LayeredWorld } from '../../../../src/cot/layered-chain.ts';
import { generateVendorKey } from '../../../../src/crypto/rsa3072.ts';
import type { ChainEvent } from '../../../../src/server/chain-service.ts';
import { buildManager } from '../../../../src/server/manager.ts';
import { loadOrCreateManagerKey } from '../../../../src/server/manager-key.ts';
import { listenUrl } from '../../../../src/server/net.ts';
import { createToken } from '../../../../src/server/tokens.ts';
import { buildPcsServer } from '../../../../src/sgx/manufacturer/pcs-server.ts';
import { openStore } from '../../../../src/store/open-store.ts';
import type { JobRow, Store } from '../../../../src/store/index.ts';
import { checkResponse } from '../check-response.ts';

type States = Record<string, { state: string; cause?: string; explanation?: string }>;
type Kind = 'tdx-td' | 'td-workload' | 'sgx-enclave';

describe('self-management loop: a TDX TCB recovery on a mixed TD / workload / SGX chain', () => {
  let lw: LayeredWorld;
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let pcs: FastifyInstance;
  let token: string;
  let chain = '';
  const events: ChainEvent[] = [];
  const kindOf = new Map<string, Kind>();
  const ids = (k: Kind) => [...kindOf].filter(([, v]) => v === k).map(([id]) => id);

  const req = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
  const verify = async () =>
    (await req('GET', `/v1/chains/${chain}/verify`)).json<{
      valid: boolean;
      states: States;
      statuses: Record<string, string>;
    }>();
  const statesOf = (s: States, k: Kind) => ids(k).map((id) => s[id]?.state);
  const jobs = async (): Promise<JobRow[]> => store.listJobs({ kind: 'reaction', limit: 100 });
  const settle = async (want: (js: JobRow[]) => boolean) => {
    for (let i = 0; i < 400; i++) {
      await app.jobRunner.runDue();
      if (want(await jobs())) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`reaction jobs did not settle: ${JSON.stringify((await jobs()).map((j) => [j.state, j.lastError]))}`);
  };
  // The emulated PCS's admin API, as an operator (or `catena emulate pcs recover`) drives it.
  const recover = async (stage: 'early' | 'standard') => {
    const r = await pcs.inject({
      method: 'POST',
      url: '/admin/v1/tcb-recovery',
      headers: { authorization: 'Bearer pcs-admin', 'content-type': 'application/json' },
      payload: JSON.stringify({ stage, tee: 'tdx', tdxComponent: 'module' }),
    });
    assert.equal(r.statusCode, 200, r.body);
  };
  const event = (j: JobRow) => (j.payload as { event: string; element: string }).event;

  before(async () => {
    lw = await openLayeredWorld(2);
    dir = await mkdtemp(join(tmpdir(), 'catena-tdx-layered-'));
    store = await openStore(join(dir, 'm.db'));
    // The PCS of the layered world's own manufacturer: TDX and SGX collateral of every platform in the chain.
    pcs = buildPcsServer({ manufacturer: lw.world.manufacturer, adminToken: 'pcs-admin' });
    const pcsUrl = await listenUrl(pcs, '127.0.0.1', 0);
    app = await buildManager({
      store,
      key: await loadOrCreateManagerKey(join(dir, 'key.pem')),
      checkpointIntervalMs: 0,
      agentCheckIntervalMs: 0,
      checkResponse,
      pcsUrl,
      watchIntervalMs: 0,
      jobPollMs: 60_000,
      reactionBackoff: { baseMs: 1, maxMs: 2 },
    });
    await app.ready();
    app.chains.events.on('event', (ev: ChainEvent) => events.push(ev));
    token = (await createToken(store, 'admin', 'test')).token;

    const vendor = generateVendorKey();
    // TDs (and SGX enclaves) at UpToDate only; notified early, quarantined once degraded.
    const withReactions = (p: ChainPolicy): ChainPolicy => ({
      ...p,
      acceptedTcbStatuses: ['UpToDate'],
      reactions: { 'tcb-predicted-downgrade': ['notify'], 'tcb-downgrade': ['notify', 'quarantine'] },
    });
    const policy = withReactions(
      layeredPolicy(hex(lw.world.elementImage(vendor).mrSigner), [...workloadsOf(0, 1), ...workloadsOf(1, 1)]),
    );
    const created = await req('POST', '/v1/chains', {
      name: 'mixed',
      root: hex(lw.world.root),
      emulatedRoot: true,
      policy,
    });
    assert.equal(created.statusCode, 201, created.body);
    chain = created.json<{ id: string }>().id;
    const { nonce } = (await req('POST', `/v1/chains/${chain}/challenge`)).json<{ nonce: string }>();
    const { builder } = await buildLayeredChain(lw, {
      vendor,
      chainId: chain,
      firstNonce: nonce,
      policy: withReactions,
      onCommit: async (link: Link, collateral, cloud) => {
        const r = await req('POST', `/v1/chains/${chain}/elements`, {
          link,
          ...(collateral ? { collateral } : {}),
          cloud,
        });
        assert.equal(r.statusCode, 201, r.body);
        kindOf.set(link.child, 'kind' in link.childIdentity ? link.childIdentity.kind : 'sgx-enclave');
      },
    });
    await builder.destroyAll();
    assert.deepEqual(
      [ids('tdx-td').length, ids('td-workload').length, ids('sgx-enclave').length],
      [3, 2, 4],
      'the mixed chain holds 3 TDs, 2 workloads and 4 SGX enclaves',
    );
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await pcs?.close();
    await lw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the first round watches the TDX and SGX collateral of the chain and records every element valid', async () => {
    await app.selfManager.tick();
    const v = await verify();
    assert.equal(v.valid, true);
    for (const k of ['tdx-td', 'td-workload', 'sgx-enclave'] as const)
      assert.deepEqual(new Set(statesOf(v.states, k)), new Set(['valid']), k);
    for (const td of ids('tdx-td'))
      assert.match(
        v.states[td].explanation ?? '',
        /^TDX TCB info \d+: TDX module and TDX level UpToDate$/,
        'a TD is appraised on its own TDX quote',
      );
  });

  test('a TDX module recovery staged early: every TD at-risk naming the module, its workloads with it, the SGX enclaves valid', async () => {
    await recover('early');
    await app.selfManager.tick();
    const v = await verify();
    assert.deepEqual(statesOf(v.states, 'tdx-td'), ['at-risk', 'at-risk', 'at-risk']);
    for (const td of ids('tdx-td')) {
      assert.match(
        v.states[td].explanation!,
        /^under the early release: .*TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate/,
      );
      assert.match(v.states[td].cause!, /UpToDate needs ISVSVN 5/);
    }
    assert.deepEqual(statesOf(v.states, 'td-workload'), ['at-risk', 'at-risk'], 'a workload follows its TD');
    assert.deepEqual(new Set(statesOf(v.states, 'sgx-enclave')), new Set(['valid']), 'the SGX levels did not move');
    await settle((js) => js.length === 5 && js.every((j) => j.state === 'done'));
    const notified = new Set(events.filter((e) => e.type === 'element.notify').map((e) => e.element));
    assert.deepEqual([...notified].sort(), [...ids('tdx-td'), ...ids('td-workload')].sort());
  });

  test('promoted: TDs and their workloads degraded and quarantined by the policy, the SGX enclaves valid', async () => {
    await recover('standard');
    await app.selfManager.tick();
    const degraded = events.filter(
      (e) => e.type === 'element.state' && (e as { state?: string }).state === 'degraded',
    ) as Array<ChainEvent & { element: string; explanation?: string }>;
    assert.deepEqual(
      [...new Set(degraded.map((e) => e.element))].sort(),
      [...ids('tdx-td'), ...ids('td-workload')].sort(),
    );
    for (const e of degraded.filter((x) => kindOf.get(x.element) === 'tdx-td'))
      assert.match(e.explanation!, /TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate/);
    await settle((js) => js.filter((j) => event(j) === 'tcb-downgrade' && j.state === 'done').length === 5);
    const v = await verify();
    for (const id of [...ids('tdx-td'), ...ids('td-workload')]) {
      assert.equal(v.statuses[id], 'quarantined', id);
      assert.match(v.states[id].cause!, /^tcb-downgrade: .*TDX module TDX_01 at ISVSVN 4 OutOfDate/);
    }
    assert.deepEqual(new Set(statesOf(v.states, 'sgx-enclave')), new Set(['valid']));
    for (const id of ids('sgx-enclave')) assert.equal(v.statuses[id], undefined, `${id} stays active`);
  });
});
