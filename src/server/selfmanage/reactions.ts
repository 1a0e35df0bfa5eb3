import type { ReactionAction, ReactionEvent } from '../../chain/types.ts';
import type { Store } from '../../store/types.ts';
import type { ChainService, ElementRecord } from '../chain-service.ts';
import { reattestElement, type ReattestDeps } from '../reattest.ts';
import type { ElementHealth } from './element-health.ts';
import { NotHealedError } from './errors.ts';
import { migrateSubtree, type Migration, type MigrateDeps } from './migrate.ts';

/** A reaction job: the actions a chain's policy lists for an event, for one element. */
export interface ReactionPayload {
  chain: string;
  element: string;
  event: ReactionEvent;
  actions: ReactionAction[];
  cause: string;
  /** When the element entered the state (ISO 8601): time to heal counts from here. */
  since: string;
  /** agent-lost: the agent that stopped answering (not a migration target). */
  agent?: string;
}

export interface ReactionResult {
  chain: string;
  element: string;
  event: ReactionEvent;
  outcome: 'healed' | 'quarantined' | 'revoked' | 'notified' | 'skipped';
  by?: ReactionAction;
  reason?: string;
  migrated?: Migration['migrated'];
}

/** What a job handler gets from the job runner (src/server/jobs/). */
export interface ReactionContext {
  readonly job: { payload: unknown };
  readonly progress: Record<string, unknown>;
  step(name: string, detail?: unknown, progress?: Record<string, unknown>): Promise<void>;
}

export interface ReactionDeps {
  chains: ChainService;
  store: Store;
  reattest: ReattestDeps;
  migrate: MigrateDeps;
  /** Re-appraises one element now (after fresh evidence): its new health. */
  reassess(chainId: string, elementId: string): Promise<ElementHealth | undefined>;
  /** Platforms (PPIDs) no migration may go to: those with revoked or degraded elements. */
  badPlatforms(): Promise<Set<string>>;
  clock: () => Date;
  healed?: (seconds: number) => void;
}

/**
 * Runs the actions of a reaction in order. `notify` always continues; `reattest` ends the reaction when
 * the fresh evidence makes the element valid again, else the next action is tried; `migrate` ends it
 * once the element (and its subtree) runs elsewhere; `quarantine` and `revoke` end it. An action that
 * fails for a reason that may pass (agent or PCS unreachable) lets the next one try; when none is
 * left, the job fails and is retried with backoff. Each action done is a step in the job's progress
 * (and an audit record), so a resumed job never repeats one.
 */
export function reactionHandler(deps: ReactionDeps): (ctx: ReactionContext) => Promise<ReactionResult> {
  const chainLocks = new Map<string, Promise<unknown>>();
  return (ctx) => {
    const p = ctx.job.payload as ReactionPayload;
    // One reaction per chain at a time: a migration moves subtrees other reactions may be about.
    const prev = chainLocks.get(p.chain) ?? Promise.resolve();
    const run = prev.then(
      () => react(deps, ctx, p),
      () => react(deps, ctx, p),
    );
    chainLocks.set(
      p.chain,
      run.catch(() => undefined),
    );
    return run;
  };
}

