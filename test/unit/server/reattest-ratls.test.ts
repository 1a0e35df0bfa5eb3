import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { hex } from '../../../src/bytes/util.ts';
import type { CollateralBlob } from '../../../src/chain/types.ts';
import { attestedHttpRequest } from '../../../src/channel/attested-http.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store } from '../../../src/store/types.ts';
import { buildAgent } from '../../../src/server/agent.ts';
import {
  agentPeerVerification,
  buildAgentEnclaveImage,
  launchAgentEnclave,
  type AgentTlsIdentity,
} from '../../../src/server/agent-enclave.ts';
import { CotDriver } from '../../../src/server/cot-driver.ts';
import { callJson } from '../../../src/server/http-json.ts';
import { buildManager } from '../../../src/server/manager.ts';
import { managerTokenChecker } from '../../../src/server/manager-client.ts';
import { managerKeyId } from '../../../src/server/manager-key.ts';
import {
  EVIDENCE_SCOPE,
  managerRequestVerifier,
  MIGRATE_SCOPE,
  signManagerRequest,
} from '../../../src/server/manager-request.ts';
import { listenUrl } from '../../../src/server/net.ts';
import { createToken } from '../../../src/server/tokens.ts';

/*
 * Re-attestation through the real path: the manager calls the agent over RA-TLS (the agent's
 * certificate judged before anything is sent) with a manager request token (a JWT for that agent),
 * the agent's element enclave makes fresh evidence, the manager appraises it. Sockets on 127.0.0.1.
 */

let world: EmulatedWorld;
let collateral: CollateralBlob;
const vendor = generateVendorKey();
const managerKey = generateP256();
let dir: string;
let store: Store;
let manager: FastifyInstance;
let managerUrl: string;
let admin: string;
let agent: { app: FastifyInstance; url: string; tls: AgentTlsIdentity };

const peers = () =>
  agentPeerVerification({ roots: [world.root], collateral, mrSigner: hex(buildAgentEnclaveImage(vendor).mrSigner) });

before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  collateral = await world.collateralFor();
  dir = await mkdtemp(join(tmpdir(), 'catena-reattest-'));
  store = await openStore(join(dir, 'm.db'));
  manager = await buildManager({
    store,
    key: managerKey,
    checkpointIntervalMs: 0,
    agentCheckIntervalMs: 0,
    agentAttestation: peers(),
  });
  managerUrl = await listenUrl(manager, '127.0.0.1', 0);
  admin = (await createToken(store, 'admin')).token;
  const tls = await launchAgentEnclave(world, 0, buildAgentEnclaveImage(vendor), 'agent-r');
  const jwks = await callJson<{ keys: [] }>(`${managerUrl}/.well-known/jwks.json`);
  const app = buildAgent({
    world,
    cloud: 'cloud-r',
    vendorKey: vendor,
    id: 'agent-r',
    tls,
    peers: peers(),
    checkToken: managerTokenChecker({ url: managerUrl }),
    checkManagerRequest: await managerRequestVerifier(jwks, 'agent-r'),
  });
  agent = { app, url: await listenUrl(app, '127.0.0.1', 0), tls };
});
after(async () => {
  await agent.app.close();
  await agent.tls.enclave.destroy().catch(() => {});
  await manager.close();
  await store.close();
  await world.close();
  await rm(dir, { recursive: true, force: true });
});

const reattest = async (chain: string, element: string) => {
  const r = await manager.inject({
    method: 'POST',
    url: `/v1/chains/${chain}/elements/${element}/reattest`,
    headers: { authorization: `Bearer ${admin}` },
  });
  return { status: r.statusCode, body: r.json() };
};

