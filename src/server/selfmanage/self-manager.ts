import type { CollateralKey, MonitorEvent } from './types.ts';
import type { Store } from '../../store/types.ts';
import type { ChainEvent, ChainService, ElementRecord } from '../chain-service.ts';
import type { ElementHealth } from './element-health.ts';
import type { SelfManageMetrics } from './metrics.ts';
import type { Appraised, CollateralHolder, Reappraiser } from './reappraise.ts';
import type { ReactionPayload } from './reactions.ts';

/** The collateral monitor as the loop uses it (CollateralMonitor). */
export interface Monitor extends CollateralHolder {
  watch(k: CollateralKey): void;
  poll(): Promise<MonitorEvent[]>;
}

export interface SelfManagerOptions {
  store: Store;
  chains: ChainService;
  monitor: Monitor;
  reappraiser: Reappraiser;
  /** Queues a reaction as a durable job (idempotent on key). */
  enqueue(j: { kind: 'reaction'; key: string; chainId: string; payload: ReactionPayload }): Promise<unknown>;
  clock: () => Date;
  log: { warn(o: object, msg: string): void; error(o: object, msg: string): void };
  /** Watch interval (ms): monitor poll, then re-appraisal of every chain. 0: only on request (tests). */
  intervalMs: number;
  metrics?: Pick<SelfManageMetrics, 'detected' | 'states' | 'collateralEvent'>;
}

/**
 * The self-management loop (docs/self-management.md): monitor (collateral, evidence age, agents) →
 * analyse (re-appraise stored evidence; element states) → plan (the policy's reactions for the event)
 * → execute (durable reaction jobs, src/server/selfmanage/reactions.ts).
 */
export class SelfManager {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly onEvent = (ev: ChainEvent) => {
    if (ev.type === 'agent.status' && ev.status === 'unreachable' && typeof ev.agent === 'string')
      this.agentLost(ev.agent, ev.at).catch((err: unknown) =>
        this.o.log.error({ err, job: 'selfmanage' }, 'planning agent-lost reactions failed'),
      );
  };
  constructor(private readonly o: SelfManagerOptions) {}

  start(): void {
    this.o.chains.events.on('event', this.onEvent);
    if (this.o.intervalMs <= 0) return;
    const round = () => {
      this.running ??= this.tick()
        .catch((err: unknown) => this.o.log.error({ err, job: 'selfmanage' }, 'self-management round failed'))
        .finally(() => {
          this.running = undefined;
        });
    };
    this.timer = setInterval(round, this.o.intervalMs);
    this.timer.unref();
    round(); // the baseline at once
  }

  async stop(): Promise<void> {
    this.o.chains.events.off('event', this.onEvent);
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One round: poll the monitor, publish what changed, re-appraise every chain, plan reactions. */
  async tick(): Promise<void> {
    await this.poll();
    const r = await this.analyseAll();
    // Keys seen for the first time are polled at once (their baseline), then appraised.
    if (r.newKeys) {
      await this.poll();
      await this.analyseAll();
    }
  }

  private async poll(): Promise<void> {
    for (const ev of await this.o.monitor.poll()) {
      this.o.chains.emit({ ...ev });
      this.o.metrics?.collateralEvent(ev.type);
      if (ev.type === 'collateral.changed' && ev.publishedAt)
        this.o.metrics?.detected(Math.max(0, (Date.parse(ev.detectedAt) - Date.parse(ev.publishedAt)) / 1000));
    }
  }

  /** Re-appraises every live chain; counts elements by state. */
  async analyseAll(): Promise<{ changed: number; newKeys: boolean }> {
    const counts = { valid: 0, 'at-risk': 0, degraded: 0, revoked: 0, stale: 0, quarantined: 0 };
    let changed = 0;
    let newKeys = false;
    const verdicts = this.o.reappraiser.round();
    for await (const page of this.chainPages()) {
      for (const c of page) {
        try {
          const r = await this.analyseChain(c.id, verdicts);
          newKeys ||= r.newKeys;
          for (const a of r.appraised) {
            counts[a.health.state]++;
            if (a.changed) changed++;
          }
        } catch (err) {
          this.o.log.warn({ err, chain: c.id, job: 'selfmanage' }, 're-appraisal of a chain failed');
        }
      }
    }
    this.o.metrics?.states(counts);
    return { changed, newKeys };
  }

  /** Re-appraises one chain's stored evidence, records the states that changed, plans their reactions. */
  async analyseChain(
    chainId: string,
    verdicts = this.o.reappraiser.round(),
  ): Promise<{ appraised: Appraised[]; newKeys: boolean }> {
    const entry = await this.o.chains.entry(chainId);
    this.rootSet.set(Buffer.from(entry.root).toString('hex'), entry.root);
    const rows = await this.o.store.listElements(chainId);
    const policy = entry.chain.header.policy;
    const keys = this.o.reappraiser.keysOf(rows);
    let newKeys = false;
    for (const k of keys) if (this.watch(k)) newKeys = true;
    const appraised = await this.o.reappraiser.appraiseChain(
      { root: entry.root, policy },
      rows,
      this.o.clock(),
      verdicts,
    );
    const raised = new Map(appraised.filter((a) => a.changed).map((a) => [a.row.id, a.health.event]));
    for (const a of appraised) {
      if (!a.changed) continue;
      const previous = (a.row.record as ElementRecord).health;
      const written = await this.o.chains.updateElementUnderLock(chainId, a.row.id, 'manager', (fresh) =>
        fresh.status === 'revoked' ? undefined : { record: { ...(fresh.record as ElementRecord), health: a.health } },
      );
      if (!written) continue;
      this.o.chains.emit({
        type: 'element.state',
        chain: chainId,
        element: a.row.id,
        state: a.health.state,
        ...(previous ? { previous: previous.state } : {}),
        ...(a.health.cause ? { cause: a.health.cause } : {}),
        ...(a.health.predictedAt ? { predictedAt: a.health.predictedAt } : {}),
        ...(a.health.explanation ? { explanation: a.health.explanation } : {}),
      });
      const actions = a.health.event ? policy.reactions?.[a.health.event] : undefined;
      // A child that raised the same event as its parent moves with the parent's subtree.
      const withParent =
        a.row.parentId !== null && raised.get(a.row.parentId) === a.health.event && movesSubtree(actions ?? []);
      if (a.health.event && actions?.length && !withParent)
        await this.o.enqueue({
          kind: 'reaction',
          key: `reaction:${chainId}:${a.row.id}:${a.health.event}:${a.health.since}`,
          chainId,
          payload: {
            chain: chainId,
            element: a.row.id,
            event: a.health.event,
            actions,
            cause: a.health.cause ?? a.health.state,
            since: a.health.since,
          },
        });
    }
    return { appraised, newKeys };
  }

  /** The live chains, a page at a time. */
  private async *chainPages() {
    let after: string | undefined;
    for (;;) {
      const page = await this.o.store.listChains({ limit: 100, ...(after ? { after } : {}) });
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1].id;
    }
  }

