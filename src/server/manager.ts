import type { KeyObject } from 'node:crypto';
import { signManagerRequest } from './manager-request.ts';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { exportJWK, SignJWT } from 'jose';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { fromHex, hex } from '../bytes/util.ts';
import type { ChainPolicy, ChainVerification } from '../chain/types.ts';
import { EAR_PROFILE } from '../attestation/ear.ts';
import { p256Sign, type P256KeyPair } from '../crypto/ecdsa.ts';
import { dcapRemoteVerifier } from '../cot/dcap-remote-verifier.ts';
import { checkpointSigningBytes } from '../store/audit-hash.ts';
import { StoreError } from '../store/errors.ts';
import { SqlStore } from '../store/sql-store.ts';
import { SqliteDriver } from '../store/sqlite-driver.ts';
import type { AgentRow, ChainRow, ElementRow, Store, TokenRole } from '../store/types.ts';
import { ChainService, storeToServerError, type ChainEvent, type ElementRecord, type StoredAnchor, type StoredPolicy } from './chain-service.ts';
import { problem, ServerError } from './errors.ts';
import { managerKeyId } from './manager-key.ts';
import { PcsCollateralProvider } from './pcs-collateral.ts';
import { VerifierPool } from './verifier-pool.ts';
import * as S from './schemas.ts';
import { tokenHash } from './tokens.ts';
import { callJson, upstreamError } from './http-json.ts';
import { reattestElement, type AgentEvidence, type FetchEvidence } from './reattest.ts';
import type { RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import { attestedHttpRequest, attestedPeerOf } from '../channel/attested-http.ts';
import { ChannelError } from '../channel/errors.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import { httpsLiveness } from './agent-health.ts';

export interface ManagerOptions {
  store: Store;
  /** The manager key: owner of the chains it creates, signer of checkpoints and EAR results. */
  key: P256KeyPair;
  clock?: () => Date;
  /** Request body limit in bytes (default 1 MiB): larger bodies get 413. */
  bodyLimit?: number;
  /** Several managers share the store (PostgreSQL). */
  sharedStore?: boolean;
  /** Sign an audit checkpoint when this many records were written since the last one (default 100)… */
  checkpointEvery?: number;
  /** …or this often when anything was written (ms, default 10 s; 0 disables the timer). */
  checkpointIntervalMs?: number;
  /** How often agents are health-checked (ms, default 5 s; 0 disables). */
  agentCheckIntervalMs?: number;
  /** Timeout of one agent health check (ms, default 2 s). */
  agentCheckTimeoutMs?: number;
  /** Remote evidence verifier per root (default: Catena's DCAP verifier, one warm instance per root). */
  remoteVerifier?: (root: Uint8Array) => RemoteEvidenceVerifier;
  /**
   * Worker threads verifying quotes for the default verifier (default 0: in the event loop's thread).
   * With threads, the DCAP verifications of concurrent appends run on other cores (VerifierPool);
   * ignored when `remoteVerifier` is given.
   */
  verifierThreads?: number;
  /**
   * A PCS/PCCS base URL (Intel PCS API v4, e.g. the emulated `catena emulate pcs`): remote appends are
   * checked with collateral the manager fetches from it (one cache, kept until nextUpdate) and that is
   * what the chain stores; a client-supplied collateral becomes optional (docs/api.md, "Collateral").
   */
  pcsUrl?: string;
  /** How the manager asks an agent for an element's fresh evidence (re-attestation); default: HTTP JSON to the agent's registered URL. */
  fetchEvidence?: FetchEvidence;
  /** Re-attest every active element hosted by an agent this often (ms; default 0: only on request). */
  reattestIntervalMs?: number;
  /**
   * Agents authenticated by RA-TLS: how their certificates are judged (DCAP validator with the
   * explicitly trusted root and collateral, and the agent enclave identity policy). Used for client
   * certificates on the agent TLS listener (listenAgentTls) — a verified agent gets the agent role
   * without a token — and for health checks of https agents. Without it, https agents are
   * health-checked for liveness only.
   */
  agentAttestation?: PeerVerification;
  logger?: boolean;
}



interface Principal {
  id: string;
  role: TokenRole;
}
declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    chains: ChainService;
    checkpoint(): Promise<void>;
    checkAgents(): Promise<void>;
    reattestAll(): Promise<{ affirmed: number; refused: number; failed: number }>;
    metricsRegistry: Registry;
  }
}

