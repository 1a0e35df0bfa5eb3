import { hex } from '../../bytes/util.ts';
import type { Link } from '../../chain/types.ts';
import { isEnclaveIdentity } from '../../chain/layers.ts';
import type { AgentRow, ElementRow, Store } from '../../store/types.ts';
import type { AdmitResponse } from '../agent.ts';
import type { ChainService, ElementRecord } from '../chain-service.ts';
import { ServerError } from '../errors.ts';

/** A manager → agent call with a manager request token of the migrate scope (src/server/selfmanage/agent-call.ts). */
export type CallAgent = <T>(agent: { id: string; url: string }, path: string, body?: unknown) => Promise<T>;

export interface MigrateDeps {
  chains: ChainService;
  store: Store;
  callAgent: CallAgent;
}

/** Where a replacement runs, once loaded: kept in the job's progress so a resumed job reuses it. */
interface Placement {
  agent: string;
  url: string;
  platform: number;
  ppid: string;
  cloud: string;
  element: string;
  appended?: boolean;
}

export interface MigrateStep {
  (name: string, detail: unknown, progress: Record<string, unknown>): Promise<void>;
}

export interface Migration {
  /** Old element → its replacement. */
  migrated: { from: string; to: string; agent: string; platform: string }[];
}

/**
 * Moves an element, with the subtree below it, to another platform: each enclave is launched again
 * from the same image (same identity) on a platform that passes the chain's policy — the same cloud
 * first, then any —, admitted by its (new) parent like any append (the parent enclave appraises it and
 * signs the link; the manager re-checks it), and only then are the old elements retired with the
 * cause. Every step is in `progress` before the next starts, so a job resumed after a crash continues
 * where it stopped and appends nothing twice. `avoid`: agents and platforms (PPIDs) not to use.
 */
