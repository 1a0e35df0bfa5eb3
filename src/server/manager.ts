import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { exportJWK } from 'jose';
import { Registry } from 'prom-client';
import { hex } from '../bytes/util.ts';
import type { P256KeyPair } from '../crypto/ecdsa.ts';
import { dcapRemoteVerifier } from '../cot/dcap-remote-verifier.ts';
import type { RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import { ChainError } from '../chain/errors.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import { createHttpApp, type LogLevel } from '../http/create-app.ts';
import type { ServerLimits } from '../http/limits.ts';
import type { RouteAuthOptions } from '../http/route-auth.ts';
import { HttpError } from '../http/http-error.ts';
import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/types.ts';
import { SqlStore } from '../store/sql-store.ts';
import { PostgresDriver } from '../store/postgres-driver.ts';
import { replicateEvents } from './replica-events.ts';
import { pollReplicaEvents } from './replica-event-poll.ts';
import { DEFAULT_AGENT_HOSTS } from './agent-url.ts';
import { agentEvidenceFetcher } from './agent-evidence-fetcher.ts';
import { ChainService, storeToServerError } from './chain-service.ts';
import { earSigner } from './ear.ts';
import { ServerError } from './errors.ts';
import { managerAuthenticator } from './manager-auth.ts';
import { startManagerJobs } from './manager-jobs.ts';
import { managerKeyId } from './manager-key.ts';
import { createManagerMetrics } from './manager-metrics.ts';
import { collateralRequestOfQuote, PcsCollateralProvider } from './pcs-collateral.ts';
import { agentCaller } from './selfmanage/agent-call.ts';
import { CollateralMonitor } from './selfmanage/collateral-monitor.ts';
import { createSelfManageMetrics } from './selfmanage/metrics.ts';
import { reactionHandler } from './selfmanage/reactions.ts';
import { Reappraiser } from './selfmanage/reappraise.ts';
import { SelfManager, type Monitor } from './selfmanage/self-manager.ts';
import type { FetchEvidence, ReattestDeps } from './reattest.ts';
import { VerifierPool } from './verifier-pool.ts';
import type { ManagerContext } from './routes/context.ts';
import { agentRoutes } from './routes/agents.ts';
import { auditRoutes } from './routes/audit.ts';
import { chainRoutes } from './routes/chains.ts';
import { elementRoutes } from './routes/elements.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes, metricsText } from './routes/health.ts';
import { platformRoutes } from './routes/platforms.ts';
import { tcbStatusRoutes } from './routes/tcb-status.ts';
import { policyRoutes } from './routes/policies.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { defaultUiRoot, uiRoutes } from './routes/ui.ts';
import { JobRunner, type Backoff } from './jobs/runner.ts';
import { webhookFanout } from './webhooks/fanout.ts';
import { WEBHOOK_DELIVER } from './webhooks/deliver.ts';
import { webhookSigner } from './webhooks/sign.ts';
import type { ChainEvent } from './chain-service.ts';

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
  /** Hosts agent URLs may name (exact, or `*.suffix`); default loopback (DEFAULT_AGENT_HOSTS). */
  agentHosts?: readonly string[];
  /** /metrics without a token (the CLI serves metrics on their own --metrics-listen address instead). */
  metricsPublic?: boolean;
  /** pino level of the JSON logs on stderr (default silent). */
  logLevel?: LogLevel;
  logStream?: DestinationStream;
  limits?: Partial<ServerLimits>;
  /** Failed authentications per client address and writes per token before 429. */
  rateLimits?: Pick<RouteAuthOptions, 'failures' | 'writes'>;
  /** How often the job runner polls the store for due jobs (ms, default 1000; an enqueue wakes it at once). */
  jobPollMs?: number;
  /** Timeout of one webhook delivery attempt (ms, default 5000). */
  webhookTimeoutMs?: number;
  /** Attempts per webhook delivery before it becomes a dead letter (default 6). */
  webhookMaxAttempts?: number;
  /** Backoff between webhook delivery attempts (default base 1 s, max 5 min; jittered). */
  webhookBackoff?: Backoff;
  /**
   * Self-management with `pcsUrl`: how often the collateral monitor polls the PCS and every chain's
   * stored evidence is re-appraised (ms, default 60 s; 0: only when called, e.g. in tests).
   */
  watchIntervalMs?: number;
  /** Backoff between attempts of reaction jobs (and every other job kind but webhooks when both are set). */
  reactionBackoff?: Backoff;
  /** The built dashboard served at /ui/ (default: dist/web when built; '' serves none). */
  uiRoot?: string;
  /** Tests: called with every JSON response and its schema (e.g. to validate it). */
  checkResponse?: (schema: unknown, body: unknown, route: { method: string; url: string; status: string }) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    chains: ChainService;
    checkpoint(): Promise<void>;
    checkAgents(): Promise<void>;
    reattestAll(): Promise<{ affirmed: number; refused: number; failed: number }>;
    metricsRegistry: Registry;
    /** The manager's durable job runner (webhook deliveries; self-management actions register here). */
    jobRunner: JobRunner;
    /** The Prometheus text (agent gauges refreshed from the store). */
    metricsText(): Promise<string>;
    /** Self-management: monitor → analyse → plan → execute (docs/self-management.md). */
    selfManager: SelfManager;
  }
}

