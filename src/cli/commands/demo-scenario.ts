import type { ChildProcess } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import type { ChainVerification, ReactionAction, ReactionEvent } from '../../chain/types.ts';
import type { ChainEvent } from '../../server/chain-service.ts';
import type { RatlsCall } from '../../server/http-json.ts';
import type { ReactionResult } from '../../server/selfmanage/reactions.ts';
import type { Manufacturer } from '../../sgx/manufacturer/manufacturer.ts';

export const SCENARIOS = ['tcb-recovery', 'revocation', 'agent-loss'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The reactions the demo chain's policy carries when a scenario runs (docs/self-management.md). */
export const DEMO_REACTIONS: Partial<Record<ReactionEvent, ReactionAction[]>> = {
  'tcb-predicted-downgrade': ['notify', 'reattest'],
  'tcb-downgrade': ['reattest', 'migrate', 'quarantine'],
  revoked: ['migrate', 'quarantine'],
  'agent-lost': ['migrate', 'quarantine'],
  'evidence-stale': ['reattest'],
  'collateral-stale': ['notify'],
};

export interface Placement {
  element: string;
  agentUrl: string;
  agentId: string;
  cloud: string;
  platform: number;
  ppid: string;
}

export interface ScenarioWorld {
  manager: FastifyInstance;
  managerUrl: string;
  adminToken: string;
  chainId: string;
  pcsUrl: string;
  pcsAdminToken: string;
  manufacturer: Manufacturer;
  fmspc: Uint8Array;
  agents: { cloud: string; url: string; id: string; child: ChildProcess }[];
  placements: Placement[];
  agentAccess: { ratls: RatlsCall; token: string };
  progress(msg: string): void;
}

export interface ScenarioSummary {
  scenario: Scenario;
  affected: number;
  predicted: number;
  reattested: number;
  migrated: number;
  quarantined: number;
  revoked: number;
  detectedMs: number;
  healedMs: number;
  valid: boolean;
  timeline: { ms: number; what: string }[];
  failures: ChainVerification['failures'];
}

/**
 * Runs one self-management scenario on the demo's world: causes the event (a TCB recovery staged
 * early → standard with platform TCB updates, a platform revocation, an agent killed), then watches
 * the manager's own events — detected, re-appraised, reactions done — until the chain is valid
 * again with every affected element handled, and times each step.
 */
export async function runScenario(name: Scenario, w: ScenarioWorld, timeoutMs = 150_000): Promise<ScenarioSummary> {
  const { callJson } = await import('../../server/http-json.ts');
  const t0 = performance.now();
  const timeline: { ms: number; what: string }[] = [];
  const mark = (what: string) => {
    const ms = Math.round(performance.now() - t0);
    timeline.push({ ms, what });
    w.progress(`[${name} +${ms} ms] ${what}`);
    return ms;
  };
  const events: { t: number; ev: ChainEvent }[] = [];
  const waiters = new Set<() => void>();
  const onEvent = (ev: ChainEvent) => {
    events.push({ t: performance.now(), ev });
    for (const f of waiters) f();
  };
  w.manager.chains.events.on('event', onEvent);
  const until = (what: string, ok: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      if (ok()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${name}: timed out waiting until ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  const since = (t: number) => events.filter((e) => e.t >= t).map((e) => e.ev);
  const states = (t: number, state: string) =>
    new Set(
      since(t)
        .filter((e) => e.type === 'element.state' && e.state === state)
        .map((e) => e.element as string),
    );
  const reactions = (t: number) =>
    since(t)
      .filter((e) => e.type === 'reaction.done')
      .map((e) => e.reaction as ReactionResult);
  const pcsAdmin = (path: string, body: unknown) => callJson(`${w.pcsUrl}${path}`, { body, token: w.pcsAdminToken });
  const live = async () => {
    const els = await callJson<{ elements: { id: string; status: string; health?: { state: string } }[] }>(
      `${w.managerUrl}/v1/chains/${w.chainId}/elements`,
      { token: w.adminToken },
    );
    return els.elements;
  };
  const healthy = async (): Promise<{ ok: boolean; v: ChainVerification }> => {
    await w.manager.selfManager?.analyseAll();
    const v = await callJson<ChainVerification>(`${w.managerUrl}/v1/chains/${w.chainId}/verify`, {
      token: w.adminToken,
    });
    const els = await live();
    const ok = v.valid && els.every((e) => e.status === 'active' && (e.health?.state ?? 'valid') === 'valid');
    return { ok, v };
  };
  const waitHealthy = async (): Promise<ChainVerification> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const h = await healthy();
      if (h.ok || performance.now() > deadline) return h.v;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const firstAfter = (t: number, type: string, pred: (e: ChainEvent) => boolean = () => true) =>
    events.find((e) => e.t >= t && e.ev.type === type && pred(e.ev));

  // The monitor's baseline first: it learns the chain's platforms in a round's analysis and fetches their
  // collateral then. An event caused before that would already be in its first copy, never seen as a change
  // (on a fast machine the scenario could start before the first round had registered them).
  await w.manager.selfManager?.tick();

  let affected: Set<string>;
  let predicted = 0;
  let detectedMs: number;
  let tEvent: number;
  try {
    switch (name) {
      case 'tcb-recovery': {
        tEvent = performance.now();
        await pcsAdmin('/admin/v1/tcb-recovery', { stage: 'early' });
        mark('Intel (emulated) publishes the next TCB evaluation data number at update=early');
        await until('the early TCB info is detected', () =>
          Boolean(firstAfter(tEvent, 'collateral.changed', (e) => e.update === 'early')),
        );
        detectedMs = firstAfter(tEvent, 'collateral.changed')!.t - tEvent;
        mark('the manager detects the early release');
        const n = w.placements.length;
        await until('every element is predicted at risk', () => states(tEvent, 'at-risk').size >= n);
        const risk = states(tEvent, 'at-risk');
        predicted = risk.size;
        affected = risk;
        const at = since(tEvent).find((e) => e.type === 'element.state' && typeof e.predictedAt === 'string')
          ?.predictedAt as string | undefined;
        mark(
          `re-appraised from stored evidence: ${predicted} elements at-risk${at ? ` (the release takes effect ${at})` : ''}`,
        );
        // The operator answers the notification: each platform takes the microcode/PCE update.
        const level = w.manufacturer.tcbLevels(w.fmspc, 'early')[0];
        const platforms = new Map<string, Placement>();
        for (const p of w.placements) platforms.set(`${p.agentUrl}|${p.platform}`, p);
        for (const p of platforms.values())
          await callJson(`${p.agentUrl}/v1/platforms/${p.platform}/tcb-update`, {
            body: { components: [...level.components], pceSvn: level.pceSvn },
            token: w.agentAccess.token,
            ratls: w.agentAccess.ratls,
          });
        mark(`${platforms.size} platforms take the TCB update (new CPUSVN/PCESVN, new PCK certificates)`);
        await until('every at-risk element is re-attested and valid', () => {
          const healed = reactions(tEvent).filter((r) => r.outcome === 'healed');
          return [...affected].every((id) => healed.some((r) => r.element === id));
        });
        mark('the reactions re-attest every element: fresh quotes, valid under the early release too');
        const tStd = performance.now();
        await pcsAdmin('/admin/v1/tcb-recovery', { stage: 'standard' });
        mark('Intel (emulated) promotes the release to update=standard');
        await until('the standard release is detected', () =>
          Boolean(firstAfter(tStd, 'collateral.changed', (e) => e.update !== 'early' && e.kind === 'tcb-info')),
        );
        mark(`detected; degraded after the promotion: ${states(tStd, 'degraded').size}`);
        break;
      }
      case 'revocation': {
        // The platform of the last cloud's first enclave: its subtree moves to a good platform.
        const last = w.agents[w.agents.length - 1];
        const victim = w.placements.find((p) => p.agentId === last.id && p.platform === 0)!;
        // Its PCK certificate, as the quote in the chain carries it (the agent's world issued it).
        const el = await callJson<{ link: { evidence: { quote?: string } } }>(
          `${w.managerUrl}/v1/chains/${w.chainId}/elements/${victim.element}`,
          { token: w.adminToken },
        );
        const { parseQuote } = await import('../../formats/quote.ts');
        const { pemCertificates } = await import('../../attestation/pem.ts');
        const q = parseQuote(Buffer.from(el.link.evidence.quote!, 'hex'), { allowZeroPadding: true });
        const [pck] = pemCertificates(Buffer.from(q.signatureData.qe.certification.data).toString('latin1'));
        tEvent = performance.now();
        await pcsAdmin('/admin/v1/revocations', { pckCertificate: Buffer.from(pck).toString('hex') });
        mark(`Intel (emulated) revokes the PCK certificate of platform ${victim.ppid.slice(0, 12)}… (${victim.cloud})`);
        await until('the PCK CRL change is detected', () =>
          Boolean(firstAfter(tEvent, 'collateral.changed', (e) => e.kind === 'pck-crl')),
        );
        detectedMs = firstAfter(tEvent, 'collateral.changed', (e) => e.kind === 'pck-crl')!.t - tEvent;
        mark('the manager detects the new PCK CRL');
        const onIt = w.placements.filter((p) => p.ppid === victim.ppid).map((p) => p.element);
        await until('the elements on the platform are found revoked', () =>
          onIt.every((id) => states(tEvent, 'revoked').has(id)),
        );
        affected = states(tEvent, 'revoked');
        mark(`re-appraised from stored evidence: ${affected.size} elements revoked (PCK on the CRL)`);
        await until('every affected element is handled', () => handled(reactions(tEvent), affected));
        mark('the reaction moves the subtree to a good platform and retires the old elements');
        break;
      }
      case 'agent-loss': {
        const last = w.agents[w.agents.length - 1];
        tEvent = performance.now();
        last.child.kill('SIGKILL');
        mark(`agent ${last.id} (${last.cloud}) killed`);
        await until('the agent is found unreachable', () =>
          Boolean(firstAfter(tEvent, 'agent.status', (e) => e.agent === last.id && e.status === 'unreachable')),
        );
        detectedMs = firstAfter(tEvent, 'agent.status', (e) => e.agent === last.id)!.t - tEvent;
        mark('the manager finds the agent unreachable (health check)');
        affected = new Set(w.placements.filter((p) => p.agentId === last.id).map((p) => p.element));
        await until('every element of the lost agent is handled', () => handled(reactions(tEvent), affected));
        mark(
          'the reaction relaunches its enclaves on another cloud, admitted by their parents, and retires the old ones',
        );
        break;
      }
    }
    const v = await waitHealthy();
    mark(v.valid ? 'chain valid again' : 'chain NOT valid');
    const healedMs = performance.now() - tEvent!;
    const rs = reactions(tEvent!);
    const migrated = new Set(rs.flatMap((r) => (r.migrated ?? []).map((m) => m.from)));
    const h = await healthy();
    return {
      scenario: name,
      affected: affected!.size,
      predicted,
      reattested: new Set(rs.filter((r) => r.by === 'reattest' && r.outcome === 'healed').map((r) => r.element)).size,
      migrated: migrated.size,
      quarantined: rs.filter((r) => r.outcome === 'quarantined').length,
      revoked: rs.filter((r) => r.outcome === 'revoked').length,
      detectedMs: Math.max(1, Math.round(detectedMs!)),
      healedMs: Math.max(1, Math.round(healedMs)),
      valid: h.ok,
      timeline,
      failures: h.v.failures,
    };
  } finally {
    w.manager.chains.events.off('event', onEvent);
  }
}

/** Every affected element was reattested/quarantined/revoked, or moved (itself or with an ancestor). */
function handled(rs: ReactionResult[], affected: Set<string>): boolean {
  const moved = new Set(rs.flatMap((r) => (r.migrated ?? []).map((m) => m.from)));
  const done = new Set(rs.filter((r) => r.outcome !== 'skipped' && r.outcome !== 'notified').map((r) => r.element));
  return [...affected].every((id) => moved.has(id) || done.has(id));
}
