import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../src/bytes/util.ts';
import type { CollateralBlob } from '../../../src/chain/types.ts';
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
import { listenAgentTls, type AgentTlsListener } from '../../../src/server/agent-listener.ts';
import { buildManager } from '../../../src/server/manager.ts';
import { callManager } from '../../../src/server/manager-client.ts';
import { listenUrl } from '../../../src/server/net.ts';
import { createToken } from '../../../src/server/tokens.ts';

/*
 * Agent → manager: registration by RA-TLS client authentication on the manager's agent TLS listener
 * (or by token over http, as before), and manager → agent health checks verifying the agent's
 * RA-TLS certificate. Real sockets on 127.0.0.1; everything closed in after().
 */

let world: EmulatedWorld;
let collateral: CollateralBlob;
const vendor = generateVendorKey();
let dir: string;
let store: Store;
let manager: FastifyInstance;
let managerUrl: string;
let listener: AgentTlsListener;
let admin: string;
let agentToken: string;
let good: AgentTlsIdentity;
let debug: AgentTlsIdentity;
let stranger: AgentTlsIdentity;
const apps: FastifyInstance[] = [];

before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 1 });
  collateral = await world.collateralFor();
  dir = await mkdtemp(join(tmpdir(), 'catena-agent-reg-'));
  store = await openStore(join(dir, 'm.db'));
  const mrSigner = hex(buildAgentEnclaveImage(vendor).mrSigner);
  manager = await buildManager({
    store,
    key: generateP256(),
    checkpointIntervalMs: 0,
    agentCheckIntervalMs: 0,
    agentAttestation: agentPeerVerification({ roots: [world.root], collateral, mrSigner }),
  });
  managerUrl = await listenUrl(manager, '127.0.0.1', 0);
  listener = await listenAgentTls(manager, '127.0.0.1', 0);
  admin = (await createToken(store, 'admin')).token;
  agentToken = (await createToken(store, 'agent')).token;
  good = await launchAgentEnclave(world, 0, buildAgentEnclaveImage(vendor));
  debug = await launchAgentEnclave(world, 0, buildAgentEnclaveImage(vendor, { debug: true }));
  stranger = await launchAgentEnclave(world, 0, buildAgentEnclaveImage(generateVendorKey()));
});

after(async () => {
  for (const a of apps) await a.close();
  for (const e of [good, debug, stranger]) await e?.enclave.destroy().catch(() => {});
  await listener.close();
  await manager.close();
  await store.close();
  await world.close();
  await rm(dir, { recursive: true, force: true });
});

const body = (id: string, url = 'https://127.0.0.1:1') => ({
  id,
  cloud: 'cloud-t',
  url,
  platforms: [{ index: 0, ppid: world.platforms[0].ppid }],
});
const tlsOf = (i: AgentTlsIdentity) => ({ keyPem: i.keyPem, certPem: i.certPem });
const agentsSeen = async () =>
  (await manager.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${admin}` } }))
    .json()
    .agents.map((a: { id: string }) => a.id) as string[];

test('registration: an attested agent registers on the agent TLS listener without a token; no certificate, DEBUG, wrong MRSIGNER or a wrong pin are refused', async () => {
  const link = { url: listener.url, managerCert: listener.certificate };
  const r = await callManager<{ id: string; status: string }>({ ...link, tls: tlsOf(good) }, '/v1/agents', {
    body: body('agent-ratls'),
  });
  assert.equal(r.status, 'active');

  await assert.rejects(
    callManager({ ...link }, '/v1/agents', { body: body('agent-anon') }),
    (e: { httpStatus?: number }) => e.httpStatus === 401,
  );
  for (const [who, check] of [
    [debug, 'debug'],
    [stranger, 'identity'],
  ] as const) {
    await assert.rejects(
      callManager({ ...link, tls: tlsOf(who) }, '/v1/agents', { body: body(`agent-${check}`) }),
      (e: { httpStatus?: number; check?: string; message: string }) => {
        assert.equal(e.httpStatus, 403, e.message);
        assert.equal(e.check, check);
        assert.match(e.message, /ERR_PEER_REFUSED/);
        return true;
      },
    );
  }
  // The agent pins the listener's certificate: another one is refused before the request is sent.
  const other = await listenAgentTls(manager, '127.0.0.1', 0);
  try {
    await assert.rejects(
      callManager({ url: other.url, managerCert: listener.certificate, tls: tlsOf(good) }, '/v1/agents', {
        body: body('agent-unpinned'),
      }),
      /pinned|certificate/,
    );
  } finally {
    await other.close();
  }
  // As before: a registration token over plain http.
  await callManager({ url: managerUrl, token: agentToken }, '/v1/agents', { body: body('agent-token') });
  assert.deepEqual((await agentsSeen()).sort(), ['agent-ratls', 'agent-token']);

  // whoami: what agents ask to check an operator's token.
  assert.equal(
    (await callManager<{ role: string }>({ url: managerUrl }, '/v1/auth/whoami', { token: admin })).role,
    'admin',
  );
  await assert.rejects(
    callManager({ url: managerUrl }, '/v1/auth/whoami', { token: 'catena_admin_nope' }),
    (e: { httpStatus?: number }) => e.httpStatus === 401,
  );
});

test("health checks: the manager verifies an https agent's RA-TLS certificate (a stranger's is unreachable)", async () => {
  const serve = async (id: AgentTlsIdentity, name: string) => {
    const app = buildAgent({ world, cloud: 'cloud-t', vendorKey: vendor, id: name, tls: tlsOf(id) });
    apps.push(app);
    const url = await listenUrl(app, '127.0.0.1', 0);
    // An admin registers both (an agent token speaks for one agent id only).
    await callManager({ url: managerUrl, token: admin }, '/v1/agents', { body: body(name, url) });
  };
  await serve(good, 'agent-healthy');
  await serve(stranger, 'agent-stranger');
  await manager.checkAgents();
  const status = async (id: string) =>
    (
      await manager.inject({ method: 'GET', url: `/v1/agents/${id}`, headers: { authorization: `Bearer ${admin}` } })
    ).json().status;
  assert.equal(await status('agent-healthy'), 'active');
  assert.equal(await status('agent-stranger'), 'unreachable');
});
