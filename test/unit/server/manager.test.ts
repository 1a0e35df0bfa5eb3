import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { dcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import { verifyBundle } from '../../../src/chain/verify-bundle.ts';
import type { ChainPolicy, ProofBundle } from '../../../src/chain/types.ts';
import { verifyAuditLog } from '../../../src/store/verify-audit-log.ts';
import { checkpointVerifier } from '../../../src/server/manager-key.ts';
import type { ElementHandle } from '../../../src/cot/element.ts';
import { elementId, ManagerFixture } from './fixture.ts';

const POLICY: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };

function problem(
  r: { statusCode: number; headers: Record<string, unknown>; json(): any },
  status: number,
  code: string,
): any {
  assert.equal(r.statusCode, status, `expected ${status} ${code}, got ${r.statusCode} ${JSON.stringify(r.json())}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const p = r.json();
  assert.equal(p.status, status);
  assert.equal(p.code, code);
  assert.equal(typeof p.detail, 'string');
  return p;
}

describe('manager API', () => {
  let f: ManagerFixture;
  let chainId: string;
  let e1: ElementHandle, e2: ElementHandle, e3: ElementHandle;
  before(async () => {
    f = await ManagerFixture.create({ checkpointEvery: 5 });
    chainId = await f.createChain(POLICY);
    [e1, e2, e3] = await Promise.all([f.load(0), f.load(0), f.load(1)]);
  });
  after(() => f.close());

  test('refusals are problem+json with stable codes: 401, 403, 400, 413, 404', async () => {
    problem(
      await f.req('POST', '/v1/chains', { name: 'x', root: '00', emulatedRoot: true }, null),
      401,
      'ERR_UNAUTHENTICATED',
    );
    problem(
      await f.req('POST', '/v1/chains', { name: 'x', root: '00', emulatedRoot: true }, 'catena_admin_forged'),
      401,
      'ERR_UNAUTHENTICATED',
    );
    problem(await f.req('GET', '/v1/chains', undefined, null), 401, 'ERR_UNAUTHENTICATED');
    problem(
      await f.req('POST', '/v1/chains', { name: 'x', root: '3082', emulatedRoot: true }, f.agent),
      403,
      'ERR_FORBIDDEN',
    );
    problem(await f.req('DELETE', `/v1/chains/${chainId}`, undefined, f.agent), 403, 'ERR_FORBIDDEN');
    problem(await f.req('POST', '/v1/chains', { name: 'x', emulatedRoot: true }), 400, 'ERR_MALFORMED');
    problem(await f.req('POST', '/v1/chains', { name: 'x', root: 'zz', emulatedRoot: true }), 400, 'ERR_MALFORMED');
    problem(
      await f.req('POST', '/v1/chains', { name: 'x', root: '00', emulatedRoot: true, policy: { nonsense: 1 } }),
      400,
      'ERR_MALFORMED',
    );
    problem(
      await f.app.inject({
        method: 'POST',
        url: '/v1/chains',
        headers: { authorization: `Bearer ${f.admin}`, 'content-type': 'application/json' },
        payload: '{"name":',
      }),
      400,
      'ERR_MALFORMED',
    );
    problem(
      await f.req('POST', '/v1/chains', { name: 'x', root: 'ab'.repeat(600_000), emulatedRoot: true }),
      413,
      'ERR_TOO_LARGE',
    );
    problem(await f.req('GET', '/v1/chains/no-such-chain'), 404, 'ERR_NOT_FOUND');
    problem(await f.req('GET', '/v1/nothing-here'), 404, 'ERR_NOT_FOUND');
    problem(await f.req('GET', `/v1/chains/${chainId}/elements/e-000`), 404, 'ERR_NOT_FOUND');
  });

  test('a first link must answer a challenge the manager issued', async () => {
    const { link, collateral } = await f.firstLink(chainId, e1, 'ab'.repeat(32));
    problem(await f.req('POST', `/v1/chains/${chainId}/elements`, { link, collateral }), 422, 'ERR_UNKNOWN_CHALLENGE');
  });

  test('appends first, local and remote links; the chain verifies, offline too', async () => {
    const first = await f.firstLink(chainId, e1);
    const r1 = await f.req(
      'POST',
      `/v1/chains/${chainId}/elements`,
      { ...first, agent: 'a1', cloud: 'cloud-a' },
      f.agent,
    );
    assert.equal(r1.statusCode, 201, r1.body);
    assert.equal(r1.json().element.id, elementId(e1));
    assert.equal(r1.json().link.appraisal.tcbStatus, 'UpToDate');
    // A challenge admits one first enclave: the same link again, or another enclave answering it, is refused.
    problem(await f.req('POST', `/v1/chains/${chainId}/elements`, first), 409, 'ERR_CONFLICT');
    const again = await f.firstLink(chainId, e3, first.link.nonce);
    const r1b = await f.req('POST', `/v1/chains/${chainId}/elements`, again);
    assert.equal(r1b.statusCode, 422, r1b.body);
    assert.equal(r1b.json().check, 'link-structure');

    const local = await f.localLink(chainId, elementId(e1), e1, e2, POLICY, 2);
    const r2 = await f.req('POST', `/v1/chains/${chainId}/elements`, local);
    assert.equal(r2.statusCode, 201, r2.body);
    const remote = await f.remoteLink(chainId, elementId(e1), e1, e3, POLICY, 2);
    const r3 = await f.req('POST', `/v1/chains/${chainId}/elements`, remote);
    assert.equal(r3.statusCode, 201, r3.body);
    assert.equal(r3.json().seq, 3);

    const v = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    assert.equal(v.valid, true, JSON.stringify(v.failures));
    assert.deepEqual(v.links, { local: 1, remote: 2 });
    // The proof bundle verifies offline with only the root and a time.
    const bundle = (await f.req('GET', `/v1/chains/${chainId}/proof`)).json<ProofBundle>();
    const off = await verifyBundle(bundle, {
      root: f.world.root,
      at: new Date(),
      remote: dcapRemoteVerifier(f.world.root),
    });
    assert.equal(off.valid, true);
    assert.equal(off.size, 3 + 4); // 3 enclaves, 2 platforms with their QEs
    const els = (await f.req('GET', `/v1/chains/${chainId}/elements`)).json().elements;
    assert.deepEqual(
      els.map((e: { id: string }) => e.id),
      [elementId(e1), elementId(e2), elementId(e3)],
    );
  });

  test('the manager re-verifies: altered or mis-signed links are refused and nothing is written', async () => {
    const audit0 = (await f.store.getAuditHead()).seq;
    const e4 = await f.load(0);
    const good = await f.localLink(chainId, elementId(e2), e2, e4, POLICY, 3);
    const sig = good.link.signature;
    const flipped = sig.slice(0, 10) + (sig[10] === '0' ? '1' : '0') + sig.slice(11);
    const p1 = problem(
      await f.req('POST', `/v1/chains/${chainId}/elements`, { link: { ...good.link, signature: flipped } }),
      422,
      'ERR_LINK_REFUSED',
    );
    assert.equal(p1.check, 'link-signature');
    // Claiming another parent: its key did not sign the link.
    const p2 = problem(
      await f.req('POST', `/v1/chains/${chainId}/elements`, { link: { ...good.link, parent: elementId(e1) } }),
      422,
      'ERR_LINK_REFUSED',
    );
    assert.equal(p2.check, 'link-signature');
    // Changed evidence byte inside the REPORT.
    const rep = good.link.evidence.kind === 'sgx-report' ? good.link.evidence.report : '';
    const badRep = rep.slice(0, 100) + (rep[100] === 'a' ? 'b' : 'a') + rep.slice(101);
    problem(
      await f.req('POST', `/v1/chains/${chainId}/elements`, {
        link: { ...good.link, evidence: { kind: 'sgx-report', report: badRep } },
      }),
      422,
      'ERR_LINK_REFUSED',
    );
    // A remote quote for a debug/other-root situation: a quote altered in its body.
    const e5 = await f.load(1);
    const rem = await f.remoteLink(chainId, elementId(e2), e2, e5, POLICY, 3);
    const q = rem.link.evidence.kind === 'dcap-quote' ? rem.link.evidence.quote : '';
    const badQ = q.slice(0, 200) + (q[200] === 'a' ? 'b' : 'a') + q.slice(201);
    problem(
      await f.req('POST', `/v1/chains/${chainId}/elements`, {
        ...rem,
        link: { ...rem.link, evidence: { ...rem.link.evidence, quote: badQ } },
      }),
      422,
      'ERR_LINK_REFUSED',
    );
    assert.equal((await f.store.getAuditHead()).seq, audit0, 'refused appends write no audit record');
    assert.equal((await f.store.listElements(chainId)).length, 3);
    // The genuine link is still accepted afterwards (the refusals left the chain consistent).
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, good)).statusCode, 201);
    // Replaying it: same element again.
    problem(await f.req('POST', `/v1/chains/${chainId}/elements`, good), 409, 'ERR_CONFLICT');
  });

  test('EAR JWT verifies against /.well-known/jwks.json; OpenAPI, metrics, health', async () => {
    const v = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    const jwks = (await f.req('GET', '/.well-known/jwks.json', undefined, null)).json();
    const { payload } = await jwtVerify(v.ear, createLocalJWKSet(jwks));
    const sub = (payload.submods as Record<string, any>)[`chain:${chainId}`];
    assert.equal(sub['ear.status'], 'warning', 'valid on an emulated root is a warning, never affirming');
    assert.equal(sub['catena.chain'].valid, true);
    const api = (await f.req('GET', '/openapi.json', undefined, null)).json();
    assert.ok(api.paths['/v1/chains'] && api.paths['/v1/chains/{id}/elements'] && api.paths['/v1/chains/{id}/verify']);
    // Metrics need a token (a reader's is enough) unless served on their own address.
    problem(await f.req('GET', '/metrics', undefined, null), 401, 'ERR_UNAUTHENTICATED');
    const m = await f.req('GET', '/metrics', undefined, f.reader);
    assert.equal(m.statusCode, 200, m.body);
    assert.match(m.body, /catena_element_appends_total\{result="accepted",type="local"\} 2/);
    assert.match(m.body, /catena_element_appends_total\{result="refused"/);
    assert.equal((await f.req('GET', '/healthz', undefined, null)).statusCode, 200);
    assert.deepEqual((await f.req('GET', '/readyz', undefined, null)).json(), { ready: true });
  });

  test('policy update re-evaluates the chain; revocation invalidates the subtree', async () => {
    const strict: ChainPolicy = { ...POLICY, identities: [{ mrSigner: '00'.repeat(32) }] };
    problem(await f.req('PUT', `/v1/chains/${chainId}/policy`, strict, f.agent), 403, 'ERR_FORBIDDEN');
    const r = await f.req('PUT', `/v1/chains/${chainId}/policy`, strict);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().verification.valid, false);
    assert.match(r.json().verification.failures[0].check, /identity|policy/);
    assert.equal((await f.req('PUT', `/v1/chains/${chainId}/policy`, POLICY)).json().verification.valid, true);
    const rv = await f.req('POST', `/v1/chains/${chainId}/elements/${elementId(e2)}/revoke`, {
      reason: 'key compromise',
    });
    assert.equal(rv.statusCode, 200, rv.body);
    const v = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    assert.equal(v.valid, false);
    assert.equal(v.elements[elementId(e2)].valid, false);
    assert.match(v.elements[elementId(e2)].cause, /revoked/);
    assert.equal(v.elements[elementId(e1)].valid, true);
    assert.equal(v.statuses[elementId(e2)], 'revoked');
    // A child of a revoked element is refused.
    const e6 = await f.load(0);
    const l = await f.localLink(chainId, elementId(e2), e2, e6, POLICY, 3);
    problem(await f.req('POST', `/v1/chains/${chainId}/elements`, l), 422, 'ERR_LINK_REFUSED');
  });

  test('a restarted manager reloads chains from the store (same verdicts)', async () => {
    const before = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    await f.restart();
    const after = (await f.req('GET', `/v1/chains/${chainId}/verify`)).json();
    assert.deepEqual(after.elements, before.elements);
    assert.deepEqual(after.links, before.links);
    // And it keeps accepting appends under a valid parent.
    const e7 = await f.load(1);
    const l = await f.remoteLink(chainId, elementId(e3), e3, e7, POLICY, 2 + 1);
    assert.equal((await f.req('POST', `/v1/chains/${chainId}/elements`, l)).statusCode, 201);
  });

  test('audit: paged over HTTP, signed checkpoints, verifyAuditLog passes; a tampered copy is named', async () => {
    await f.app.checkpoint();
    const records: any[] = [];
    for (let afterSeq = 0; ;) {
      const page = (await f.req('GET', `/v1/audit?afterSeq=${afterSeq}&limit=3`)).json();
      records.push(...page.records);
      if (page.next === null) break;
      afterSeq = page.next;
    }
    problem(await f.req('GET', '/v1/audit', undefined, f.agent), 403, 'ERR_FORBIDDEN');
    const cps = (await f.req('GET', '/v1/audit/checkpoints')).json().checkpoints;
    assert.ok(cps.length >= 2, 'checkpoints every 5 writes, plus the explicit one');
    const ok = verifyAuditLog(records, cps, checkpointVerifier(f.key.publicKey));
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.ok(
      records.some((r) => r.action === 'element.append') &&
        records.some((r) => r.action === 'chain.policy') &&
        records.some((r) => r.action === 'element.update'),
    );
    const tampered = records.map((r) => ({ ...r }));
    tampered[4].actor = 'mallory';
    const bad = verifyAuditLog(tampered, cps, checkpointVerifier(f.key.publicKey));
    assert.equal(bad.ok, false);
    assert.equal((bad as { firstBrokenSeq: number }).firstBrokenSeq, 5);
  });

  test('an agent that stops answering leaves its elements unreachable, not deleted; back again: active', async () => {
    const c2 = await f.createChain(POLICY);
    const reg = await f.req(
      'POST',
      '/v1/agents',
      { id: 'agent-x', cloud: 'cloud-x', url: 'https://127.0.0.1:9', platforms: [] },
      f.agent,
    );
    assert.equal(reg.statusCode, 201, reg.body);
    const e8 = await f.load(0);
    const first = await f.firstLink(c2, e8);
    assert.equal((await f.req('POST', `/v1/chains/${c2}/elements`, { ...first, agent: 'agent-x' })).statusCode, 201);
    await f.app.checkAgents();
    assert.equal((await f.req('GET', '/v1/agents/agent-x')).json().status, 'unreachable');
    const el = (await f.req('GET', `/v1/chains/${c2}/elements/${elementId(e8)}`)).json();
    assert.equal(el.status, 'unreachable');
    assert.equal((await f.req('GET', `/v1/chains/${c2}/verify`)).json().statuses[elementId(e8)], 'unreachable');
    // Re-registration (the agent came back) restores the elements.
    await f.req(
      'POST',
      '/v1/agents',
      { id: 'agent-x', cloud: 'cloud-x', url: 'https://127.0.0.1:9', platforms: [] },
      f.agent,
    );
    assert.equal((await f.req('GET', `/v1/chains/${c2}/elements/${elementId(e8)}`)).json().status, 'active');
    const del = await f.req('DELETE', `/v1/chains/${c2}`);
    assert.equal(del.statusCode, 204);
    problem(await f.req('GET', `/v1/chains/${c2}`), 404, 'ERR_NOT_FOUND');
  });

  test('server-sent events report appends', async () => {
    const url = await f.app.listen({ host: '127.0.0.1', port: 0 });
    const ac = new AbortController();
    const res = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${f.admin}` }, signal: ac.signal });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const c3 = await f.createChain(POLICY);
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes(`"chain":"${c3}"`) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    assert.match(text, /event: chain\.created/);
    assert.ok(text.includes(c3));
  });
});
