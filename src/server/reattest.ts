import { randomBytes } from 'node:crypto';
import { ctEqual, fromHex, hex } from '../bytes/util.ts';
import { checkElementPolicy } from '../chain/policy.ts';
import type { RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import { elementReportData } from '../chain/signing.ts';
import type { CollateralBlob, Element, LinkType } from '../chain/types.ts';
import { isEnclaveIdentity } from '../chain/layers.ts';
import { collateralId } from '../chain/verify-bundle.ts';
import { identityOfBody, sameIdentity } from '../chain/identity.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { Store } from '../store/types.ts';
import type { ChainService, ElementRecord } from './chain-service.ts';
import { ServerError } from './errors.ts';
import type { Reattestation } from './reattestation.ts';

export type { Reattestation } from './reattestation.ts';

/** Fresh evidence from the agent hosting an element: a quote whose REPORTDATA binds (chain, element key, nonce). */
export interface AgentEvidence {
  quote: string;
  collateral?: CollateralBlob;
}

/** Asks an agent (as registered) for an element's evidence (`POST {url}/v1/elements/:id/evidence`). */
export type FetchEvidence = (
  agent: { id: string; url: string },
  elementId: string,
  chainId: string,
  nonce: string,
) => Promise<AgentEvidence>;

export interface ReattestDeps {
  chains: ChainService;
  store: Store;
  remoteVerifier: (root: Uint8Array) => RemoteEvidenceVerifier;
  /** The manager's own collateral (PCS), preferred over the agent's. */
  collateralFor?: (quote: Uint8Array, at: Date) => Promise<CollateralBlob>;
  fetchEvidence: FetchEvidence;
  clock: () => Date;
}

/** Element status after a refused re-attestation: kept in the chain (only the owner revokes), flagged. */
export const ATTESTATION_FAILED = 'attestation-failed';

/**
 * Re-attests one enclave element: a fresh nonce, fresh evidence from the agent hosting it, and the
 * manager's own appraisal — DCAP under the chain's root and collateral, the same platform, REPORTDATA
 * binding the element key recorded at admission and this nonce, the same enclave identity, and the
 * chain policy at the element's depth with the TCB status of today. Bad evidence is a `refused`
 * result (status `attestation-failed`, audited), not an error; a refused element that later passes
 * is `active` again. Errors are for what is not an appraisal: unknown element (404), revoked (409),
 * no agent to ask (422 ERR_NOT_REATTESTABLE), agent unreachable (502 ERR_AGENT), PCS down (502).
 */
export async function reattestElement(
  deps: ReattestDeps,
  chainId: string,
  elementId: string,
  actor: string,
): Promise<{ result: Reattestation; status: string; emulatedRoot: boolean }> {
  const entry = await deps.chains.entry(chainId);
  const row = await deps.store.getElement(chainId, elementId);
  if (!row) throw new ServerError('ERR_NOT_FOUND', `no enclave element ${elementId} in chain ${chainId}`);
  if (row.status === 'revoked')
    throw new ServerError('ERR_CONFLICT', `element ${elementId} is revoked; revoked elements are not re-attested`);
  const rec = row.record as ElementRecord;
  const el = entry.chain.element(elementId) ?? rec.element;
  if (!rec.agent)
    throw new ServerError(
      'ERR_NOT_REATTESTABLE',
      `element ${elementId} was appended without an agent: nobody to ask for evidence`,
    );
  const agent = await deps.store.getAgent(rec.agent);
  if (!agent)
    throw new ServerError('ERR_NOT_REATTESTABLE', `the agent ${rec.agent} hosting ${elementId} is not registered`);

  const nonce = hex(randomBytes(32));
  const evidence = await deps.fetchEvidence({ id: agent.id, url: agent.url }, elementId, chainId, nonce);
  const now = deps.clock();
  const result = await appraise(
    deps,
    entry.root,
    entry.chain.header.policy,
    depthOf(entry.chain, el),
    rec.link.type,
    chainId,
    el,
    nonce,
    evidence,
    now,
  );

  const status = result.verdict === 'affirmed' ? 'active' : ATTESTATION_FAILED;
  // Written against the row as it is now, under the chain's lock: a revocation that landed while the
  // agent answered wins, and nothing is written.
  const written = await deps.chains.updateElementUnderLock(chainId, elementId, actor, (fresh) =>
    fresh.status === 'revoked'
      ? undefined
      : {
          // A quarantined element stays quarantined (only an operator lifts it); the evidence is kept.
          status: fresh.status === 'quarantined' ? fresh.status : status,
          record: { ...(fresh.record as ElementRecord), reattestation: result },
        },
  );
  if (!written)
    throw new ServerError(
      'ERR_CONFLICT',
      `element ${elementId} was revoked while it was being re-attested; nothing written`,
    );
  deps.chains.events.emit('event', {
    type: 'element.reattested',
    chain: chainId,
    element: elementId,
    verdict: result.verdict,
    status,
    ...(result.check ? { check: result.check } : {}),
    at: now.toISOString(),
  });
  return { result, status, emulatedRoot: entry.chain.header.emulatedRoot };
}

async function appraise(
  deps: ReattestDeps,
  root: Uint8Array,
  policy: Parameters<typeof checkElementPolicy>[0],
  depth: number,
  linkType: LinkType,
  chainId: string,
  el: Element,
  nonce: string,
  evidence: AgentEvidence,
  now: Date,
): Promise<Reattestation> {
  const base = { at: now.toISOString(), nonce };
  const refused = (check: string, message: string, extra: Partial<Reattestation> = {}): Reattestation => ({
    ...base,
    verdict: 'refused',
    check,
    message,
    ...extra,
  });
  let quote: Uint8Array;
  try {
    if (typeof evidence?.quote !== 'string') throw new Error('no quote');
    quote = fromHex(evidence.quote);
  } catch (e) {
    return refused('evidence-format', `the agent sent no readable quote: ${(e as Error).message}`);
  }
  const evidenceHash = hex(sha256(quote));
  let collateral: CollateralBlob | undefined;
  let collateralSource: 'pcs' | 'agent' = 'agent';
  if (deps.collateralFor) {
    collateral = await deps.collateralFor(quote, now); // a PCS failure is ERR_COLLATERAL_UNAVAILABLE, not a verdict
    collateralSource = 'pcs';
  } else {
    collateral = evidence.collateral;
  }
  if (!collateral)
    return refused('collateral-missing', 'no collateral: the agent sent none and the manager has no PCS', {
      evidenceHash,
    });
  const withEvidence = { evidenceHash, quote: hex(quote), collateral: collateralId(collateral), collateralSource };
  const r = await deps.remoteVerifier(root).verify(quote, collateral, now);
  if (!r.ok)
    return refused(`quote:${r.check}`, r.message, {
      ...withEvidence,
      ...(r.tcbStatus ? { tcbStatus: r.tcbStatus } : {}),
      ...(r.advisoryIds ? { advisoryIds: r.advisoryIds } : {}),
    });
  const tcb = { tcbStatus: r.tcbStatus, advisoryIds: r.advisoryIds };
  // Re-attestation by the manager's agents is of SGX enclaves (a TD is re-admitted through its parent).
  if (r.tee === 'tdx')
    return refused('quote:quote.teeType', 'the quote is of a TD, not the SGX enclave admitted', {
      ...withEvidence,
      ...tcb,
    });
  if (r.platform !== el.platform)
    return refused('platform', `the quote comes from platform ${r.platform}, the element runs on ${el.platform}`, {
      ...withEvidence,
      ...tcb,
    });
  if (!el.elementKey)
    return refused('key-binding', 'the element has no recorded element key', { ...withEvidence, ...tcb });
  const expected = elementReportData(chainId, fromHex(el.elementKey, 64, 'element key'), fromHex(nonce, 32, 'nonce'));
  if (!ctEqual(r.report.reportData, expected))
    return refused('key-binding', 'REPORTDATA does not bind the element key recorded at admission and this nonce', {
      ...withEvidence,
      ...tcb,
    });
  if (!el.identity || !isEnclaveIdentity(el.identity) || !sameIdentity(identityOfBody(r.report), el.identity)) {
    return refused('identity', 'the enclave identity differs from the one admitted', { ...withEvidence, ...tcb });
  }
  const pol = checkElementPolicy(policy, depth, linkType, r.report, {
    status: r.tcbStatus,
    advisoryIds: r.advisoryIds,
  });
  if (!pol.ok) return refused(pol.check, pol.message, { ...withEvidence, ...tcb });
  return { ...base, verdict: 'affirmed', ...withEvidence, ...tcb };
}

/** Depth of an enclave element: 1 for the first enclave, parent's + 1 below it. */
function depthOf(chain: { element(id: string): Element | undefined }, el: Element): number {
  let depth = 1;
  let p = el.parent;
  while (p !== null) {
    const parent = chain.element(p);
    if (!parent || parent.kind !== 'enclave') break;
    depth++;
    p = parent.parent;
  }
  return depth;
}