async function react(deps: ReactionDeps, ctx: ReactionContext, p: ReactionPayload): Promise<ReactionResult> {
  const base = { chain: p.chain, element: p.element, event: p.event };
  const row = await deps.store.getElement(p.chain, p.element);
  const migratedBefore = ctx.progress.migrated as Migration['migrated'] | undefined;
  if (migratedBefore) return { ...base, outcome: 'healed', by: 'migrate', migrated: migratedBefore };
  if (!row && !ctx.progress.placed)
    return { ...base, outcome: 'skipped', reason: 'no longer in the chain (moved or retired with an ancestor)' };
  if (row?.status === 'revoked' || row?.status === 'quarantined')
    return { ...base, outcome: 'skipped', reason: row.status };
  // A reaction to a state is moot once the element left it (a newer state has its own reaction).
  const health = (row?.record as ElementRecord | undefined)?.health;
  if (row && p.event !== 'agent-lost' && health?.event !== p.event)
    return { ...base, outcome: 'skipped', reason: `the element is ${health?.state ?? 'unappraised'} now` };
  const done = (r: ReactionResult): ReactionResult => {
    if (r.outcome === 'healed') deps.healed?.((deps.clock().getTime() - Date.parse(p.since)) / 1000);
    deps.chains.emit({ type: 'reaction.done', chain: p.chain, element: p.element, reaction: r });
    return r;
  };
  let lastError: Error | undefined;
  for (const [i, action] of p.actions.entries()) {
    const key = `action${i}`;
    if (ctx.progress[key]) continue;
    try {
      switch (action) {
        case 'notify':
          deps.chains.emit({
            type: 'element.notify',
            chain: p.chain,
            element: p.element,
            event: p.event,
            cause: p.cause,
          });
          await ctx.step('notify', { event: p.event }, { [key]: 'done' });
          continue;
        case 'reattest': {
          const x = await reattestElement(deps.reattest, p.chain, p.element, 'manager');
          const h = x.result.verdict === 'affirmed' ? await deps.reassess(p.chain, p.element) : undefined;
          // Recorded as done only when it healed: a retry of the reaction re-attests again.
          const healed = h?.state === 'valid';
          await ctx.step(
            'reattest',
            { verdict: x.result.verdict, check: x.result.check, state: h?.state },
            healed ? { [key]: 'done' } : {},
          );
          if (healed) return done({ ...base, outcome: 'healed', by: 'reattest' });
          lastError = new NotHealedError(
            `re-attestation of ${p.element} gave ${x.result.verdict}${x.result.check ? ` (${x.result.check})` : ''}, state ${h?.state ?? 'unknown'}`,
          );
          continue;
        }
        case 'migrate': {
          const platform = (row?.record as ElementRecord | undefined)?.element.platform;
          const avoid = await deps.badPlatforms();
          if (platform && p.event !== 'agent-lost') avoid.add(platform);
          const m = await migrateSubtree(
            deps.migrate,
            p.chain,
            p.element,
            `${p.event}: ${p.cause}`,
            { agents: new Set(p.agent ? [p.agent] : []), platforms: avoid },
            ctx.progress,
            (name, detail, progress) => ctx.step(`migrate.${name}`, detail, progress),
          );
          await ctx.step('migrated', { migrated: m.migrated }, { [key]: 'done', migrated: m.migrated });
          return done({ ...base, outcome: 'healed', by: 'migrate', migrated: m.migrated });
        }
        case 'quarantine': {
          const at = deps.clock().toISOString();
          await deps.chains.updateElementUnderLock(p.chain, p.element, 'manager', (fresh) =>
            fresh.status === 'revoked'
              ? undefined
              : {
                  status: 'quarantined',
                  record: {
                    ...(fresh.record as ElementRecord),
                    health: { state: 'quarantined', cause: `${p.event}: ${p.cause}`, since: at },
                  },
                },
          );
          deps.chains.emit({ type: 'element.quarantined', chain: p.chain, element: p.element, cause: p.cause });
          await ctx.step('quarantine', { cause: p.cause }, { [key]: 'done' });
          return done({ ...base, outcome: 'quarantined', by: 'quarantine' });
        }
        case 'revoke':
          await deps.chains.revoke(p.chain, p.element, `${p.event}: ${p.cause}`, 'manager');
          await ctx.step('revoke', { cause: p.cause }, { [key]: 'done' });
          return done({ ...base, outcome: 'revoked', by: 'revoke' });
      }
    } catch (e) {
      lastError = e instanceof Error ? e : new Error(String(e)); // the next action may still heal or contain it
    }
  }
  // Nothing healed or contained it: retried with backoff (the platform may take its update meanwhile).
  if (lastError) throw lastError;
  return done({ ...base, outcome: 'notified' });
}
