import type { FastifyBaseLogger } from 'fastify';
import { p256Sign, type P256KeyPair } from '../crypto/ecdsa.ts';
import { attestedHttpRequest } from '../channel/attested-http.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import { checkpointSigningBytes } from '../store/audit-hash.ts';
import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/types.ts';
import { httpsLiveness } from './agent-health.ts';
import type { ChainEvent, ChainService } from './chain-service.ts';
import type { ManagerMetrics } from './manager-metrics.ts';
import { reattestElement, type ReattestDeps } from './reattest.ts';

/** Agent health checks in flight at once (each a TLS handshake and a request). */
const AGENT_CHECKS_IN_FLIGHT = 32;

/** The manager's background work: audit checkpoints, agent health checks, periodic re-attestation. */
export interface ManagerJobs {
  // Closures, not methods: the manager hands them to the app as decorators.
  checkpoint(this: void): Promise<void>;
  checkAgents(this: void): Promise<void>;
  reattestAll(this: void): Promise<{ affirmed: number; refused: number; failed: number }>;
  stop(): Promise<void>;
}

export interface ManagerJobOptions {
  store: Store;
  chains: ChainService;
  key: P256KeyPair;
  kid: string;
  clock: () => Date;
  log: FastifyBaseLogger;
  metrics: ManagerMetrics;
  reattestDeps: ReattestDeps;
  agentAttestation?: PeerVerification;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  agentCheckIntervalMs: number;
  agentCheckTimeoutMs: number;
  reattestIntervalMs: number;
}

export function startManagerJobs(o: ManagerJobOptions): ManagerJobs {
  const { store, chains, clock, log, metrics } = o;
  // A failed run is logged with its cause and counted; the next run tries again.
  const failed = (job: string) => (err: unknown) => {
    metrics.jobFailures.inc({ job });
    log.error({ err, job }, `background job ${job} failed`);
  };

  let lastCheckpointSeq = -1;
  let checkpointing: Promise<void> | undefined;
  function checkpoint(): Promise<void> {
    if (checkpointing) return checkpointing;
    checkpointing = (async () => {
      if (lastCheckpointSeq < 0) {
        const cps = await store.listCheckpoints();
        lastCheckpointSeq = cps.length ? cps[cps.length - 1].seq : 0;
      }
      const head = await store.getAuditHead();
      if (head.seq <= lastCheckpointSeq) return;
      const cp = { seq: head.seq, hash: head.hash, keyId: o.kid, at: clock().toISOString() };
      const signature = Buffer.from(p256Sign(o.key.privateKey, checkpointSigningBytes(cp))).toString('base64url');
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
  let writesSinceCheckpoint = 0;
  const onEvent = () => {
    if (++writesSinceCheckpoint >= o.checkpointEvery) {
      writesSinceCheckpoint = 0;
      checkpoint().catch(failed('checkpoint'));
    }
  };
  chains.events.on('event', onEvent);
  const cpJob = periodic(o.checkpointIntervalMs, checkpoint, failed('checkpoint'));

  async function checkAgents(): Promise<void> {
    const agents = await store.listAgents();
    // Healthy agents whose status did not change: their lastSeen moves in one write at the end.
    const alive: string[] = [];
    const check = async (a: (typeof agents)[number]): Promise<void> => {
      let ok = false;
      const timeoutMs = o.agentCheckTimeoutMs;
      try {
        const url = new URL('/healthz', a.url);
        // Never a redirect: a 3xx is not a healthy agent, and the manager goes nowhere else.
        if (url.protocol !== 'https:')
          ok = (await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })).status === 200;
        // An RA-TLS agent: its certificate is verified when the manager was given how to (a refused one is unreachable).
        else if (o.agentAttestation)
          ok = (await attestedHttpRequest(url, { verify: o.agentAttestation, timeoutMs })).status === 200;
        else ok = await httpsLiveness(url, timeoutMs);
      } catch {
        ok = false;
      }
      const status = ok ? 'active' : 'unreachable';
      if (status === a.status) {
        if (ok) alive.push(a.id);
        return;
      }
      await store.putAgent(
        { id: a.id, cloud: a.cloud, url: a.url, status, info: a.info, lastSeen: ok ? clock() : a.lastSeen },
        { actor: 'manager', at: clock() },
      );
      chains.events.emit('event', {
        type: 'agent.status',
        agent: a.id,
        status,
        at: clock().toISOString(),
      } satisfies ChainEvent);
      await chains.markAgentElements(a.id, status, 'manager');
    };
    // At most AGENT_CHECKS_IN_FLIGHT at once: a thousand TLS handshakes started together would hold
    // the event loop for their whole CPU cost in a few turns (issue 15: 1,000 agents, loop delay).
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(AGENT_CHECKS_IN_FLIGHT, agents.length) }, async () => {
        while (next < agents.length) await check(agents[next++]);
      }),
    );
    await store.touchAgents(alive, clock());
  }
  const agentJob = periodic(o.agentCheckIntervalMs, checkAgents, failed('agent-health'));

  async function reattestAll(): Promise<{ affirmed: number; refused: number; failed: number }> {
    const out = { affirmed: 0, refused: 0, failed: 0 };
    let after: string | undefined;
    for (;;) {
      const page = await store.listChains({ limit: 100, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      for (const c of page) {
        if (c.deleted) continue;
        for (const r of await store.listElements(c.id)) {
          if ((r.status !== 'active' && r.status !== 'attestation-failed') || !(r.record as { agent?: string }).agent)
            continue;
          try {
            const x = await reattestElement(o.reattestDeps, c.id, r.id, 'manager');
            metrics.reattests.inc({ verdict: x.result.verdict });
            out[x.result.verdict === 'affirmed' ? 'affirmed' : 'refused']++;
          } catch (err) {
            out.failed++; // agent or PCS unreachable: health checks mark reachability; try again next round
            log.warn({ err, job: 'reattest', chain: c.id, element: r.id }, 're-attestation of an element failed');
          }
        }
      }
      after = page[page.length - 1].id;
    }
    return out;
  }
  const reattestJob = periodic(o.reattestIntervalMs, reattestAll, failed('reattest'));

  return {
    checkpoint,
    checkAgents,
    reattestAll,
    async stop() {
      chains.events.off('event', onEvent);
      await reattestJob.stop();
      await cpJob.stop();
      await agentJob.stop();
      await checkpoint().catch(failed('checkpoint'));
    },
  };
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
