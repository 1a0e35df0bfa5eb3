import { TD_POLICY_HEX_SIZES } from '../attestation/td-policy.ts';
/**
 * The shape of a ChainPolicy (types.ts) as JSON data: every known field with its documented type,
 * `byDepth` keyed by depths. Returns the first problem, naming the field; undefined when the policy
 * is well formed. `strict` also refuses unknown fields (new policies); proof bundles are read
 * leniently (unknown fields ignored by every check), so bundles written by later versions still read.
 */
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// An even length is checked first: the pattern need not count pairs.
const isHex = (v: unknown, len: number) => typeof v === 'string' && v.length === len * 2 && /^[0-9a-f]*$/.test(v);
// Number.isSafeInteger does not coerce: false for every non-number.
const isInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isStrList = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** A depth as a byDepth key: 1, 2, … in decimal, no sign, no leading zero (depth 1 is the first enclave). */
export const DEPTH_KEY = /^[1-9][0-9]*$/;

const IDENTITY_FIELDS = ['mrEnclave', 'mrSigner', 'isvProdId', 'minIsvSvn', 'allowDebug'];
const POLICY_FIELDS = [
  'identities',
  'acceptedTcbStatuses',
  'acceptedAdvisories',
  'allowDebug',
  'evidenceMaxAgeSeconds',
  'linkTypes',
  'maxDepth',
  'byDepth',
  'reactions',
  'tdx',
  'workloads',
];

/** The fields of each kind's section (issue 16); a field of one kind named in another's is a kind error. */
export const TDX_POLICY_FIELDS = [
  'mrTd',
  'rtmr0',
  'rtmr1',
  'rtmr2',
  'eventDigests',
  'allowDebug',
  'tdAttributes',
  'tdAttributesMask',
  'xfam',
  'xfamMask',
  'mrConfigId',
  'mrOwner',
  'mrOwnerConfig',
  'allowServiceTd',
];
export const WORKLOAD_POLICY_FIELDS = ['imageDigests'];
const KIND_OF_FIELD: Record<string, string> = {
  ...Object.fromEntries(IDENTITY_FIELDS.filter((f) => f !== 'allowDebug').map((f) => [f, 'sgx-enclave'])),
  ...Object.fromEntries(TDX_POLICY_FIELDS.filter((f) => f !== 'allowDebug').map((f) => [f, 'tdx-td'])),
  imageDigests: 'td-workload',
};

/**
 * A field of another element kind named where a kind's checks are set: an SGX identity field (mrEnclave,
 * mrSigner, isvProdId, minIsvSvn) in `tdx` or `workloads` or at the top level, a TD field (mrTd, rtmr0, …)
 * in `identities`, `workloads` or at the top level, a workload's imageDigests anywhere but `workloads`.
 * Returns the problem naming the field and both kinds, or undefined.
 */
export function policyKindProblem(p: unknown, at = 'policy', nested = false): string | undefined {
  if (!isObj(p)) return undefined;
  const misplaced = (o: unknown, where: string, kind: string, allowed: readonly string[]) => {
    if (!isObj(o)) return undefined;
    for (const k of Object.keys(o)) {
      const owner = KIND_OF_FIELD[k];
      // A field of this very kind is always among its allowed ones: only another kind's can be misplaced.
      if (owner && !allowed.includes(k))
        return `${where}.${k} is a field of ${owner} elements; ${where} sets the checks of ${kind} elements`;
    }
    return undefined;
  };
  for (const k of Object.keys(p)) {
    const owner = KIND_OF_FIELD[k];
    if (owner && !POLICY_FIELDS.includes(k))
      return `${at}.${k} is a field of ${owner} elements: set it in ${owner === 'sgx-enclave' ? `${at}.identities[]` : owner === 'tdx-td' ? `${at}.tdx` : `${at}.workloads`}`;
  }
  if (Array.isArray(p.identities))
    for (const [n, i] of p.identities.entries()) {
      const bad = misplaced(i, `${at}.identities[${n}]`, 'sgx-enclave', IDENTITY_FIELDS);
      if (bad) return bad;
    }
  const td = misplaced(p.tdx, `${at}.tdx`, 'tdx-td', TDX_POLICY_FIELDS);
  if (td) return td;
  const w = misplaced(p.workloads, `${at}.workloads`, 'td-workload', WORKLOAD_POLICY_FIELDS);
  if (w) return w;
  if (!nested && isObj(p.byDepth))
    for (const [k, o] of Object.entries(p.byDepth)) {
      const bad = policyKindProblem(o, `${at}.byDepth.${k}`, true);
      if (bad) return bad;
    }
  return undefined;
}

function tdxProblem(t: unknown, at: string, strict: boolean): string | undefined {
  if (!isObj(t)) return `${at} must be an object`;
  for (const k of ['mrTd', 'eventDigests'])
    if (t[k] !== undefined && !(Array.isArray(t[k]) && (t[k] as unknown[]).every((m) => isHex(m, 48))))
      return `${at}.${k} must be a list of 48-byte lowercase hex values`;
  for (const [k, n] of Object.entries(TD_POLICY_HEX_SIZES))
    if (t[k] !== undefined && !isHex(t[k], n)) return `${at}.${k} must be ${n} bytes of lowercase hex`;
  for (const k of ['allowDebug', 'allowServiceTd'])
    if (t[k] !== undefined && typeof t[k] !== 'boolean') return `${at}.${k} must be a boolean`;
  if (strict)
    for (const k of Object.keys(t)) if (!TDX_POLICY_FIELDS.includes(k)) return `${at}.${k} is not a policy field`;
  return undefined;
}