/** No PCS: nothing watched, nothing held (re-appraisal then only ages evidence). */
const noMonitor: Monitor = {
  watch() {},
  poll: async () => [],
  held: () => undefined,
  stale: () => false,
};

/** The manager's domain errors as problems: store and chain refusals, an unavailable store. */
function mapManagerError(e: unknown): HttpError | undefined {
  const m = storeToServerError(e);
  if (m instanceof HttpError) return m;
  if (m instanceof StoreError) return new ServerError('ERR_UNAVAILABLE', m.message);
  if (m instanceof ChainError) return new ServerError('ERR_LINK_REFUSED', m.message, m.check);
  return undefined;
}

/**
 * The CoT manager: a fastify app (not listening — call `app.listen`, or `app.inject` in tests) made
 * of one plugin per resource (src/server/routes/). REST under /v1, problem+json errors with stable
 * codes, bearer-token auth declared per route, OpenAPI, Prometheus metrics, server-sent events, EAR
 * JWT results. docs/api.md.
 */
export async function buildManager(opts: ManagerOptions): Promise<FastifyInstance> {
  const clock = opts.clock ?? (() => new Date());
  const store = opts.store;
  const kid = managerKeyId(opts.key.publicKey);
  const app = createHttpApp({
    service: 'manager',
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    mapError: mapManagerError,
    auth: { authenticate: managerAuthenticator(store, clock, opts.agentAttestation), ...opts.rateLimits },
  });
  // Response schemas document the API; answers are written with JSON.stringify (nothing silently
  // dropped or coerced), and tests check each answer against its schema.
  const check = opts.checkResponse;
  app.setSerializerCompiler(({ schema, method, url, httpStatus }) => (data) => {
    check?.(schema, data, { method, url, status: String(httpStatus) });
    return JSON.stringify(data);
  });

  const registry = new Registry();
  app.decorate('metricsRegistry', registry);
  const metrics = createManagerMetrics(registry, store);
  const pcs = opts.pcsUrl
    ? new PcsCollateralProvider(opts.pcsUrl, {
        fetched: () => metrics.collateralFetches.inc(),
        hit: () => metrics.collateralHits.inc(),
      })
    : undefined;
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  // One verifier pool per root, owned by this manager and closed with it.
  const pools = new Map<string, VerifierPool>();
  const threads = opts.remoteVerifier ? 0 : Math.max(0, Math.trunc(opts.verifierThreads ?? 0));
  const pooled = (root: Uint8Array): RemoteEvidenceVerifier => {
    const k = hex(root);
    let p = pools.get(k);
    if (!p) pools.set(k, (p = new VerifierPool(root, threads, dcapRemoteVerifier(root))));
    return p;
  };
  // Self-management's collateral monitor (with a PCS): the collateral it holds is the one every check
  // uses — appends, re-attestations, re-appraisals — and the provider's only until it holds one.
  // The monitor trusts the roots of the chains the loop has seen (the loop is made below).
  const loop: { sm?: SelfManager } = {};
  const monitor = opts.pcsUrl
    ? new CollateralMonitor({ pcsUrl: opts.pcsUrl, roots: () => loop.sm?.roots() ?? [], clock })
    : undefined;
  /** What the monitor holds for a quote's platform: standard and early sets, and whether standard is stale. */
  const heldFor = (quote: Uint8Array) => {
    if (!monitor) return undefined;
    try {
      const k = collateralRequestOfQuote(quote);
      return {
        standard: monitor.held(k, 'standard'),
        early: monitor.held(k, 'early'),
        stale: (at: Date) => monitor.stale(k, at),
      };
    } catch {
      return undefined; // the provider names what is wrong with the quote
    }
  };
  const collateralFor = pcs
    ? {
        collateralFor: async (quote: Uint8Array, at: Date) => {
          const h = heldFor(quote);
          return h?.standard && !h.stale(at) ? h.standard.blob : pcs.blobFor(quote, at);
        },
      }
    : {};
  const chains = new ChainService({
    store,
    key: opts.key,
    remoteVerifier: opts.remoteVerifier ?? (threads > 0 ? pooled : dcapRemoteVerifier),
    clock,
    sharedStore: opts.sharedStore ?? false,
    ...collateralFor,
  });
  app.decorate('chains', chains);
  // Replicas on one PostgreSQL: SSE clients of any replica see every replica's events.
  if (opts.sharedStore && store instanceof SqlStore && store.driver instanceof PostgresDriver) {
    const stop = await replicateEvents(store.driver, chains, app.log);
    app.addHook('onClose', stop);
    // What NOTIFY lost (a replica that died between COMMIT and NOTIFY), from the audit log.
    const stopPoll = await pollReplicaEvents(store, chains.events, app.log);
    app.addHook('onClose', stopPoll);
  }
  const reattestDeps: ReattestDeps = {
    chains,
    store,
    remoteVerifier: opts.remoteVerifier ?? dcapRemoteVerifier,
    ...collateralFor,
    fetchEvidence: opts.fetchEvidence ?? agentEvidenceFetcher(opts.key.privateKey, kid, opts.agentAttestation),
    clock,
  };
  const jobs = startManagerJobs({
    store,
    chains,
    key: opts.key,
    kid,
    clock,
    log: app.log,
    metrics,
    reattestDeps,
    ...(opts.agentAttestation ? { agentAttestation: opts.agentAttestation } : {}),
    checkpointEvery: opts.checkpointEvery ?? 100,
    checkpointIntervalMs: opts.checkpointIntervalMs ?? 10_000,
    agentCheckIntervalMs: opts.agentCheckIntervalMs ?? 5000,
    agentCheckTimeoutMs: opts.agentCheckTimeoutMs ?? 2000,
    reattestIntervalMs: opts.reattestIntervalMs ?? 0,
  });
  app.decorate('checkpoint', jobs.checkpoint);
  app.decorate('checkAgents', jobs.checkAgents);
  app.decorate('reattestAll', jobs.reattestAll);
  app.addHook('onClose', async () => {
    await jobs.stop();
    await Promise.all([...pools.values()].map((p) => p.close()));
  });

  // Durable jobs: started when the app is ready, stopped (running handlers awaited) when it closes,
  // before the store is closed by the caller. Webhook deliveries are its first kind.
  const runner = new JobRunner({
    store,
    clock,
    log: app.log,
    pollMs: opts.jobPollMs ?? 1000,
    // One backoff for every job kind (reaction jobs and webhook deliveries).
    ...(opts.reactionBackoff || opts.webhookBackoff ? { backoff: (opts.reactionBackoff ?? opts.webhookBackoff)! } : {}),
    onChange: (job) => {
      if (job.kind === WEBHOOK_DELIVER && job.state === 'dead') metrics.webhookDeliveries.inc({ outcome: 'dead' });
    },
  });
  app.decorate('jobRunner', runner);
  const fanout = webhookFanout(runner, store, webhookSigner(opts.key.privateKey, kid), {
    ...(opts.webhookTimeoutMs !== undefined ? { timeoutMs: opts.webhookTimeoutMs } : {}),
    ...(opts.webhookMaxAttempts !== undefined ? { maxAttempts: opts.webhookMaxAttempts } : {}),
    onAttempt: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  });
  // Every event gets a fresh id (unique across restarts: the delivery key is webhook:<id>:<eventId>).
  const onEvent = (ev: ChainEvent): void => {
    fanout({ ...ev }, randomUUID()).catch((err: unknown) =>
      app.log.error({ err, event: ev.type }, 'webhook fanout failed'),
    );
  };
  chains.events.on('event', onEvent);

  // Self-management: without a PCS it only reacts to lost agents; with one, it also polls the PCS
  // and re-appraises stored evidence every watch interval.
  const smMetrics = createSelfManageMetrics(registry);
  const sm = new SelfManager({
    store,
    chains,
    monitor: monitor ?? noMonitor,
    reappraiser: new Reappraiser(opts.remoteVerifier ?? dcapRemoteVerifier, monitor ?? noMonitor),
    enqueue: (j) => runner.enqueue({ ...j, maxAttempts: 10 }, 'manager'),
    clock,
    log: app.log,
    intervalMs: monitor ? (opts.watchIntervalMs ?? 60_000) : 0,
    metrics: smMetrics,
  });
  loop.sm = sm;
  app.decorate('selfManager', sm);
  runner.register(
    'reaction',
    reactionHandler({
      chains,
      store,
      reattest: reattestDeps,
      migrate: { chains, store, callAgent: agentCaller(opts.key.privateKey, kid, opts.agentAttestation, clock) },
      reassess: (c, e) => sm.reassess(c, e),
      badPlatforms: () => sm.badPlatforms(),
      clock,
      healed: (s) => smMetrics.healed(s),
    }),
  );
  app.addHook('onReady', async () => {
    runner.start();
    sm.start();
  });
  app.addHook('onClose', async () => {
    chains.events.off('event', onEvent);
    await sm.stop();
    await runner.stop();
  });

  const ctx: ManagerContext = {
    store,
    chains,
    clock,
    kid,
    jwk: { ...(await exportJWK(opts.key.publicKey)), kid, alg: 'ES256', use: 'sig' },
    publicKey: opts.key.publicKey,
    registry,
    metrics,
    jobs,
    ear: earSigner(opts.key.privateKey, kid, clock),
    agentHosts: { hosts: opts.agentHosts ?? DEFAULT_AGENT_HOSTS },
    ...(monitor
      ? {
          heldCollateral: (quote: Uint8Array) => {
            const h = heldFor(quote);
            return { standard: h?.standard?.blob, early: h?.early?.blob };
          },
        }
      : {}),
    runner,
  };
  app.decorate('metricsText', () => metricsText(ctx));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Catena CoT manager',
        version: '1.0.0',
        description: 'Chains of trust between SGX enclaves across clouds (docs/api.md)',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(healthRoutes, { ctx, metricsPublic: opts.metricsPublic ?? false });
  await app.register(chainRoutes, { ctx });
  await app.register(policyRoutes, { ctx });
  await app.register(elementRoutes, { ctx, reattestDeps });
  await app.register(agentRoutes, { ctx });
  await app.register(platformRoutes, { ctx });
  await app.register(tcbStatusRoutes, { ctx });
  await app.register(tokenRoutes, { ctx });
  await app.register(auditRoutes, { ctx });
  await app.register(eventRoutes, { ctx });
  await app.register(webhookRoutes, { ctx });
  await app.register(uiRoutes, { root: opts.uiRoot === undefined ? defaultUiRoot() : opts.uiRoot || undefined });
  return app;
}

/** `build(opts)`: the manager app, not listening. */
export const build = buildManager;
