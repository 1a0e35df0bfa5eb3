import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { hex } from '../../../src/bytes/util.ts';
import type { ElementHandle } from '../../../src/cot/element.ts';
import type { AgentEvidence, FetchEvidence } from '../../../src/server/reattest.ts';
import { elementId, ManagerFixture } from './fixture.ts';

/**
 * Re-attestation by the manager: fresh evidence from the agent hosting an element, appraised by the
 * manager. The "agent" here answers in-process from real enclaves (REPORT for the QE, quote, collateral
 * — what src/server/agent.ts does over HTTP); `tamper` lets a test play a dishonest or broken agent.
 */
describe('manager re-attestation', () => {
  let f: ManagerFixture;
  const hosted = new Map<string, ElementHandle>();
  let tamper:
    ((ev: AgentEvidence, req: { element: string; chain: string; nonce: string }) => Promise<AgentEvidence>) | undefined;
  let agentDown = false;
  const calls: string[] = [];
  const fetchEvidence: FetchEvidence = async (agent, element, chain, nonce) => {
    calls.push(`${agent.id} ${agent.url} ${element} ${nonce}`);
    if (agentDown) throw Object.assign(new Error('connect ECONNREFUSED'), {});
    const h = hosted.get(element);
    if (!h) throw new Error(`no element ${element}`);
    const report = await h.evidence(f.world.qeTargetInfo(h), chain, nonce);
    const ev: AgentEvidence = { quote: hex(await f.world.quote(h, report)), collateral: f.world.collateral(h) };
    return tamper ? tamper(ev, { element, chain, nonce }) : ev;
  };
  let chainId: string;
  let first: ElementHandle, local: ElementHandle, remote: ElementHandle, noAgent: ElementHandle;

  before(async () => {
    f = await ManagerFixture.create({
      fetchEvidence: async (...a) => {
        try {
          return await fetchEvidence(...a);
        } catch (e) {
          const { ServerError } = await import('../../../src/server/errors.ts');
          throw new ServerError('ERR_AGENT', (e as Error).message);
        }
      },
    });
    assert.equal(
      (
        await f.req(
          'POST',
          '/v1/agents',
          { id: 'agent-r', cloud: 'c', url: 'https://127.0.0.1:9', platforms: [] },
          f.agent,
        )
      ).statusCode,
      201,
    );
    chainId = await f.createChain();
    [first, local, remote, noAgent] = [await f.load(0), await f.load(0), await f.load(1), await f.load(1)];
    for (const h of [first, local, remote]) hosted.set(elementId(h), h);
    const l1 = await f.firstLink(chainId, first);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, { ...l1, agent: 'agent-r' })).statusCode, 201);
    const l2 = await f.localLink(chainId, elementId(first), first, local, {}, 2);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, { ...l2, agent: 'agent-r' })).statusCode, 201);
    const l3 = await f.remoteLink(chainId, elementId(local), local, remote, {}, 3);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, { ...l3, agent: 'agent-r' })).statusCode, 201);
    const l4 = await f.remoteLink(chainId, elementId(remote), remote, noAgent, {}, 4);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, l4)).statusCode, 201);
  });
  after(() => f.close());

  const reattest = (el: ElementHandle | string, token: string | null = f.admin) =>
    f.req(
      'POST',
      `/v1/chains/${chainId}/elements/${typeof el === 'string' ? el : elementId(el)}/reattest`,
      undefined,
      token,
    );
  const status = async (el: ElementHandle) =>
    (await f.req('GET', `/v1/chains/${chainId}/elements/${elementId(el)}`)).json().status as string;

  test('an honest agent: every hosted element (local- or remote-linked) is affirmed with a fresh nonce, audited, EAR signed', async () => {
    const auditBefore = (await f.req('GET', '/v1/audit?limit=1000')).json().records.length as number;
    const nonces = new Set<string>();
    for (const h of [first, local, remote]) {
      const r = await reattest(h);
      assert.equal(r.statusCode, 200, r.body);
      const b = r.json();
      assert.equal(b.verdict, 'affirmed', b.message);
      assert.equal(b.status, 'active');
      assert.equal(b.tcbStatus, 'UpToDate');
      assert.match(b.evidenceHash, /^[0-9a-f]{64}$/);
      nonces.add(b.nonce);
      const ear = decodeJwt(b.ear) as { submods: Record<string, { 'ear.status': string }> };
      assert.equal(ear.submods[`element:${elementId(h)}`]['ear.status'], 'warning'); // emulated root
      assert.equal(await status(h), 'active');
    }
    assert.equal(nonces.size, 3);
    const audit = (await f.req('GET', '/v1/audit?limit=1000')).json().records as Array<{ action: string }>;
    assert.equal(audit.length - auditBefore, 3, 'one audit record per re-attestation');
  });

  test('a dishonest agent: replayed evidence, another enclave, altered quote, no collateral — each refused with its check, flagged, not deleted', async () => {
    // Replay: evidence made for an earlier nonce.
    let old: AgentEvidence | undefined;
    tamper = async (ev) => (old ??= ev);
    assert.equal((await reattest(remote)).json().verdict, 'affirmed'); // records `old`
    const replay = (await reattest(remote)).json();
    assert.equal(replay.verdict, 'refused');
    assert.equal(replay.check, 'key-binding');
    assert.equal(replay.status, 'attestation-failed');
    assert.equal(await status(remote), 'attestation-failed');

    // Another enclave's valid, fresh evidence for this element: from another platform, then from the same one.
    const from = (h: ElementHandle) => async (_ev: AgentEvidence, req: { chain: string; nonce: string }) => {
      const report = await h.evidence(f.world.qeTargetInfo(h), req.chain, req.nonce);
      return { quote: hex(await f.world.quote(h, report)), collateral: f.world.collateral(h) };
    };
    tamper = from(local); // platform 0; `remote` runs on platform 1
    const other = (await reattest(remote)).json();
    assert.equal(other.verdict, 'refused');
    assert.equal(other.check, 'platform');
    tamper = from(noAgent); // platform 1, same image, another element key
    const twin = (await reattest(remote)).json();
    assert.equal(twin.verdict, 'refused');
    assert.equal(twin.check, 'key-binding');

    // One flipped bit in the quote.
    tamper = async (ev) => {
      const q = Buffer.from(ev.quote, 'hex');
      q[q.length - 100] ^= 1;
      return { ...ev, quote: q.toString('hex') };
    };
    const flipped = (await reattest(first)).json();
    assert.equal(flipped.verdict, 'refused');
    assert.equal(flipped.check, 'quote:pck.chain', 'the flipped byte is in the PCK chain');

    tamper = async (ev) => ({ quote: ev.quote });
    assert.equal((await reattest(first)).json().check, 'collateral-missing');
    tamper = async () => ({ quote: 'zz' });
    assert.equal((await reattest(first)).json().check, 'evidence-format');

    // Flagged elements stay in the chain; the chain's EAR is contraindicated while one is flagged.
    const v = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    assert.equal(v.valid, true);
    assert.equal(v.statuses[elementId(remote)], 'attestation-failed');
    const ear = decodeJwt(v.ear) as { submods: Record<string, { 'ear.status': string }> };
    assert.equal(ear.submods[`chain:${chainId}`]['ear.status'], 'contraindicated');

    // An agent coming back (re-registration) does not clear the flag; a passing re-attestation does.
    await f.req(
      'POST',
      '/v1/agents',
      { id: 'agent-r', cloud: 'c', url: 'https://127.0.0.1:9', platforms: [] },
      f.agent,
    );
    assert.equal(await status(remote), 'attestation-failed');
    tamper = undefined;
    for (const h of [first, remote]) assert.equal((await reattest(h)).json().verdict, 'affirmed');
    assert.equal(await status(remote), 'active');
    const v2 = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    assert.equal(
      (decodeJwt(v2.ear) as { submods: Record<string, { 'ear.status': string }> }).submods[`chain:${chainId}`][
        'ear.status'
      ],
      'warning',
    );
  });

  test('what is not an appraisal is an error: no agent 422, unknown 404, revoked 409, agent down 502, not admin 403/401 — nothing written', async () => {
    const r = await reattest(noAgent);
    assert.equal(r.statusCode, 422);
    assert.equal(r.json().code, 'ERR_NOT_REATTESTABLE');
    assert.equal((await reattest('enclave:00')).statusCode, 404);
    assert.equal((await reattest(first, f.agent)).statusCode, 403);
    assert.equal((await reattest(first, null)).statusCode, 401);
    const auditBefore = (await f.req('GET', '/v1/audit?limit=1000')).json().records.length as number;
    agentDown = true;
    const down = await reattest(first);
    agentDown = false;
    assert.equal(down.statusCode, 502);
    assert.equal(down.json().code, 'ERR_AGENT');
    assert.equal((await f.req('GET', '/v1/audit?limit=1000')).json().records.length, auditBefore);
    assert.equal(await status(first), 'active');
    assert.equal(
      (await f.req('POST', `/v1/chains/${chainId}/elements/${elementId(remote)}/revoke`, { reason: 'test' }))
        .statusCode,
      200,
    );
    const rev = await reattest(remote);
    assert.equal(rev.statusCode, 409);
    assert.equal(await status(remote), 'revoked');
  });

  test('reattestAll (the periodic job) appraises every active agent-hosted element and skips revoked and agent-less ones', async () => {
    calls.length = 0;
    const out = await f.app.reattestAll();
    assert.deepEqual(out, { affirmed: 2, refused: 0, failed: 0 }); // first, local (remote is revoked, noAgent has no agent)
    assert.equal(calls.length, 2);
  });

  test('a TCB recovery published after admission: the next re-attestation refuses the element (policy-tcb-status) with the new advisory', async () => {
    const { DEFAULT_FMSPC } = await import('../../../src/sgx/platform.ts');
    f.world.manufacturer.publishTcbRecovery(DEFAULT_FMSPC);
    f.world.refreshCollateral();
    await f.world.collateralFor();
    const r = (await reattest(first)).json();
    assert.equal(r.verdict, 'refused', JSON.stringify(r));
    assert.equal(r.check, 'policy-tcb-status');
    assert.equal(r.tcbStatus, 'OutOfDate');
    assert.ok(r.advisoryIds.length > 0);
    assert.equal(await status(first), 'attestation-failed');
  });

  test('a revocation that lands while the agent answers wins: 409, the element stays revoked with its revocation record', async () => {
    tamper = async (ev) => {
      const r = await f.req('POST', `/v1/chains/${chainId}/elements/${elementId(local)}/revoke`, {
        reason: 'revoked during re-attestation',
      });
      assert.equal(r.statusCode, 200, r.body);
      return ev;
    };
    const r = await reattest(local);
    tamper = undefined;
    assert.equal(r.statusCode, 409, r.body);
    const el = (await f.req('GET', `/v1/chains/${chainId}/elements/${elementId(local)}`)).json();
    assert.equal(el.status, 'revoked');
    assert.equal(el.revocation.reason, 'revoked during re-attestation');
  });
});
