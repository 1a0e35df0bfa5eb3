import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { fromHex, hex } from '../../../src/bytes/util.ts';
import { Chain } from '../../../src/chain/chain.ts';
import type { CollateralBlob } from '../../../src/chain/types.ts';
import { attestedHttpRequest, ratlsHttpsOptions } from '../../../src/channel/attested-http.ts';
import { ChannelError } from '../../../src/channel/errors.ts';
import { MockQuoteIssuer, quotingOcalls } from '../../../src/channel/issuer.ts';
import { createMockAttestationRoot } from '../../../src/channel/mock-evidence.ts';
import { createRatlsCertificate, ratlsReportData } from '../../../src/channel/ratls-cert.ts';
import type { QuoteIssuer } from '../../../src/channel/types.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { dcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import { identityOfBody } from '../../../src/cot/element-core.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { parseReport } from '../../../src/formats/report.ts';
import { buildEnclave } from '../../../src/sgx/build.ts';
import type { EnclaveHandle } from '../../../src/sgx/enclave.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store } from '../../../src/store/types.ts';
import { buildAgent, type EvidenceResponse } from '../../../src/server/agent.ts';
import {
  AGENT_ENCLAVE_PROD_ID,
  agentPeerVerification,
  buildAgentEnclaveImage,
  launchAgentEnclave,
  renewAgentCertificate,
  type AgentTlsIdentity,
} from '../../../src/server/agent-enclave.ts';
import { callJson } from '../../../src/server/http-json.ts';
import { buildManager } from '../../../src/server/manager.ts';
import { managerTokenChecker } from '../../../src/server/manager-client.ts';
import { listenUrl } from '../../../src/server/net.ts';
import { createToken } from '../../../src/server/tokens.ts';

/*
 * Agents over RA-TLS, through real sockets on 127.0.0.1: two agents (each with its agent enclave on
 * one platform of an emulated world), a real manager checking operators' tokens, and servers with
 * bad RA-TLS certificates. Everything is closed in after().
 */

let world: EmulatedWorld;
let collateral: CollateralBlob;
const vendor = generateVendorKey();
let mrSigner: string;
let dir: string;
let store: Store;
let manager: FastifyInstance;
let managerUrl: string;
let admin: string;
let agentToken: string;
const agents: Array<{ app: FastifyInstance; url: string; id: AgentTlsIdentity }> = [];
const servers: Server[] = [];
const enclaves: EnclaveHandle[] = [];

const peers = () => agentPeerVerification({ roots: [world.root], collateral, mrSigner });

async function startAgent(name: string, platform: number, id?: AgentTlsIdentity) {
  const tls = id ?? (await launchAgentEnclave(world, platform, buildAgentEnclaveImage(vendor), name));
  const app = buildAgent({
    world,
    cloud: 'cloud-t',
    vendorKey: vendor,
    id: name,
    tls,
    peers: peers(),
    checkToken: managerTokenChecker({ url: managerUrl }),
  });
  const url = await listenUrl(app, '127.0.0.1', 0);
  const a = { app, url, id: tls };
  agents.push(a);
  return a;
}

before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  collateral = await world.collateralFor();
  mrSigner = hex(buildAgentEnclaveImage(vendor).mrSigner);
  dir = await mkdtemp(join(tmpdir(), 'catena-agent-'));
  store = await openStore(join(dir, 'm.db'));
  manager = await buildManager({ store, key: generateP256(), checkpointIntervalMs: 0, agentCheckIntervalMs: 0 });
  managerUrl = await listenUrl(manager, '127.0.0.1', 0);
  admin = (await createToken(store, 'admin')).token;
  agentToken = (await createToken(store, 'agent')).token;
  await startAgent('agent-a', 0);
  await startAgent('agent-b', 1);
});

after(async () => {
  for (const a of agents) {
    await a.app.close();
    await a.id.enclave.destroy().catch(() => {});
  }
  for (const s of servers) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
  for (const e of enclaves) await e.destroy().catch(() => {});
  await manager.close();
  await store.close();
  await world.close();
  await rm(dir, { recursive: true, force: true });
});