function workloadsProblem(w: unknown, at: string, strict: boolean): string | undefined {
  if (!isObj(w)) return `${at} must be an object`;
  if (w.imageDigests !== undefined && !(isStrList(w.imageDigests) && w.imageDigests.length > 0))
    return `${at}.imageDigests must be a non-empty list of strings`;
  if (strict)
    for (const k of Object.keys(w)) if (!WORKLOAD_POLICY_FIELDS.includes(k)) return `${at}.${k} is not a policy field`;
  return undefined;
}

/** What the manager watches for, and what it may do about it (docs/self-management.md). */
export const REACTION_EVENTS = [
  'tcb-downgrade',
  'tcb-predicted-downgrade',
  'revoked',
  'evidence-stale',
  'collateral-stale',
  'agent-lost',
] as const;
export const REACTION_ACTIONS = ['notify', 'reattest', 'quarantine', 'migrate', 'revoke'] as const;

function reactionsProblem(r: unknown, at: string): string | undefined {
  if (!isObj(r)) return `${at} must be an object keyed by event kind`;
  for (const [k, list] of Object.entries(r)) {
    if (!(REACTION_EVENTS as readonly string[]).includes(k))
      return `${at}.${k} is not an event kind (${REACTION_EVENTS.join(', ')})`;
    if (!Array.isArray(list) || list.length === 0 || list.length > REACTION_ACTIONS.length * 2)
      return `${at}.${k} must be a non-empty list of actions`;
    for (const a of list)
      if (!(REACTION_ACTIONS as readonly unknown[]).includes(a))
        return `${at}.${k}: ${JSON.stringify(a)} is not an action (${REACTION_ACTIONS.join(', ')})`;
  }
  return undefined;
}

function identityProblem(i: unknown, at: string, strict: boolean): string | undefined {
  if (!isObj(i)) return `${at} is not an object`;
  if (i.mrEnclave !== undefined && !(Array.isArray(i.mrEnclave) && i.mrEnclave.every((m) => isHex(m, 32))))
    return `${at}.mrEnclave must be a list of 32-byte lowercase hex values`;
  if (i.mrSigner !== undefined && !isHex(i.mrSigner, 32)) return `${at}.mrSigner must be 32 bytes of lowercase hex`;
  if (i.isvProdId !== undefined && !isInt(i.isvProdId)) return `${at}.isvProdId must be a non-negative integer`;
  if (i.minIsvSvn !== undefined && !isInt(i.minIsvSvn)) return `${at}.minIsvSvn must be a non-negative integer`;
  if (i.allowDebug !== undefined && typeof i.allowDebug !== 'boolean') return `${at}.allowDebug must be a boolean`;
  if (strict)
    for (const k of Object.keys(i)) if (!IDENTITY_FIELDS.includes(k)) return `${at}.${k} is not a policy field`;
  return undefined;
}

export function policyProblem(
  p: unknown,
  opts: { strict: boolean },
  at = 'policy',
  nested = false,
): string | undefined {
  if (!isObj(p)) return `${at} is not an object`;
  const { strict } = opts;
  if (p.identities !== undefined) {
    if (!Array.isArray(p.identities)) return `${at}.identities must be a list`;
    for (const [n, i] of p.identities.entries()) {
      const bad = identityProblem(i, `${at}.identities[${n}]`, strict);
      if (bad) return bad;
    }
  }
  if (p.acceptedTcbStatuses !== undefined && !isStrList(p.acceptedTcbStatuses))
    return `${at}.acceptedTcbStatuses must be a list of strings`;
  if (p.acceptedAdvisories !== undefined && !isStrList(p.acceptedAdvisories))
    return `${at}.acceptedAdvisories must be a list of strings`;
  if (p.allowDebug !== undefined && typeof p.allowDebug !== 'boolean') return `${at}.allowDebug must be a boolean`;
  if (p.evidenceMaxAgeSeconds !== undefined && !isInt(p.evidenceMaxAgeSeconds))
    return `${at}.evidenceMaxAgeSeconds must be a non-negative integer`;
  if (
    p.linkTypes !== undefined &&
    !(Array.isArray(p.linkTypes) && p.linkTypes.every((t) => t === 'local' || t === 'remote' || t === 'measured'))
  )
    return `${at}.linkTypes must list 'local', 'remote' and/or 'measured'`;
  if (p.tdx !== undefined) {
    const bad = tdxProblem(p.tdx, `${at}.tdx`, strict);
    if (bad) return bad;
  }
  if (p.workloads !== undefined) {
    const bad = workloadsProblem(p.workloads, `${at}.workloads`, strict);
    if (bad) return bad;
  }
  if (p.maxDepth !== undefined && !isInt(p.maxDepth)) return `${at}.maxDepth must be a non-negative integer`;
  if (p.byDepth !== undefined) {
    if (nested) return `${at}.byDepth: overrides do not nest`;
    if (!isObj(p.byDepth)) return `${at}.byDepth must be an object keyed by depth`;
    for (const [k, o] of Object.entries(p.byDepth)) {
      if (!DEPTH_KEY.test(k))
        return `${at}.byDepth key ${JSON.stringify(k)} is not a depth (1, 2, … in decimal, no leading zero)`;
      const bad = policyProblem(o, opts, `${at}.byDepth.${k}`, true);
      if (bad) return bad;
    }
  }
  if (p.reactions !== undefined) {
    if (nested) return `${at}.reactions: reactions are set for the whole chain, not by depth`;
    const bad = reactionsProblem(p.reactions, `${at}.reactions`);
    if (bad) return bad;
  }
  if (strict) for (const k of Object.keys(p)) if (!POLICY_FIELDS.includes(k)) return `${at}.${k} is not a policy field`;
  return undefined;
}
