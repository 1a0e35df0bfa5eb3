import { equal, fromHex, hex } from '../bytes/util.ts';
import { CatenaError } from '../errors.ts';
import { EV, type TdEvent } from '../formats/tdx-event-log.ts';
import { parseEventLog } from '../formats/parse-tdx-event-log.ts';
import { replayRtmrs } from '../formats/replay-rtmrs.ts';
import type { TdPolicy } from './appraisal-policy.ts';
import type { Check, QuoteSummary } from './dcap/types.ts';

export const TD_POLICY_FIELDS = [
  'mrTd',
  'rtmr0',
  'rtmr1',
  'rtmr2',
  'eventDigests',
  'tdAttributes',
  'tdAttributesMask',
  'xfam',
  'xfamMask',
  'mrConfigId',
  'mrOwner',
  'mrOwnerConfig',
  'allowServiceTd',
] as const;
export const SGX_POLICY_FIELDS = ['mrEnclave', 'mrSigner', 'isvProdId', 'minIsvSvn'] as const;

/** The byte size of each hex field of a TD policy (the chain's policy shape checks them too). */
export const TD_POLICY_HEX_SIZES: Readonly<Record<string, number>> = {
  rtmr0: 48,
  rtmr1: 48,
  rtmr2: 48,
  tdAttributes: 8,
  tdAttributesMask: 8,
  xfam: 8,
  xfamMask: 8,
  mrConfigId: 48,
  mrOwner: 48,
  mrOwnerConfig: 48,
};

function hexOf(v: unknown, n: number, k: string): string {
  // Stryker disable next-line Regex: the length check asks for 2n characters, so hex pairs and hex digits accept the same strings
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(v) || v.length !== 2 * n)
    throw new TypeError(`policy.${k}: expected ${n} bytes of hex`);
  return v.toLowerCase();
}

/** The TD fields of a policy object (already checked to hold no SGX field); TypeError naming a bad field. */
export function parseTdPolicy(o: Record<string, unknown>): TdPolicy {
  const p: TdPolicy = {};
  const list = (k: 'mrTd' | 'eventDigests') => {
    const v = o[k];
    if (!Array.isArray(v)) throw new TypeError(`policy.${k}: expected an array of 48-byte hex strings`);
    return v.map((x, i) => hexOf(x, 48, `${k}[${i}]`));
  };
  if (o.mrTd !== undefined) p.mrTd = list('mrTd');
  if (o.eventDigests !== undefined) p.eventDigests = list('eventDigests');
  for (const [k, n] of Object.entries(TD_POLICY_HEX_SIZES))
    if (o[k] !== undefined) (p as Record<string, string>)[k] = hexOf(o[k], n, k);
  if (o.allowServiceTd !== undefined) {
    if (typeof o.allowServiceTd !== 'boolean') throw new TypeError('policy.allowServiceTd: expected a boolean');
    p.allowServiceTd = o.allowServiceTd;
  }
  return p;
}

const CODES = {
  'td.eventLog': 'ERR_EVENT_LOG_MISMATCH',
  'policy.kind': 'ERR_POLICY_KIND',
  'policy.serviceTd': 'ERR_SERVICE_TD',
  'policy.td': 'ERR_TD_POLICY',
} as const;

function check(name: string, code: string, ok: boolean, detail: string): Check {
  return ok ? { name, ok, detail } : { name, ok, detail, code };
}

/**
 * td.eventLog: the event log parses and replays to the quoted RTMR0..3. Returns the check and, when it
 * holds, the events (for the eventDigests policy).
 */
export function eventLogCheck(q: QuoteSummary, log: Uint8Array): { check: Check; events?: TdEvent[] } {
  const name = 'td.eventLog';
  if (q.teeType !== 'tdx' || !q.td)
    return { check: check(name, CODES[name], false, 'an event log was given for an SGX enclave quote') };
  let events: TdEvent[];
  try {
    events = parseEventLog(log).events;
  } catch (e) {
    return { check: check(name, e instanceof CatenaError ? e.code : CODES[name], false, (e as Error).message) };
  }
  const replayed = replayRtmrs(events);
  const bad = replayed.flatMap((r, i) => (equal(r, fromHex(q.td!.rtmr[i])) ? [] : [`RTMR${i}`]));
  if (bad.length)
    return {
      check: check(
        name,
        CODES[name],
        false,
        `the event log (${events.length} events) does not replay to the quoted ${bad.join(', ')}`,
      ),
    };
  return { check: check(name, CODES[name], true, `${events.length} events replay to the quoted RTMR0..3`), events };
}