export async function migrateSubtree(
  deps: MigrateDeps,
  chainId: string,
  elementId: string,
  cause: string,
  avoid: { agents: ReadonlySet<string>; platforms: ReadonlySet<string> },
  progress: Record<string, unknown>,
  step: MigrateStep,
): Promise<Migration> {
  const placed = { ...((progress.placed as Record<string, Placement> | undefined) ?? {}) };
  const rows = await deps.store.listElements(chainId);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const top = byId.get(elementId);
  if (!top && Object.keys(placed).length === 0)
    throw new ServerError('ERR_NOT_FOUND', `element ${elementId} is no longer in chain ${chainId}`);
  const subtree = top ? subtreeOf(rows, elementId) : [];
  if (top && top.parentId === null)
    throw new ServerError(
      'ERR_CONFLICT',
      `element ${elementId} is the chain's first enclave: a chain admits one first enclave, so it cannot be moved`,
    );
  const entry = await deps.chains.entry(chainId);
  const policy = entry.chain.header.policy;
  const agents = new Map((await deps.store.listAgents()).map((a) => [a.id, a]));
  const statusCache = new Map<string, Promise<{ platforms: { index: number; ppid: string }[] }>>();
  const platformsOf = (a: AgentRow) => {
    let p = statusCache.get(a.id);
    if (!p) statusCache.set(a.id, (p = deps.callAgent(a, '/v1/status')));
    return p;
  };
  const badPlatforms = new Set([...avoid.platforms].map((p) => p.toLowerCase()));
  const depth = (id: string): number => {
    const r = byId.get(id);
    return r?.parentId ? depth(r.parentId) + 1 : 1;
  };

  for (const row of subtree) {
    if (placed[row.id]?.appended) continue;
    const rec = row.record as ElementRecord;
    const parentOld = row.parentId!;
    const newParent = placed[parentOld];
    const parent = newParent
      ? { element: newParent.element, agent: newParent.agent, url: newParent.url, platform: newParent.ppid }
      : parentOf(byId.get(parentOld), agents);
    if (!parent) throw new ServerError('ERR_NOT_REATTESTABLE', `the parent ${parentOld} of ${row.id} has no agent`);
    const identity = rec.element.identity && isEnclaveIdentity(rec.element.identity) ? rec.element.identity : undefined;
    const image = { isvProdId: identity?.isvProdId ?? 1, isvSvn: identity?.isvSvn ?? 1 };
    // Where it may run: a local child with its parent; otherwise its own platform when that is still
    // good (descendants of the moved element), else the candidates, the same cloud first.
    const own = rec.agent ? agents.get(rec.agent) : undefined;
    const candidates: { agent: AgentRow; index?: number; ppid?: string }[] = [];
    if (placed[row.id]) candidates.push({ agent: agents.get(placed[row.id].agent)!, index: placed[row.id].platform });
    else if (rec.link.type === 'local' && newParent)
      candidates.push({ agent: agents.get(newParent.agent)!, ppid: newParent.ppid });
    else {
      if (row.id !== elementId && own && own.status === 'active' && !avoid.agents.has(own.id))
        candidates.push({ agent: own, ppid: rec.element.platform });
      const usable = [...agents.values()].filter((a) => a.status === 'active' && !avoid.agents.has(a.id));
      usable.sort((a, b) => Number(b.cloud === rec.element.cloud) - Number(a.cloud === rec.element.cloud));
      for (const a of usable) candidates.push({ agent: a });
    }
    let lastError: unknown;
    let done = false;
    for (const c of candidates) {
      if (!c.agent) continue;
      let targets: { index: number; ppid: string }[];
      try {
        const plats = (await platformsOf(c.agent)).platforms;
        targets = plats.filter(
          (p) =>
            (c.index === undefined || p.index === c.index) &&
            (c.ppid === undefined || p.ppid === c.ppid) &&
            !badPlatforms.has(p.ppid.toLowerCase()) &&
            (row.id !== elementId || p.ppid !== rec.element.platform),
        );
      } catch (e) {
        lastError = e;
        continue;
      }
      for (const t of targets) {
        try {
          let p = placed[row.id];
          if (!p) {
            const loaded = await deps.callAgent<{ element: string; platform: string; cloud: string }>(
              c.agent,
              '/v1/elements',
              { platform: t.index, ...image },
            );
            p = {
              agent: c.agent.id,
              url: c.agent.url,
              platform: t.index,
              ppid: loaded.platform,
              cloud: loaded.cloud,
              element: loaded.element,
            };
            placed[row.id] = p;
            await step('load', { from: row.id, element: p.element, agent: p.agent, platform: p.ppid }, { placed });
          }
          if (!(await deps.store.getElement(chainId, p.element))) {
            const type =
              rec.link.type === 'local' && p.agent === parent.agent && p.ppid === parent.platform ? 'local' : 'remote';
            const admitted = await deps.callAgent<AdmitResponse>(
              agents.get(parent.agent)!,
              `/v1/elements/${encodeURIComponent(parent.element)}/admit`,
              {
                chain: { id: chainId, policy },
                root: hex(entry.root),
                depth: depth(parentOld) + 1,
                type,
                child: type === 'local' ? { element: p.element } : { element: p.element, agent: p.url },
              },
            );
            await deps.chains.append(
              chainId,
              {
                link: admitted.link satisfies Link,
                ...(admitted.collateral ? { collateral: admitted.collateral } : {}),
                cloud: admitted.cloud,
                agent: admitted.agent,
              },
              'manager',
            );
          }
          placed[row.id] = { ...p, appended: true };
          await step('admit', { from: row.id, element: p.element, parent: parent.element }, { placed });
          done = true;
          break;
        } catch (e) {
          lastError = e;
          if (placed[row.id] && !placed[row.id].appended && candidates.length > 1) delete placed[row.id];
        }
      }
      if (done) break;
    }
    if (!done)
      throw lastError instanceof Error
        ? lastError
        : new ServerError('ERR_NOT_REATTESTABLE', `no platform that passes the policy could take ${row.id}`);
  }

  const olds = Object.keys(placed).filter((id) => byId.has(id));
  if (olds.length) {
    await deps.chains.retire(chainId, olds, `migrated: ${cause}`, 'manager');
    await step('retire', { elements: olds, cause }, { placed });
  }
  return {
    migrated: Object.entries(placed).map(([from, p]) => ({ from, to: p.element, agent: p.agent, platform: p.ppid })),
  };
}

/** The element and its descendants, parents first (rows are in seq order). */
function subtreeOf(rows: ElementRow[], id: string): ElementRow[] {
  const inside = new Set([id]);
  const out: ElementRow[] = [];
  for (const r of rows)
    if (r.id === id || (r.parentId !== null && inside.has(r.parentId) && r.status !== 'revoked')) {
      inside.add(r.id);
      out.push(r);
    }
  return out;
}

function parentOf(
  row: ElementRow | undefined,
  agents: Map<string, AgentRow>,
): { element: string; agent: string; url: string; platform: string } | undefined {
  const rec = row?.record as ElementRecord | undefined;
  const a = rec?.agent ? agents.get(rec.agent) : undefined;
  if (!row || !rec || !a) return undefined;
  return { element: row.id, agent: a.id, url: a.url, platform: rec.element.platform };
}