const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/.well-known/jwks.json', '/docs']);

function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, check?: string): FastifyReply {
  return reply.code(status).type('application/problem+json').send(JSON.stringify(problem(status, code, detail, check)));
}

function chainView(row: ChainRow) {
  const a = row.anchor as StoredAnchor;
  const p = row.policy as StoredPolicy;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    rootSha256: a.header.rootSha256,
    emulatedRoot: a.header.emulatedRoot,
    ownerKey: a.header.ownerKey,
    policy: p.policy,
  };
}

function elementView(row: ElementRow) {
  const r = row.record as ElementRecord;
  return {
    id: row.id,
    seq: row.seq,
    parent: row.parentId,
    status: row.status,
    element: r.element,
    linkType: r.link.type,
    link: r.link,
    ...(r.agent ? { agent: r.agent } : {}),
    ...(r.revocation ? { revocation: r.revocation } : {}),
    evidenceHashes: row.evidenceHashes,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function agentView(a: AgentRow) {
  return { id: a.id, cloud: a.cloud, url: a.url, status: a.status, info: a.info, lastSeen: a.lastSeen.toISOString(), registeredAt: a.registeredAt.toISOString() };
}

/**
 * The CoT manager: a fastify app (not listening — call `app.listen`, or `app.inject` in tests).
 * REST under /v1, problem+json errors with stable codes, bearer-token auth, OpenAPI, Prometheus
 * metrics, server-sent events, EAR JWT results. docs/api.md.
 */
export async function buildManager(opts: ManagerOptions): Promise<FastifyInstance> {
  const clock = opts.clock ?? (() => new Date());
  const store = opts.store;
  const kid = managerKeyId(opts.key.publicKey);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  // ---- metrics ----
  const registry = new Registry();
  app.decorate('metricsRegistry', registry);
  const collateralFetches = new Counter({ name: 'catena_collateral_fetches_total', help: 'collateral sets fetched from the PCS (cache misses)', registers: [registry] });
  const collateralHits = new Counter({ name: 'catena_collateral_cache_hits_total', help: 'remote appends served PCS collateral from the cache', registers: [registry] });
  const pcs = opts.pcsUrl ? new PcsCollateralProvider(opts.pcsUrl, { fetched: () => collateralFetches.inc(), hit: () => collateralHits.inc() }) : undefined;

  const pools = new Map<string, VerifierPool>();
  const threads = opts.remoteVerifier ? 0 : Math.max(0, Math.trunc(opts.verifierThreads ?? 0));
  const pooled = (root: Uint8Array): RemoteEvidenceVerifier => {
    const k = hex(root);
    let p = pools.get(k);
    if (!p) pools.set(k, (p = new VerifierPool(root, threads, dcapRemoteVerifier(root))));
    return p;
  };
  const chains = new ChainService({
    store,
    key: opts.key,
    remoteVerifier: opts.remoteVerifier ?? (threads > 0 ? pooled : dcapRemoteVerifier),
    clock,
    sharedStore: opts.sharedStore ?? false,
    ...(pcs ? { collateralFor: (quote: Uint8Array, at: Date) => pcs.blobFor(quote, at) } : {}),
  });
  app.decorate('chains', chains);
  const httpRequests = new Counter({ name: 'catena_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const httpDuration = new Histogram({
    name: 'catena_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const appends = new Counter({ name: 'catena_element_appends_total', help: 'element appends by result', labelNames: ['result', 'type'], registers: [registry] });
  const agentsGauge = new Gauge({ name: 'catena_agents', help: 'registered agents by status', labelNames: ['status'], registers: [registry] });
  const sseClients = new Gauge({ name: 'catena_sse_clients', help: 'open /v1/events streams', registers: [registry] });
  const sqlite = store instanceof SqlStore && store.driver instanceof SqliteDriver ? store.driver : undefined;
  if (sqlite) {
    // Group commit at work: transactions / commits is the mean batch size.
    new Gauge({ name: 'catena_store_write_transactions', help: 'SQLite write transactions committed since start', registers: [registry], collect() { this.set(sqlite.stats().transactions); } });
    new Gauge({ name: 'catena_store_commits', help: 'SQLite COMMITs (each followed by one WAL fsync) since start', registers: [registry], collect() { this.set(sqlite.stats().commits); } });
  }
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  // ---- errors ----
  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = storeToServerError(err);
    if (e instanceof ServerError) return sendProblem(reply, e.status, e.code, e.message, e.check);
    const fe = e as { code?: string; statusCode?: number; validation?: unknown; message?: string };
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, 413, 'ERR_TOO_LARGE', fe.message ?? 'body too large');
    if (fe.validation || (fe.statusCode === 400) || fe.code?.startsWith('FST_ERR_CTP')) return sendProblem(reply, 400, 'ERR_MALFORMED', fe.message ?? 'malformed request');
    if (fe.statusCode === 415) return sendProblem(reply, 415, 'ERR_MALFORMED', fe.message ?? 'unsupported media type');
    if (e instanceof StoreError) return sendProblem(reply, 503, 'ERR_UNAVAILABLE', e.message);
    app.log.error(e);
    return sendProblem(reply, 500, 'ERR_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, 'ERR_NOT_FOUND', `no such resource: ${req.method} ${req.url.split('?')[0]}`));

  // ---- auth ----
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    if (OPEN_ROUTES.has(path) || !path.startsWith('/v1/')) return;
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) {
      // No token: an agent on the agent TLS listener may authenticate with its RA-TLS certificate.
      const peer = opts.agentAttestation
        ? await attestedPeerOf(req.raw.socket, opts.agentAttestation).catch((e: unknown) => {
            if (e instanceof ChannelError) throw new ServerError('ERR_PEER_REFUSED', `agent certificate refused: ${e.code}: ${e.message}`, e.check);
            throw e;
          })
        : null;
      if (peer) {
        req.principal = { id: `ratls:${peer.certificateSha256?.slice(0, 16) ?? 'agent'}`, role: 'agent' };
        return;
      }
      throw new ServerError('ERR_UNAUTHENTICATED', 'a bearer token is required (Authorization: Bearer …)');
    }
    const row = await store.findTokenByHash(tokenHash(m[1]!));
    if (!row) throw new ServerError('ERR_UNAUTHENTICATED', 'unknown or revoked token');
    req.principal = { id: row.id, role: row.role };
  });
  const need = (req: FastifyRequest, ...roles: TokenRole[]): Principal => {
    const p = req.principal;
    if (!p) throw new ServerError('ERR_UNAUTHENTICATED', 'a bearer token is required');
    if (!roles.includes(p.role)) throw new ServerError('ERR_FORBIDDEN', `this call needs the ${roles.join(' or ')} role; the token is ${p.role}`);
    return p;
  };

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Catena CoT manager', version: '1.0.0', description: 'Chains of trust between SGX enclaves across clouds (docs/api.md)' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  // ---- open routes ----
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      const head = await store.getAuditHead();
      return { ready: true, auditSeq: head.seq };
    } catch (e) {
      return sendProblem(reply, 503, 'ERR_UNAVAILABLE', `store not ready: ${(e as Error).message}`);
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const agents = await store.listAgents();
    agentsGauge.reset();
    for (const a of agents) agentsGauge.inc({ status: a.status });
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html')
      .send(
        '<!doctype html><meta charset=utf-8><title>Catena manager API</title><h1>Catena manager API</h1><p>OpenAPI document: <a href="/openapi.json">/openapi.json</a>. Reference: docs/api.md.</p>',
      ),
  );
  const jwk = { ...(await exportJWK(opts.key.publicKey)), kid, alg: 'ES256', use: 'sig' };
  app.get('/.well-known/jwks.json', { schema: { hide: true } }, async () => ({ keys: [jwk] }));

  // ---- chains ----
  app.post('/v1/chains', { schema: { tags: ['chains'], body: S.CreateChainSchema } }, async (req, reply) => {
    const p = need(req, 'admin');
    const b = req.body as S.CreateChainBody;
    let root: Uint8Array;
    try {
      root = fromHex(b.root);
      if (root.length < 100) throw new Error('too short');
    } catch (e) {
      throw new ServerError('ERR_MALFORMED', `root: not a DER certificate in hex (${(e as Error).message})`);
    }
    const row = await chains.create({ name: b.name, root, emulatedRoot: b.emulatedRoot, policy: (b.policy ?? {}) as ChainPolicy }, p.id);
    return reply.code(201).header('location', `/v1/chains/${row.id}`).send(chainView(row));
  });
  app.get('/v1/chains', { schema: { tags: ['chains'], querystring: S.PageQuery } }, async (req) => {
    const q = req.query as { after?: string; limit?: string };
    const limit = q.limit ? Number(q.limit) : 100;
    const rows = await store.listChains({ limit, ...(q.after ? { after: q.after } : {}) });
    return { chains: rows.map(chainView), next: rows.length === limit ? rows[rows.length - 1]!.id : null };
  });
  app.get('/v1/chains/:id', { schema: { tags: ['chains'], params: S.IdParams } }, async (req) => {
    const { id } = req.params as { id: string };
    const row = await chains.row(id);
    const els = await store.listElements(id);
    const counts: Record<string, number> = {};
    for (const e of els) counts[e.status] = (counts[e.status] ?? 0) + 1;
    return { ...chainView(row), elements: els.length, statuses: counts };
  });
  app.delete('/v1/chains/:id', { schema: { tags: ['chains'], params: S.IdParams } }, async (req, reply) => {
    const p = need(req, 'admin');
    await chains.delete((req.params as { id: string }).id, p.id);
    return reply.code(204).send();
  });
  app.get('/v1/chains/:id/policy', { schema: { tags: ['policies'], params: S.IdParams } }, async (req) => {
    const row = await chains.row((req.params as { id: string }).id);
    return { chain: row.id, version: row.version, policy: (row.policy as StoredPolicy).policy };
  });
  app.put('/v1/chains/:id/policy', { schema: { tags: ['policies'], params: S.IdParams, body: S.PolicySchema } }, async (req) => {
    const p = need(req, 'admin');
    const id = (req.params as { id: string }).id;
    const v = await chains.updatePolicy(id, req.body as ChainPolicy, p.id);
    return { chain: id, policy: req.body, verification: v };
  });

  // ---- elements ----
  app.post('/v1/chains/:id/challenge', { schema: { tags: ['elements'], params: S.IdParams } }, async (req, reply) => {
    need(req, 'admin', 'agent');
    return reply.code(201).send(await chains.challenge((req.params as { id: string }).id));
  });
  app.post('/v1/chains/:id/elements', { schema: { tags: ['elements'], params: S.IdParams, body: S.AppendSchema } }, async (req, reply) => {
    const p = need(req, 'admin', 'agent');
    const id = (req.params as { id: string }).id;
    const body = req.body as Parameters<ChainService['append']>[1];
    try {
      const r = await chains.append(id, body, p.id);
      appends.inc({ result: 'accepted', type: body.link.type });
      return reply.code(201).header('location', `/v1/chains/${id}/elements/${r.element.id}`).send({ element: r.element, seq: r.row.seq, status: r.row.status, link: r.link });
    } catch (e) {
      appends.inc({ result: 'refused', type: body.link.type });
      throw e;
    }
  });
  app.get('/v1/chains/:id/elements', { schema: { tags: ['elements'], params: S.IdParams } }, async (req) => {
    const id = (req.params as { id: string }).id;
    await chains.row(id);
    return { elements: (await store.listElements(id)).map(elementView) };
  });
  app.get('/v1/chains/:id/elements/:element', { schema: { tags: ['elements'], params: S.ElementParams } }, async (req) => {
    const { id, element } = req.params as { id: string; element: string };
    await chains.row(id);
    const row = await store.getElement(id, element);
    if (row) return elementView(row);
    // Platforms and QEs live in the chain model, not as element rows.
    const el = (await chains.entry(id)).chain.element(element);
    if (!el) throw new ServerError('ERR_NOT_FOUND', `no element ${element} in chain ${id}`);
    return { id: el.id, element: el, status: 'active' };
  });
  app.post('/v1/chains/:id/elements/:element/revoke', { schema: { tags: ['elements'], params: S.ElementParams, body: S.RevokeSchema } }, async (req) => {
    const p = need(req, 'admin');
    const { id, element } = req.params as { id: string; element: string };
    return { revocation: await chains.revoke(id, element, (req.body as { reason: string }).reason, p.id) };
  });
  const reattestDeps = {
    chains,
    store,
    remoteVerifier: opts.remoteVerifier ?? dcapRemoteVerifier,
    ...(pcs ? { collateralFor: (quote: Uint8Array, at: Date) => pcs.blobFor(quote, at) } : {}),
    fetchEvidence: opts.fetchEvidence ?? agentEvidenceFetcher(opts.key.privateKey, kid, opts.agentAttestation),
    clock,
  };
  const reattests = new Counter({ name: 'catena_reattestations_total', help: 're-attestations by verdict', labelNames: ['verdict'], registers: [registry] });
  async function elementEar(chainId: string, elementId: string, r: Awaited<ReturnType<typeof reattestElement>>): Promise<string> {
    return new SignJWT({
      eat_profile: EAR_PROFILE,
      'ear.verifier-id': { developer: 'catena', build: 'catena-manager/1' },
      submods: {
        [`element:${elementId}`]: {
          'ear.status': r.result.verdict === 'affirmed' ? (r.emulatedRoot ? 'warning' : 'affirming') : 'contraindicated',
          'catena.reattestation': { chain: chainId, element: elementId, ...r.result },
        },
      },
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuedAt(Math.floor(clock().getTime() / 1000))
      .setIssuer('catena-manager')
      .sign(opts.key.privateKey);
  }
  app.post('/v1/chains/:id/elements/:element/reattest', { schema: { tags: ['elements'], params: S.ElementParams } }, async (req) => {
    const p = need(req, 'admin');
    const { id, element } = req.params as { id: string; element: string };
    await chains.row(id);
    const r = await reattestElement(reattestDeps, id, element, p.id);
    reattests.inc({ verdict: r.result.verdict });
    return { chain: id, element, status: r.status, ...r.result, ear: await elementEar(id, element, r) };
  });

  // ---- verification and proof ----
  async function ear(chainId: string, v: ChainVerification, at: Date, statuses: Record<string, string>): Promise<string> {
    // An element whose re-attestation was refused contraindicates the chain even though every link verifies.
    const failed = Object.values(statuses).filter((s) => s === 'attestation-failed').length;
    return new SignJWT({
      eat_profile: EAR_PROFILE,
      'ear.verifier-id': { developer: 'catena', build: 'catena-manager/1' },
      submods: {
        [`chain:${chainId}`]: {
          'ear.status': v.valid && failed === 0 ? (v.emulatedRoot ? 'warning' : 'affirming') : 'contraindicated',
          'catena.chain': { id: chainId, valid: v.valid, size: v.size, links: v.links, failures: v.failures.length, attestationFailed: failed, emulatedRoot: v.emulatedRoot, at: at.toISOString() },
        },
      },
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuedAt(Math.floor(clock().getTime() / 1000))
      .setIssuer('catena-manager')
      .sign(opts.key.privateKey);
  }
  app.get('/v1/chains/:id/verify', { schema: { tags: ['verification'], params: S.IdParams, querystring: S.VerifyQuery } }, async (req) => {
    const id = (req.params as { id: string }).id;
    const q = req.query as { at?: string };
    const at = q.at ? new Date(q.at) : clock();
    if (Number.isNaN(at.getTime())) throw new ServerError('ERR_MALFORMED', 'at: not a date');
    await chains.row(id);
    const v = await chains.verify(id, at);
    const rows = await store.listElements(id);
    const statuses: Record<string, string> = {};
    for (const r of rows) if (r.status !== 'active') statuses[r.id] = r.status;
    return { chain: id, at: at.toISOString(), ...v, statuses, ear: await ear(id, v, at, statuses) };
  });
  app.get('/v1/chains/:id/proof', { schema: { tags: ['verification'], params: S.IdParams } }, async (req) => {
    const id = (req.params as { id: string }).id;
    await chains.row(id);
    return chains.bundle(id);
  });

  // ---- who am I (agents check operators' tokens with this) ----
  app.get('/v1/auth/whoami', { schema: { tags: ['agents'] } }, async (req) => {
    const p = need(req, 'admin', 'agent');
    return { id: p.id, role: p.role };
  });

  // ---- agents ----
  app.post('/v1/agents', { schema: { tags: ['agents'], body: S.RegisterAgentSchema } }, async (req, reply) => {
    const p = need(req, 'agent', 'admin');
    const b = req.body as { id: string; cloud: string; url: string; platforms: Array<{ index: number; ppid: string }> };
    const was = await store.getAgent(b.id);
    await store.putAgent({ id: b.id, cloud: b.cloud, url: b.url, status: 'active', info: { platforms: b.platforms }, lastSeen: clock() }, { actor: p.id, at: clock() });
    if (was && was.status === 'unreachable') await chains.markAgentElements(b.id, 'active', p.id);
    chains.events.emit('event', { type: 'agent.status', agent: b.id, status: 'active', at: clock().toISOString() } satisfies ChainEvent);
    return reply.code(was ? 200 : 201).send(agentView((await store.getAgent(b.id))!));
  });
  app.get('/v1/agents', { schema: { tags: ['agents'] } }, async () => ({ agents: (await store.listAgents()).map(agentView) }));
  app.get('/v1/agents/:id', { schema: { tags: ['agents'], params: S.IdParams } }, async (req) => {
    const a = await store.getAgent((req.params as { id: string }).id);
    if (!a) throw new ServerError('ERR_NOT_FOUND', 'no such agent');
    return agentView(a);
  });

  // ---- platforms ----
  // A platform is registered by the agent hosting it (POST /v1/agents, `platforms`); its status is
  // its agent's, and every chain that admitted an enclave on it over a quote records its TCB status.
  async function platformViews(only?: string) {
    const chainsSeen: Array<{ id: string; chain: Awaited<ReturnType<ChainService['entry']>>['chain'] }> = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listChains({ limit: 500, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      for (const c of page) if (!c.deleted) chainsSeen.push({ id: c.id, chain: (await chains.entry(c.id)).chain });
      after = page[page.length - 1]!.id;
    }
    const out = [];
    for (const a of await store.listAgents()) {
      for (const p of ((a.info as { platforms?: Array<{ index: number; ppid: string }> }).platforms ?? [])) {
        if (only !== undefined && p.ppid !== only) continue;
        const inChains = chainsSeen.flatMap(({ id, chain }) => {
          const el = chain.element(`platform:${p.ppid}`);
          return el ? [{ chain: id, fmspc: el.fmspc, tcbStatus: el.tcbStatus, advisoryIds: el.advisoryIds ?? [] }] : [];
        });
        out.push({ ppid: p.ppid, agent: a.id, cloud: a.cloud, index: p.index, status: a.status, lastSeen: a.lastSeen.toISOString(), chains: inChains });
      }
    }
    return out;
  }
  app.get('/v1/platforms', { schema: { tags: ['platforms'] } }, async () => ({ platforms: await platformViews() }));
  app.get('/v1/platforms/:id', { schema: { tags: ['platforms'], params: S.IdParams } }, async (req) => {
    const id = (req.params as { id: string }).id.toLowerCase();
    const [p] = await platformViews(id);
    if (!p) throw new ServerError('ERR_NOT_FOUND', `no registered platform ${id}`);
    return p;
  });

  // ---- audit ----
  app.get('/v1/audit', { schema: { tags: ['audit'], querystring: S.AuditQuery } }, async (req) => {
    need(req, 'admin');
    const q = req.query as { afterSeq?: string; limit?: string };
    const limit = q.limit ? Number(q.limit) : 100;
    const records = await store.listAudit({ afterSeq: q.afterSeq ? Number(q.afterSeq) : 0, limit });
    return { records, next: records.length === limit ? records[records.length - 1]!.seq : null };
  });
  app.get('/v1/audit/checkpoints', { schema: { tags: ['audit'] } }, async (req) => {
    need(req, 'admin');
    return { keyId: kid, key: jwk, checkpoints: await store.listCheckpoints() };
  });

  // ---- events (SSE) ----
  const streams = new Set<ServerResponse>();
  let eventId = 0;
  app.get('/v1/events', { schema: { tags: ['events'] } }, (req, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write(': catena events\n\n');
    const send = (ev: ChainEvent) => raw.write(`id: ${++eventId}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
    chains.events.on('event', send);
    const beat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    beat.unref();
    streams.add(raw);
    sseClients.set(streams.size);
    const done = () => {
      clearInterval(beat);
      chains.events.off('event', send);
      streams.delete(raw);
      sseClients.set(streams.size);
    };
    req.raw.on('close', done);
    raw.on('close', done);
  });

  // ---- audit checkpoints ----
  const every = opts.checkpointEvery ?? 100;
  let lastCheckpointSeq = -1;
  let checkpointing: Promise<void> | undefined;
  async function checkpoint(): Promise<void> {
    if (checkpointing) return checkpointing;
    checkpointing = (async () => {
      if (lastCheckpointSeq < 0) {
        const cps = await store.listCheckpoints();
        lastCheckpointSeq = cps.length ? cps[cps.length - 1]!.seq : 0;
      }
      const head = await store.getAuditHead();
      if (head.seq <= lastCheckpointSeq) return;
      const cp = { seq: head.seq, hash: head.hash, keyId: kid, at: clock().toISOString() };
      const signature = Buffer.from(p256Sign(opts.key.privateKey, checkpointSigningBytes(cp))).toString('base64url');
      try {
        await store.addCheckpoint({ ...cp, signature });
      } catch (e) {
        // Another replica signed this seq already.
        if (!(e instanceof StoreError && e.code === 'ERR_STORE_DUPLICATE')) throw e;
      }
      lastCheckpointSeq = head.seq;
    })().finally(() => {
      checkpointing = undefined;
    });
    return checkpointing;
  }
  app.decorate('checkpoint', checkpoint);
  let writesSinceCheckpoint = 0;
  chains.events.on('event', () => {
    if (++writesSinceCheckpoint >= every) {
      writesSinceCheckpoint = 0;
      checkpoint().catch((e) => app.log.warn(e));
    }
  });
  const cpMs = opts.checkpointIntervalMs ?? 10_000;
  const cpTimer = cpMs > 0 ? setInterval(() => checkpoint().catch((e) => app.log.warn(e)), cpMs) : undefined;
  cpTimer?.unref();

  // ---- agent health ----
  async function checkAgents(): Promise<void> {
    const agents = await store.listAgents();
    await Promise.all(
      agents.map(async (a) => {
        let ok = false;
        const timeoutMs = opts.agentCheckTimeoutMs ?? 2000;
        const url = new URL('/healthz', a.url);
        try {
          if (url.protocol !== 'https:') ok = (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).ok;
          // An RA-TLS agent: its certificate is verified when the manager was given how to (a refused one is unreachable).
          else if (opts.agentAttestation) ok = (await attestedHttpRequest(url, { verify: opts.agentAttestation, timeoutMs })).status === 200;
          else ok = await httpsLiveness(url, timeoutMs);
        } catch {
          ok = false;
        }
        const status = ok ? 'active' : 'unreachable';
        if (status === a.status) {
          if (ok) await store.putAgent({ id: a.id, cloud: a.cloud, url: a.url, status, info: a.info, lastSeen: clock() }, { actor: 'manager', at: clock() });
          return;
        }
        await store.putAgent({ id: a.id, cloud: a.cloud, url: a.url, status, info: a.info, lastSeen: ok ? clock() : a.lastSeen }, { actor: 'manager', at: clock() });
        chains.events.emit('event', { type: 'agent.status', agent: a.id, status, at: clock().toISOString() } satisfies ChainEvent);
        await chains.markAgentElements(a.id, status, 'manager');
      }),
    );
  }
  app.decorate('checkAgents', checkAgents);
  const agentJob = periodic(opts.agentCheckIntervalMs ?? 5000, checkAgents, (e) => app.log.warn(e));

  // ---- periodic re-attestation ----
  async function reattestAll(): Promise<{ affirmed: number; refused: number; failed: number }> {
    const out = { affirmed: 0, refused: 0, failed: 0 };
    let after: string | undefined;
    for (;;) {
      const page = await store.listChains({ limit: 100, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      for (const c of page) {
        if (c.deleted) continue;
        for (const r of await store.listElements(c.id)) {
          if ((r.status !== 'active' && r.status !== 'attestation-failed') || !(r.record as { agent?: string }).agent) continue;
          try {
            const x = await reattestElement(reattestDeps, c.id, r.id, 'manager');
            reattests.inc({ verdict: x.result.verdict });
            out[x.result.verdict === 'affirmed' ? 'affirmed' : 'refused']++;
          } catch (e) {
            out.failed++; // agent or PCS unreachable: health checks mark reachability; try again next round
            app.log.warn(e);
          }
        }
      }
      after = page[page.length - 1]!.id;
    }
    return out;
  }
  app.decorate('reattestAll', reattestAll);
  const reattestJob = periodic(opts.reattestIntervalMs ?? 0, reattestAll, (e) => app.log.warn(e));

  app.addHook('onClose', async () => {
    await reattestJob.stop();
    if (cpTimer) clearInterval(cpTimer);
    for (const s of streams) s.end();
    await agentJob.stop();
    await checkpoint().catch(() => {});
    await Promise.all([...pools.values()].map((p) => p.close()));
  });
  return app;
}

/** Runs `job` every `ms` (0: never), never two runs at once; `stop()` clears the timer and waits for a running job. */
function periodic(ms: number, job: () => Promise<unknown>, onError: (e: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer =
    ms > 0
      ? setInterval(() => {
          running ??= job()
            .catch(onError)
            .finally(() => {
              running = undefined;
            });
        }, ms)
      : undefined;
  timer?.unref();
  return {
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

/**
 * Asks an agent for an element's fresh evidence. An https agent (the real ones) is reached over
 * RA-TLS — its certificate judged with `agentAttestation` before anything is sent — and the request
 * carries a manager request token (a JWT for that agent, src/server/manager-request.ts). Plain http
 * agent URLs (tests) get the same token over HTTP.
 */
function agentEvidenceFetcher(privateKey: KeyObject, kid: string, verify: PeerVerification | undefined): FetchEvidence {
  return async (agent, elementId, chainId, nonce) => {
    const agentUrl = agent.url;
    const url = new URL(`/v1/elements/${encodeURIComponent(elementId)}/evidence`, agentUrl);
    const token = await signManagerRequest(privateKey, kid, agent.id);
    const body = { chain: chainId, nonce };
    if (url.protocol !== 'https:') return callJson<AgentEvidence>(url.toString(), { body, token, timeoutMs: 10_000 });
    if (!verify) throw new ServerError('ERR_AGENT', `${agentUrl}: an https agent is verified by RA-TLS, and this manager has no agent attestation configured (--agent-mrsigner, --trust-root, --collateral)`);
    let res;
    try {
      res = await attestedHttpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body), verify, timeoutMs: 10_000 });
    } catch (e) {
      throw new ServerError('ERR_AGENT', `${agentUrl}: ${(e as Error).message}`, e instanceof ChannelError ? `peer.${e.check}` : undefined);
    }
    if (res.status !== 200) throw upstreamError(url, res.status, res.body);
    return JSON.parse(res.body) as AgentEvidence;
  };
}

/** `build(opts)`: the manager app, not listening. */
export const build = buildManager;
