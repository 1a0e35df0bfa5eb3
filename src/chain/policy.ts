import { checkIdentity } from '../attestation/identity-policy.ts';
import { isDebug } from '../formats/attributes.ts';
import type { ReportBody } from '../formats/report.ts';
import type { ChainPolicy, LinkType } from './types.ts';

export const DEFAULT_EVIDENCE_MAX_AGE_SECONDS = 24 * 3600;

/** The policy in force at a depth: the chain policy with that depth's overrides applied. */
export function policyAtDepth(p: ChainPolicy, depth: number): Omit<ChainPolicy, 'byDepth'> {
  const { byDepth, ...base } = p;
  const o = byDepth?.[String(depth)];
  return o ? { ...base, ...o } : base;
}

const ALL_LINK_TYPES: readonly LinkType[] = ['local', 'remote', 'measured'];

export type PolicyOutcome = { ok: true } | { ok: false; check: string; message: string };

/** Checks one element's evidence against the policy at its depth. */
export function checkElementPolicy(
  policy: ChainPolicy,
  depth: number,
  type: LinkType,
  body: Pick<ReportBody, 'mrEnclave' | 'mrSigner' | 'isvProdId' | 'isvSvn' | 'attributes'>,
  tcb?: { status: string; advisoryIds: string[] },
): PolicyOutcome {
  const p = policyAtDepth(policy, depth);
  const placed = placement(p, depth, type);
  if (placed) return placed;
  if (isDebug(body.attributes) && !p.allowDebug)
    return { ok: false, check: 'policy-debug', message: 'DEBUG enclave refused by the chain policy' };
  if (p.identities && p.identities.length > 0) {
    const reasons: string[] = [];
    const ok = p.identities.some((idp) => {
      const r = checkIdentity(body, { ...idp, allowDebug: p.allowDebug ?? idp.allowDebug });
      if (r.ok) return true;
      reasons.push(r.reason);
      return false;
    });
    if (!ok) return { ok: false, check: 'policy-identity', message: reasons.join('; ') };
  }
  return (tcb && tcbOutcome(p, tcb)) || { ok: true };
}

/**
 * The policy checks that apply to every kind of member (TDs and workloads; SGX enclaves get them inside
 * checkElementPolicy): depth, link type, and for remote evidence its TCB status and advisories. The
 * SGX fields (identities, allowDebug) do not apply to a TD or a workload: `tdx` and `workloads` do.
 */
export function checkMemberPolicy(
  policy: ChainPolicy,
  depth: number,
  type: LinkType,
  tcb?: { status: string; advisoryIds: string[] },
): PolicyOutcome {
  const p = policyAtDepth(policy, depth);
  return placement(p, depth, type) || (tcb && tcbOutcome(p, tcb)) || { ok: true };
}

type DepthPolicy = ReturnType<typeof policyAtDepth>;

/** Depth and link type: a refusal, or undefined. */
function placement(p: DepthPolicy, depth: number, type: LinkType): PolicyOutcome | undefined {
  if (depth > (p.maxDepth ?? Infinity))
    return { ok: false, check: 'policy-depth', message: `depth ${depth} exceeds maxDepth ${p.maxDepth}` };
  const types = p.linkTypes ?? ALL_LINK_TYPES;
  if (!types.includes(type))
    return { ok: false, check: 'policy-link-type', message: `${type} links are not allowed at depth ${depth}` };
  return undefined;
}

/** Remote evidence's TCB status and advisories: a refusal, or undefined. */
function tcbOutcome(p: DepthPolicy, tcb: { status: string; advisoryIds: string[] }): PolicyOutcome | undefined {
  const accepted = p.acceptedTcbStatuses ?? ['UpToDate'];
  if (!accepted.includes(tcb.status))
    return {
      ok: false,
      check: 'policy-tcb-status',
      message: `TCB status ${tcb.status} is not accepted (${accepted.join(', ')})`,
    };
  if (p.acceptedAdvisories) {
    const bad = tcb.advisoryIds.filter((a) => !p.acceptedAdvisories!.includes(a));
    if (bad.length)
      return { ok: false, check: 'policy-advisories', message: `advisories not accepted: ${bad.join(', ')}` };
  }
  return undefined;
}