  /** One element's health now (after a re-attestation). */
  async reassess(chainId: string, elementId: string): Promise<ElementHealth | undefined> {
    const r = await this.analyseChain(chainId);
    return r.appraised.find((a) => a.row.id === elementId)?.health;
  }

  private readonly rootSet = new Map<string, Uint8Array>();
  /** The roots of the chains seen: the monitor accepts collateral that chains to one of them. */
  roots(): Uint8Array[] {
    return [...this.rootSet.values()];
  }

  private readonly watched = new Set<string>();
  private watch(k: CollateralKey): boolean {
    const id = `${k.teeType}|${k.fmspc}|${k.pckCa}`;
    if (this.watched.has(id)) return false;
    this.watched.add(id);
    this.o.monitor.watch(k);
    return true;
  }

  /** PPIDs of platforms whose elements are revoked or degraded: no migration goes there. */
  async badPlatforms(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const page of this.chainPages()) {
      for (const c of page)
        for (const r of await this.o.store.listElements(c.id)) {
          const rec = r.record as ElementRecord;
          if (rec.health?.state === 'revoked' || rec.health?.state === 'degraded') out.add(rec.element.platform);
        }
    }
    return out;
  }

  /** An agent stopped answering: the agent-lost reaction of every element it hosts. */
  private async agentLost(agent: string, at: string): Promise<void> {
    for await (const page of this.chainPages()) {
      for (const c of page) {
        const entry = await this.o.chains.entry(c.id);
        const actions = entry.chain.header.policy.reactions?.['agent-lost'];
        if (!actions?.length) continue;
        const rows = await this.o.store.listElements(c.id);
        const hostedHere = new Set(
          rows.filter((r) => (r.record as ElementRecord).agent === agent && r.status !== 'revoked').map((r) => r.id),
        );
        for (const r of rows) {
          if (!hostedHere.has(r.id) || r.status === 'quarantined') continue;
          // A child whose parent was on the same agent moves with the parent's subtree.
          if (r.parentId && hostedHere.has(r.parentId) && movesSubtree(actions)) continue;
          await this.o.enqueue({
            kind: 'reaction',
            key: `reaction:${c.id}:${r.id}:agent-lost:${at}`,
            chainId: c.id,
            payload: {
              chain: c.id,
              element: r.id,
              event: 'agent-lost',
              actions,
              cause: `agent ${agent} stopped answering its health checks`,
              since: at,
              agent,
            },
          });
        }
      }
    }
  }
}

/** The reaction's first action that changes anything is a migration (which moves the whole subtree). */
function movesSubtree(actions: readonly string[]): boolean {
  return actions.find((x) => x !== 'notify') === 'migrate';
}