/** An operator's call: the agent's certificate verified, the admin token as bearer. */
const op = <T>(url: string, body?: unknown, token: string = admin) =>
  callJson<T>(url, { ...(body !== undefined ? { body } : {}), token, ratls: { verify: peers() } });

/** A bare https server presenting `creds` (to see what a verifying client does with its certificate). */
async function serveCert(creds: { keyPem: string; certPem: string }): Promise<string> {
  const s = createServer(ratlsHttpsOptions(creds), (_req, res) => res.end('{"ok":true}'));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `https://127.0.0.1:${(s.address() as { port: number }).port}`;
}

/** A host-side issuer backed by a real enclave (an attester signed as an agent enclave) and the platform's QE; `twist` alters what is signed or returned. */
async function enclaveIssuer(twist: { tamper?: boolean; otherKey?: boolean }): Promise<QuoteIssuer> {
  const src = readFileSync(new URL('../../../enclaves/attester/attester.js', import.meta.url), 'utf8');
  const img = buildEnclave(src, { isvProdId: AGENT_ENCLAVE_PROD_ID, isvSvn: 1 }, vendor);
  const p = world.platforms[0];
  const e = await p.platform.loadEnclave(img, { runtime: 'inline', ocalls: quotingOcalls(p.quoting) });
  enclaves.push(e);
  return {
    async issue(reportData) {
      const other = (await createRatlsCertificate({ issue: async () => new Uint8Array(1) })).spki;
      const rd = twist.otherKey ? ratlsReportData(other) : reportData;
      const quote = await p.quoting.quote((await e.ecall('report', p.quoting.targetInfo(), rd)) as Uint8Array);
      if (twist.tamper) quote[48 + 64] ^= 1; // a byte of MRENCLAVE in the signed report body
      return quote;
    },
  };
}