test('the manager re-attests elements on an RA-TLS agent with a request token; a mis-registered agent (other audience) refuses it', async () => {
  const register = (id: string) =>
    callJson(`${managerUrl}/v1/agents`, {
      body: { id, cloud: 'cloud-r', url: agent.url, platforms: [] },
      token: admin,
    });
  await register('agent-r');
  const driver = await CotDriver.createChain(
    managerUrl,
    admin,
    { name: 'r', root: hex(world.root), emulatedRoot: true, policy: {} },
    { ratls: { verify: peers() }, token: admin },
  );
  const [first, local, remote] = [
    await driver.load(agent.url, 0),
    await driver.load(agent.url, 0),
    await driver.load(agent.url, 1),
  ];
  await driver.appendFirst(first);
  await driver.append(first, local, 'local');
  await driver.append(local, remote, 'remote');
  for (const el of [first, local, remote]) {
    const r = await reattest(driver.chain.id, el.element);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.verdict, 'affirmed', r.body.message);
    assert.equal(r.body.collateralSource, 'agent');
  }

  // The same agent registered under another id: the manager's token names agent-x, the agent is agent-r.
  await callJson(`${managerUrl}/v1/agents`, {
    body: { id: 'agent-x', cloud: 'cloud-r', url: agent.url, platforms: [] },
    token: admin,
  });
  const rows = await store.listElements(driver.chain.id);
  const row = rows.find((x) => x.id === first.element)!;
  await store.updateElement(
    driver.chain.id,
    first.element,
    { record: { ...(row.record as object), agent: 'agent-x' } },
    { actor: 'test', at: new Date() },
  );
  manager.chains.evict(driver.chain.id);
  const wrong = await reattest(driver.chain.id, first.element);
  assert.equal(wrong.status, 502, JSON.stringify(wrong.body));
  assert.equal(wrong.body.code, 'ERR_AGENT');
  assert.match(wrong.body.detail, /401/);
});

