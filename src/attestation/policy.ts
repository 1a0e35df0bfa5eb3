import { hex } from '../bytes/util.ts';
import type { AppraisalPolicy } from './appraisal-policy.ts';
import type { Check, QuoteSummary } from './dcap/types.ts';
import { parseTdPolicy, SGX_POLICY_FIELDS, TD_POLICY_FIELDS } from './td-policy.ts';

export const DEFAULT_ACCEPTED_TCB_STATUSES = ['UpToDate'] as const;

export interface PolicyFacts {
  quote?: QuoteSummary;
  tcbStatus?: string;
  advisoryIds: string[];
  collateralIssueDates: Date[];
  at: Date;
}

const CODES = {
  'policy.tcbStatus': 'ERR_TCB_STATUS_NOT_ACCEPTED',
  'policy.advisories': 'ERR_ADVISORY_NOT_ACCEPTED',
  'policy.debug': 'ERR_DEBUG_ENCLAVE',
  'policy.identity': 'ERR_IDENTITY_MISMATCH',
  'policy.reportData': 'ERR_REPORT_DATA_MISMATCH',
  'policy.collateralAge': 'ERR_COLLATERAL_TOO_OLD',
} as const;

function check(name: keyof typeof CODES, ok: boolean, detail: string): Check {
  return ok ? { name, ok, detail } : { name, ok, detail, code: CODES[name] };
}

/** Validates a policy object's shape (from a file or an API body); throws TypeError naming the field. */
export function parsePolicy(x: unknown): AppraisalPolicy {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new TypeError('policy: expected an object');
  const o = x as Record<string, unknown>;
  const known = [
    'mrEnclave',
    'mrSigner',
    'isvProdId',
    'minIsvSvn',
    'allowDebug',
    'reportData',
    'acceptedTcbStatuses',
    'acceptedAdvisories',
    'maxCollateralAgeSeconds',
    ...TD_POLICY_FIELDS,
  ];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new TypeError(`policy: unknown field ${k}`);
  // A policy is for one kind of element: an SGX enclave's fields and a TD's never mix.
  const sgx = SGX_POLICY_FIELDS.filter((k) => o[k] !== undefined);
  const td = TD_POLICY_FIELDS.filter((k) => o[k] !== undefined);
  if (sgx.length && td.length)
    throw new TypeError(
      `policy: ${sgx.join(', ')} ${sgx.length > 1 ? 'are SGX enclave fields' : 'is an SGX enclave field'} and ${td.join(', ')} ${td.length > 1 ? 'are TD fields' : 'is a TD field'}; a policy is for one kind`,
    );
  const p: AppraisalPolicy = td.length ? { td: parseTdPolicy(o) } : {};
  const hexStr = (v: unknown, n: number | undefined, k: string) => {
    if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(v) || (n !== undefined && v.length !== 2 * n))
      throw new TypeError(`policy.${k}: expected ${n ?? 'some'} bytes of hex`);
    return v.toLowerCase();
  };
  const strs = (v: unknown, k: string) => {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
      throw new TypeError(`policy.${k}: expected an array of strings`);
    return v as string[];
  };
  const int = (v: unknown, k: string, max: number) => {
    // Stryker disable next-line ConditionalExpression: Number.isInteger is false for every non-number, with the same error
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      throw new TypeError(`policy.${k}: expected an integer in [0, ${max}]`);
    return v;
  };
  if (o.mrEnclave !== undefined)
    p.mrEnclave = strs(o.mrEnclave, 'mrEnclave').map((s) => hexStr(s, undefined, 'mrEnclave'));
  if (o.mrSigner !== undefined) p.mrSigner = hexStr(o.mrSigner, 32, 'mrSigner');
  if (o.isvProdId !== undefined) p.isvProdId = int(o.isvProdId, 'isvProdId', 0xffff);
  if (o.minIsvSvn !== undefined) p.minIsvSvn = int(o.minIsvSvn, 'minIsvSvn', 0xffff);
  if (o.allowDebug !== undefined) {
    if (typeof o.allowDebug !== 'boolean') throw new TypeError('policy.allowDebug: expected a boolean');
    p.allowDebug = o.allowDebug;
  }
  if (o.reportData !== undefined) {
    const h = hexStr(o.reportData, undefined, 'reportData');
    if (h.length > 128) throw new TypeError('policy.reportData: at most 64 bytes');
    p.reportData = new Uint8Array(Buffer.from(h, 'hex'));
  }
  if (o.acceptedTcbStatuses !== undefined) p.acceptedTcbStatuses = strs(o.acceptedTcbStatuses, 'acceptedTcbStatuses');
  if (o.acceptedAdvisories !== undefined) p.acceptedAdvisories = strs(o.acceptedAdvisories, 'acceptedAdvisories');
  if (o.maxCollateralAgeSeconds !== undefined)
    p.maxCollateralAgeSeconds = int(o.maxCollateralAgeSeconds, 'maxCollateralAgeSeconds', Number.MAX_SAFE_INTEGER);
  return p;
}

/**
 * The policy checks, in order: TCB status, advisories, DEBUG, identity, REPORTDATA, collateral age.
 * Without a parsed quote only the status-based checks can run; the rest are reported as skipped.
 */