async function refusal(url: string): Promise<ChannelError> {
  const e = await attestedHttpRequest(`${url}/healthz`, { verify: peers(), timeoutMs: 10_000 }).then(
    () => assert.fail('the server was accepted'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof ChannelError, String(e));
  return e;
}

test('agent API over RA-TLS: operator calls with an admin token; local and remote links (agent to agent over RA-TLS) pass the chain checks', async () => {
  const [a, b] = agents as [(typeof agents)[0], (typeof agents)[0]];
  const chain = Chain.create({
    name: 'a',
    root: world.root,
    emulatedRoot: true,
    policy: {},
    owner: generateP256(),
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
  });
  const load = (agent: string, platform: number) => op<{ element: string }>(`${agent}/v1/elements`, { platform });
  const [p, sameP, onB] = [await load(a.url, 0), await load(a.url, 0), await load(b.url, 1)];
  await assert.rejects(load(a.url, 9), (e: { httpStatus?: number }) => e.httpStatus === 404);
  await assert.rejects(
    op(`${a.url}/v1/elements`, { platform: 0, isvProdId: AGENT_ENCLAVE_PROD_ID }),
    (e: { httpStatus?: number }) => e.httpStatus === 400,
  );

  // First link: the chain owner (here: in-process) appraises the agent's quote.
  const nonce = chain.newNonce();
  const ev = await op<EvidenceResponse>(`${a.url}/v1/elements/${p.element}/evidence`, { chain: chain.id, nonce });
  assert.ok(ev.quote && ev.collateral);
  const base = {
    version: 1 as const,
    chain: chain.id,
    parent: null,
    child: ev.element,
    type: 'remote' as const,
    nonce,
    childKey: ev.elementKey,
    childIdentity: identityOfBody(parseReport(fromHex(ev.report)).body),
    childPlatform: ev.platform,
    evidence: { kind: 'dcap-quote' as const, quote: ev.quote, collateral: Chain.collateralId(ev.collateral) },
    at: new Date().toISOString(),
  };
  const appraisal = await chain.appraiseRemote(fromHex(ev.quote), ev.collateral, new Date());
  await chain.append(chain.signAsOwner({ ...base, appraisal }), { at: new Date(), collateral: ev.collateral });

  type Admitted = { link: Parameters<Chain['append']>[0]; collateral?: CollateralBlob };
  const admit = (child: { element: string; agent?: string }, type: 'local' | 'remote') =>
    op<Admitted>(`${a.url}/v1/elements/${p.element}/admit`, {
      chain: { id: chain.id, policy: {} },
      root: hex(world.root),
      depth: 2,
      type,
      child,
    });
  const local = await admit({ element: sameP.element }, 'local');
  await chain.append(local.link, { at: new Date() });
  // The child runs on agent B: agent A fetches its quote from B over RA-TLS (both certificates verified).
  const remote = await admit({ element: onB.element, agent: b.url }, 'remote');
  assert.equal(remote.link.appraisal.tcbStatus, 'UpToDate');
  await chain.append(remote.link, { at: new Date(), collateral: remote.collateral! });
  await assert.rejects(
    admit({ element: onB.element, agent: b.url.replace('https:', 'http:') }, 'remote'),
    (e: { httpStatus?: number }) => e.httpStatus === 400,
  );
  const v = await chain.verify(new Date());
  assert.equal(v.valid, true, JSON.stringify(v.failures));
  assert.deepEqual(v.links, { local: 1, remote: 2 });
  assert.equal((await op<{ elements: number }>(`${a.url}/v1/status`)).elements, 2);
});

test('agent API: unauthenticated, unknown-token, agent-token calls are refused (401/403 problem+json); plain http gets no answer', async () => {
  const a = agents[0];
  const call = (path: string, o: { token?: string; credentials?: { keyPem: string; certPem: string } } = {}) =>
    attestedHttpRequest(`${a.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      body: JSON.stringify({ platform: 0 }),
      verify: peers(),
      ...(o.credentials ? { credentials: o.credentials } : {}),
    });
  const none = await call('/v1/elements');
  assert.equal(none.status, 401, none.body);
  assert.match(String(none.headers['content-type']), /^application\/problem\+json/);
  assert.equal(JSON.parse(none.body).code, 'ERR_UNAUTHENTICATED');
  assert.equal((await call('/v1/elements', { token: 'catena_admin_not-a-token' })).status, 401);
  const agentRole = await call('/v1/elements', { token: agentToken });
  assert.equal(agentRole.status, 403, agentRole.body);
  // An attested agent (B's certificate) may ask for evidence, not load enclaves.
  const peer = await call('/v1/elements', { credentials: agents[1].id });
  assert.equal(peer.status, 403, peer.body);
  assert.equal(JSON.parse(peer.body).code, 'ERR_FORBIDDEN');
  const evidence = await call('/v1/elements/e-none/evidence', { credentials: agents[1].id });
  assert.equal(evidence.status, 400, evidence.body); // authenticated; then the body (no chain/nonce) is malformed
  await assert.rejects(
    fetch(`${a.url.replace('https:', 'http:')}/v1/elements`, { method: 'POST', signal: AbortSignal.timeout(5000) }),
  );
  // Only /healthz is open; every route needs auth, decided on the route matched (an encoded /v1 matches /v1/elements).
  assert.equal((await attestedHttpRequest(`${a.url}/healthz`, { verify: peers() })).status, 200);
  for (const path of ['/%761/elements', '/v1/status'])
    assert.equal((await attestedHttpRequest(`${a.url}${path}`, { verify: peers() })).status, 401, path);
  // A path no route matches is 404 problem+json (nothing behind it to protect); an encoded separator is refused before routing.
  const nope = await attestedHttpRequest(`${a.url}/nope`, { verify: peers() });
  assert.equal(nope.status, 404);
  assert.equal(JSON.parse(nope.body).code, 'ERR_NOT_FOUND');
  const encoded = await attestedHttpRequest(`${a.url}/v1%2felements`, { verify: peers() });
  assert.equal(encoded.status, 400);
  assert.equal(JSON.parse(encoded.body).code, 'ERR_REQUEST_TARGET');
});

test('RA-TLS peers refused with a typed error: mock evidence, DEBUG agent enclave, wrong MRSIGNER, tampered quote, key not bound in REPORTDATA', async () => {
  // Control: the same kind of host-side issuer, unaltered, is accepted — so each refusal below is the alteration's.
  const good = await serveCert(await createRatlsCertificate(await enclaveIssuer({})));
  assert.equal((await attestedHttpRequest(`${good}/`, { verify: peers() })).status, 200);

  const mockRoot = await createMockAttestationRoot();
  const mock = await createRatlsCertificate(
    new MockQuoteIssuer(mockRoot.privateKey, {
      mrSigner: fromHex(mrSigner),
      isvProdId: AGENT_ENCLAVE_PROD_ID,
      isvSvn: 1,
    }),
  );
  assert.equal((await refusal(await serveCert(mock))).code, 'ERR_CHANNEL_EVIDENCE');

  const debug = await launchAgentEnclave(world, 0, buildAgentEnclaveImage(vendor, { debug: true }));
  enclaves.push(debug.enclave);
  const d = await refusal(await serveCert(debug));
  assert.equal(d.code, 'ERR_CHANNEL_DEBUG');
  assert.equal(d.check, 'debug');

  const stranger = await launchAgentEnclave(world, 0, buildAgentEnclaveImage(generateVendorKey()));
  enclaves.push(stranger.enclave);
  const s = await refusal(await serveCert(stranger));
  assert.equal(s.code, 'ERR_CHANNEL_IDENTITY');
  assert.match(s.message, /MRSIGNER/);

  const tampered = await refusal(await serveCert(await createRatlsCertificate(await enclaveIssuer({ tamper: true }))));
  assert.equal(tampered.code, 'ERR_CHANNEL_EVIDENCE');

  const unbound = await refusal(await serveCert(await createRatlsCertificate(await enclaveIssuer({ otherKey: true }))));
  assert.equal(unbound.code, 'ERR_CHANNEL_KEY_BINDING');
  assert.equal(unbound.check, 'reportData');

  // The same certificates as CLIENT certificates: the agent answers 403 ERR_PEER_REFUSED naming the check.
  const a = agents[0];
  for (const [creds, check] of [
    [debug, 'debug'],
    [stranger, 'identity'],
  ] as const) {
    const r = await attestedHttpRequest(`${a.url}/v1/elements/e-x/evidence`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      verify: peers(),
      credentials: creds,
    });
    assert.equal(r.status, 403, r.body);
    assert.deepEqual([JSON.parse(r.body).code, JSON.parse(r.body).check], ['ERR_PEER_REFUSED', check]);
  }

  // An agent whose enclave has the wrong MRSIGNER: agent A refuses to fetch a child's evidence from it.
  const rogue = await startAgent('agent-rogue', 1, stranger);
  const onRogue = await op<{ element: string }>(`${rogue.url}/v1/elements`, { platform: 1 }, admin).catch(
    (e: { channelCode?: string }) => e,
  );
  assert.equal((onRogue as { channelCode?: string }).channelCode, 'ERR_CHANNEL_IDENTITY'); // the operator refuses it too
  const p = await op<{ element: string }>(`${a.url}/v1/elements`, { platform: 0 });
  await assert.rejects(
    op(`${a.url}/v1/elements/${p.element}/admit`, {
      chain: { id: 'c', policy: {} },
      root: hex(world.root),
      depth: 2,
      type: 'remote',
      child: { element: 'e-x', agent: rogue.url },
    }),
    (e: { httpStatus?: number; problemCode?: string; check?: string }) =>
      e.httpStatus === 502 && e.problemCode === 'ERR_AGENT' && e.check === 'peer.identity',
  );
});

test('certificate renewal: the agent enclave makes a new key and quote; new connections see it, peers accept it both ways', async () => {
  const [a, b] = agents as [(typeof agents)[0], (typeof agents)[0]];
  const before = (await attestedHttpRequest(`${a.url}/healthz`, { verify: peers() })).peer.certificateSha256;
  const oldCert = a.id.certPem;
  await renewAgentCertificate(a.id, a.app.server as unknown as { setSecureContext(o: object): void });
  assert.notEqual(a.id.certPem, oldCert);
  const after = (await attestedHttpRequest(`${a.url}/healthz`, { verify: peers() })).peer.certificateSha256;
  assert.ok(before && after && before !== after);
  // A's renewed certificate as a client: B authenticates it (then finds the body malformed: 400, not 401/403).
  const r = await attestedHttpRequest(`${b.url}/v1/elements/e-x/evidence`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    verify: peers(),
    credentials: a.id,
  });
  assert.equal(r.status, 400, r.body);
});