test('a manager request token opens only the routes of its scope (evidence; migrate: load, admit, status), once, for its audience; other keys, scopes and expired tokens are refused', async () => {
  const kid = managerKeyId(managerKey.publicKey);
  const call = (path: string, token: string, body: object) =>
    attestedHttpRequest(`${agent.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      verify: peers(),
      timeoutMs: 10_000,
    });
  // Loading an enclave is not what the evidence scope allows…
  assert.equal(
    (await call('/v1/elements', await signManagerRequest(managerKey.privateKey, kid, 'agent-r'), { platform: 0 }))
      .status,
    403,
  );
  // …but the migrate scope does (a migration launches the enclave elsewhere)…
  const migrate = () => signManagerRequest(managerKey.privateKey, kid, 'agent-r', new Date(), MIGRATE_SCOPE);
  assert.equal((await call('/v1/elements', await migrate(), { platform: 0 })).status, 201);
  // …and nothing beyond a migration: no platform TCB update.
  assert.equal((await call('/v1/platforms/0/tcb-update', await migrate(), {})).status, 403);
  // Replay: a token works once (the request itself fails on the unknown element: 404, after authentication).
  const t = await signManagerRequest(managerKey.privateKey, kid, 'agent-r');
  const body = { chain: 'c', nonce: '00'.repeat(32) };
  assert.equal((await call('/v1/elements/enclave:00/evidence', t, body)).status, 404);
  assert.equal((await call('/v1/elements/enclave:00/evidence', t, body)).status, 401);

  // The verifier itself.
  const jwks = { keys: [{ ...(await exportJWK(managerKey.publicKey)), kid }] };
  const verify = await managerRequestVerifier(jwks, 'agent-r');
  assert.equal(await verify(await signManagerRequest(managerKey.privateKey, kid, 'agent-r')), EVIDENCE_SCOPE);
  assert.equal(
    await verify(await signManagerRequest(managerKey.privateKey, kid, 'agent-r', new Date(), MIGRATE_SCOPE)),
    MIGRATE_SCOPE,
  );
  assert.equal(
    await verify(await signManagerRequest(managerKey.privateKey, kid, 'agent-other')),
    false,
    'another audience',
  );
  const stranger = await generateKeyPair('ES256');
  assert.equal(
    await verify(await signManagerRequest(stranger.privateKey as never, kid, 'agent-r')),
    false,
    'another key under the same kid',
  );
  const now = Math.floor(Date.now() / 1000);
  const forge = (claims: Record<string, unknown>, exp: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer('catena-manager')
      .setAudience('agent:agent-r')
      .setIssuedAt(exp - 60)
      .setExpirationTime(exp)
      .setJti(`j${Math.random()}`)
      .sign(managerKey.privateKey);
  assert.equal(
    await verify(await forge({ scope: EVIDENCE_SCOPE }, now + 60)),
    EVIDENCE_SCOPE,
    'control: a well-formed token passes',
  );
  assert.equal(await verify(await forge({ scope: 'agent:admin' }, now + 60)), false, 'another scope');
  assert.equal(await verify(await forge({ scope: EVIDENCE_SCOPE }, now - 10)), false, 'expired');
  assert.equal(
    await verify(await forge({ scope: EVIDENCE_SCOPE }, now + 3600)),
    false,
    'lives longer than a request token may',
  );
});

test('a manager without agent attestation configured does not call https agents (ERR_AGENT, nothing written)', async () => {
  const dir2 = await mkdtemp(join(tmpdir(), 'catena-reattest2-'));
  const store2 = await openStore(join(dir2, 'm.db'));
  const m2 = await buildManager({ store: store2, key: managerKey, checkpointIntervalMs: 0, agentCheckIntervalMs: 0 });
  try {
    const url2 = await listenUrl(m2, '127.0.0.1', 0);
    const admin2 = (await createToken(store2, 'admin')).token;
    await callJson(`${url2}/v1/agents`, {
      body: { id: 'agent-r', cloud: 'cloud-r', url: agent.url, platforms: [] },
      token: admin2,
    });
    const driver = await CotDriver.createChain(
      url2,
      admin2,
      { name: 'r2', root: hex(world.root), emulatedRoot: true, policy: {} },
      { ratls: { verify: peers() }, token: admin2 },
    );
    const el = await driver.load(agent.url, 1).catch(() => undefined);
    // The agent checks the operator token with *its* manager (managerUrl), which does not know admin2.
    assert.equal(el, undefined);
    const first = await CotDriver.createChain(
      managerUrl,
      admin,
      { name: 'r3', root: hex(world.root), emulatedRoot: true, policy: {} },
      { ratls: { verify: peers() }, token: admin },
    ).then((d) => d.load(agent.url, 1));
    await store2.putAgent(
      { id: 'agent-r', cloud: 'cloud-r', url: agent.url, status: 'active', info: {}, lastSeen: new Date() },
      { actor: 't', at: new Date() },
    );
    const chain = driver.chain.id;
    // Append through m2 with evidence fetched by the operator of the agent's manager.
    const { nonce } = await callJson<{ nonce: string }>(`${url2}/v1/chains/${chain}/challenge`, {
      method: 'POST',
      body: {},
      token: admin2,
    });
    const ev = await callJson<{
      element: string;
      elementKey: string;
      report: string;
      platform: string;
      quote: string;
      collateral: CollateralBlob;
      agent: string;
    }>(`${agent.url}/v1/elements/${first.element}/evidence`, {
      body: { chain, nonce },
      token: admin,
      ratls: { verify: peers() },
    });
    const { identityOfBody } = await import('../../../src/cot/element-core.ts');
    const { parseReport } = await import('../../../src/formats/report.ts');
    const { fromHex } = await import('../../../src/bytes/util.ts');
    const link = {
      version: 1,
      chain,
      parent: null,
      child: ev.element,
      type: 'remote',
      nonce,
      childKey: ev.elementKey,
      childIdentity: identityOfBody(parseReport(fromHex(ev.report)).body),
      childPlatform: ev.platform,
      evidence: { kind: 'dcap-quote', quote: ev.quote, collateral: '' },
      appraisal: { verdict: 'accepted' },
      at: new Date().toISOString(),
      signature: '',
    };
    await callJson(`${url2}/v1/chains/${chain}/elements`, {
      body: { link, collateral: ev.collateral, agent: 'agent-r' },
      token: admin2,
    });
    const audit = (await store2.listAudit({ afterSeq: 0, limit: 1000 })).length;
    const r = await m2.inject({
      method: 'POST',
      url: `/v1/chains/${chain}/elements/${ev.element}/reattest`,
      headers: { authorization: `Bearer ${admin2}` },
    });
    assert.equal(r.statusCode, 502, r.body);
    assert.equal(r.json().code, 'ERR_AGENT');
    assert.match(r.json().detail, /agent attestation/);
    assert.equal((await store2.listAudit({ afterSeq: 0, limit: 1000 })).length, audit);
  } finally {
    await m2.close();
    await store2.close();
    await rm(dir2, { recursive: true, force: true });
  }
});