export function applyPolicy(policy: AppraisalPolicy, f: PolicyFacts): Check[] {
  const out: Check[] = [];
  const accepted = policy.acceptedTcbStatuses ?? [...DEFAULT_ACCEPTED_TCB_STATUSES];
  if (f.tcbStatus === undefined)
    out.push({
      name: 'policy.tcbStatus',
      ok: false,
      skipped: true,
      detail: 'no TCB status was computed',
      code: CODES['policy.tcbStatus'],
    });
  else
    out.push(
      check(
        'policy.tcbStatus',
        accepted.includes(f.tcbStatus),
        `${f.tcbStatus} ${accepted.includes(f.tcbStatus) ? 'is' : 'is not'} among the accepted statuses [${accepted.join(', ')}]`,
      ),
    );

  if (policy.acceptedAdvisories) {
    const bad = f.advisoryIds.filter((a) => !policy.acceptedAdvisories!.includes(a));
    out.push(
      check(
        'policy.advisories',
        bad.length === 0,
        bad.length ? `advisories not accepted: ${bad.join(', ')}` : 'every advisory is accepted',
      ),
    );
  } else {
    out.push(
      check(
        'policy.advisories',
        true,
        f.advisoryIds.length ? `advisories accepted with their status: ${f.advisoryIds.join(', ')}` : 'no advisories',
      ),
    );
  }

  const q = f.quote;
  if (!q) {
    for (const name of ['policy.debug', 'policy.identity', 'policy.reportData'] as const)
      out.push({ name, ok: false, skipped: true, detail: 'the quote could not be read', code: CODES[name] });
  } else {
    out.push(
      check(
        'policy.debug',
        !q.debug || policy.allowDebug === true,
        q.debug
          ? policy.allowDebug
            ? 'DEBUG enclave allowed by policy'
            : 'DEBUG enclave refused (its memory is readable by the host)'
          : 'not a DEBUG enclave',
      ),
    );
    out.push(identityCheck(policy, q));
    if (policy.reportData) {
      const want = hex(policy.reportData);
      const ok = q.reportData.startsWith(want);
      out.push(
        check(
          'policy.reportData',
          ok,
          ok
            ? `REPORTDATA ${policy.reportData.length === 64 ? 'matches' : `starts with the expected ${policy.reportData.length} bytes`}`
            : `REPORTDATA does not ${policy.reportData.length === 64 ? 'match' : 'start with'} ${want}`,
        ),
      );
    } else out.push(check('policy.reportData', true, 'no REPORTDATA required by policy'));
  }

  if (policy.maxCollateralAgeSeconds !== undefined) {
    const max = policy.maxCollateralAgeSeconds;
    if (f.collateralIssueDates.length === 0)
      out.push({
        name: 'policy.collateralAge',
        ok: false,
        skipped: true,
        detail: 'no collateral was read',
        code: CODES['policy.collateralAge'],
      });
    else {
      const oldest = Math.min(...f.collateralIssueDates.map((d) => d.getTime()));
      const age = Math.floor((f.at.getTime() - oldest) / 1000);
      out.push(
        check(
          'policy.collateralAge',
          age <= max,
          `oldest collateral issued ${age} s before the verification time (max ${max} s)`,
        ),
      );
    }
  }
  return out;
}

function identityCheck(policy: AppraisalPolicy, q: QuoteSummary): Check {
  const fails: string[] = [];
  if (
    policy.mrEnclave &&
    policy.mrEnclave.length > 0 &&
    !policy.mrEnclave.some((m) => m.toLowerCase() === q.mrEnclave)
  ) {
    fails.push(`${q.teeType === 'tdx' ? 'MRTD' : 'MRENCLAVE'} ${q.mrEnclave} is not in the policy`);
  }
  const signerFields =
    policy.mrSigner !== undefined || policy.isvProdId !== undefined || policy.minIsvSvn !== undefined;
  if (signerFields && q.teeType === 'tdx') fails.push('MRSIGNER/ISVPRODID/ISVSVN do not apply to a TD');
  else {
    if (policy.mrSigner !== undefined && policy.mrSigner.toLowerCase() !== q.mrSigner)
      fails.push(`MRSIGNER ${q.mrSigner} is not ${policy.mrSigner.toLowerCase()}`);
    if (policy.isvProdId !== undefined && policy.isvProdId !== q.isvProdId)
      fails.push(`ISVPRODID ${q.isvProdId} is not ${policy.isvProdId}`);
    // Stryker disable next-line ConditionalExpression: without a minimum, `q.isvSvn < undefined` is false as well
    if (policy.minIsvSvn !== undefined && q.isvSvn < policy.minIsvSvn)
      fails.push(`ISVSVN ${q.isvSvn} is below ${policy.minIsvSvn}`);
  }
  if (fails.length) return check('policy.identity', false, fails.join('; '));
  const named = (policy.mrEnclave?.length ?? 0) > 0 || signerFields;
  return check(
    'policy.identity',
    true,
    named ? 'the enclave identity matches the policy' : 'no enclave identity required by policy',
  );
}