function masked(a: string, b: string, mask: string): boolean {
  const x = fromHex(a);
  const y = fromHex(b);
  const m = fromHex(mask);
  return m.every((mb, i) => (x[i] & mb) === (y[i] & mb));
}

/**
 * The TD policy's checks on a quote: policy.kind (a TD policy for an SGX quote fails), policy.serviceTd
 * (always, for a TD), then policy.td.* for each field the policy sets. `events`: the replayed event log,
 * when one was given and replayed.
 */
export function applyTdPolicy(policy: TdPolicy | undefined, q: QuoteSummary, events: TdEvent[] | undefined): Check[] {
  const out: Check[] = [];
  if (q.teeType !== 'tdx' || !q.td) {
    if (policy)
      out.push(
        check('policy.kind', CODES['policy.kind'], false, 'the policy names TD fields; the quote is of an SGX enclave'),
      );
    return out;
  }
  const td = q.td;
  const serviceTd = td.mrServiceTd !== undefined && !/^0*$/.test(td.mrServiceTd);
  out.push(
    check(
      'policy.serviceTd',
      CODES['policy.serviceTd'],
      !serviceTd || policy?.allowServiceTd === true,
      serviceTd
        ? policy?.allowServiceTd
          ? `bound to service TDs (MR_SERVICETD ${td.mrServiceTd}), allowed by policy`
          : `the TD is bound to service TDs (MR_SERVICETD ${td.mrServiceTd}); the policy does not allow it (allowServiceTd)`
        : 'bound to no service TD',
    ),
  );
  if (!policy) return out;
  const code = CODES['policy.td'];
  if (policy.mrTd) {
    const ok = policy.mrTd.includes(q.mrEnclave);
    out.push(
      check('policy.td.mrTd', code, ok, ok ? 'MRTD is in the policy' : `MRTD ${q.mrEnclave} is not in the policy`),
    );
  }
  const rtmrBad = (['rtmr0', 'rtmr1', 'rtmr2'] as const).flatMap((k, i) =>
    policy[k] !== undefined && policy[k] !== td.rtmr[i] ? [`RTMR${i} ${td.rtmr[i]} is not ${policy[k]}`] : [],
  );
  if (policy.rtmr0 ?? policy.rtmr1 ?? policy.rtmr2)
    out.push(
      check('policy.td.rtmr', code, rtmrBad.length === 0, rtmrBad.length ? rtmrBad.join('; ') : 'RTMR0..2 as expected'),
    );
  if (policy.eventDigests) {
    const allowed = new Set(policy.eventDigests);
    const bad = events?.filter((e) => e.eventType !== EV.NO_ACTION && !allowed.has(hex(e.digest)));
    out.push(
      check(
        'policy.td.eventDigests',
        code,
        bad !== undefined && bad.length === 0,
        bad === undefined
          ? 'the policy lists event digests: a replayed event log is needed (--event-log)'
          : bad.length
            ? `${bad.length} measured events not in the policy, first ${hex(bad[0].digest)} (RTMR${bad[0].mrIndex - 1})`
            : `all ${events!.length} events are in the policy`,
      ),
    );
  }
  if (policy.tdAttributes !== undefined) {
    const ok = masked(q.attributes, policy.tdAttributes, policy.tdAttributesMask ?? 'ffffffffffffffff');
    out.push(
      check(
        'policy.td.attributes',
        code,
        ok,
        ok
          ? 'TD_ATTRIBUTES as expected (masked)'
          : `TD_ATTRIBUTES ${q.attributes} differ from ${policy.tdAttributes} under the mask`,
      ),
    );
  }
  if (policy.xfam !== undefined) {
    const ok = masked(td.xfam, policy.xfam, policy.xfamMask ?? 'ffffffffffffffff');
    out.push(
      check(
        'policy.td.xfam',
        code,
        ok,
        ok ? 'XFAM as expected (masked)' : `XFAM ${td.xfam} differs from ${policy.xfam} under the mask`,
      ),
    );
  }
  const owner = (['mrConfigId', 'mrOwner', 'mrOwnerConfig'] as const).flatMap((k) =>
    policy[k] !== undefined && policy[k] !== td[k] ? [`${k.toUpperCase()} ${td[k]} is not ${policy[k]}`] : [],
  );
  if (policy.mrConfigId ?? policy.mrOwner ?? policy.mrOwnerConfig)
    out.push(
      check(
        'policy.td.owner',
        code,
        owner.length === 0,
        owner.length ? owner.join('; ') : 'MRCONFIGID / MROWNER / MROWNERCONFIG as expected',
      ),
    );
  return out;
}
