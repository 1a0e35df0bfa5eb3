import { equal, fromHex, hex } from '../bytes/util.ts';
import { applyTdPolicy } from '../attestation/td-policy.ts';
import type { QuoteSummary } from '../attestation/dcap/types.ts';
import type { TdReport10 } from '../formats/quote.ts';
import type { TdEvent } from '../formats/tdx-event-log.ts';
import { parseEventLog } from '../formats/parse-tdx-event-log.ts';
import { replayRtmrs } from '../formats/replay-rtmrs.ts';
import {
  identityKind,
  sameElementIdentity,
  tdIdentityOf,
  WORKLOAD_MR_INDEX,
  workloadDigest,
  workloadEventData,
} from './layers.ts';
import { elementReportData } from './signing.ts';
import type { ElementIdentity, MeasuredEvidence, TdChainPolicy, WorkloadChainPolicy } from './types.ts';

/**
 * The TD and workload checks of a link, shared by the admitting parent (src/cot/) and every verifier
 * (LinkChecker), so an admission is checked exactly as an offline verifier checks it later. Never throws
 * on bad evidence: the outcome names the failing check.
 */
export type LayerFailure = { ok: false; check: string; message: string };

const fail = (check: string, message: string): LayerFailure => ({ ok: false, check, message });

/** The event log (hex) parsed and replayed to the quoted RTMR0..3 (check `td-event-log`). */
export function replayTdEventLog(logHex: string | undefined, td: TdReport10): TdEvent[] | LayerFailure {
  if (logHex === undefined) return fail('td-event-log', "a TD's remote link carries its event log");
  let events: TdEvent[];
  try {
    events = parseEventLog(fromHex(logHex)).events;
  } catch (e) {
    return fail('td-event-log', `the event log does not parse: ${(e as Error).message}`);
  }
  const replayed = replayRtmrs(events);
  const bad = replayed.flatMap((r, i) => (equal(r, td.rtmr[i]) ? [] : [`RTMR${i}`]));
  if (bad.length)
    return fail(
      'td-event-log',
      `the event log (${events.length} events) does not replay to the quoted ${bad.join(', ')}`,
    );
  return events;
}

/** The quote summary td-policy.ts judges, from a verified TD report. */
function summaryOf(td: TdReport10): QuoteSummary {
  return {
    version: 4,
    teeType: 'tdx',
    mrEnclave: hex(td.mrTd),
    // Stryker disable next-line StringLiteral: applyTdPolicy reads no MRSIGNER of a TD
    mrSigner: '',
    isvProdId: 0,
    isvSvn: 0,
    // Stryker disable next-line ConditionalExpression,EqualityOperator: applyTdPolicy does not read it (checkTdPolicy judges DEBUG first)
    debug: (td.tdAttributes[0] & 1) === 1,
    reportData: hex(td.reportData),
    attributes: hex(td.tdAttributes),
    qeSvn: 0,
    pceSvn: 0,
    td: {
      teeTcbSvn: hex(td.teeTcbSvn),
      mrSeam: hex(td.mrSeam),
      mrSignerSeam: hex(td.mrSignerSeam),
      seamAttributes: hex(td.seamAttributes),
      xfam: hex(td.xfam),
      mrConfigId: hex(td.mrConfigId),
      mrOwner: hex(td.mrOwner),
      mrOwnerConfig: hex(td.mrOwnerConfig),
      rtmr: td.rtmr.map(hex),
      ...(td.mrServiceTd ? { mrServiceTd: hex(td.mrServiceTd) } : {}),
    },
  };
}

/** The TD part of the chain policy (DEBUG refused unless `allowDebug`, then the td-policy.ts fields). */
export function checkTdPolicy(
  policy: TdChainPolicy | undefined,
  td: TdReport10,
  events: TdEvent[],
): LayerFailure | undefined {
  if ((td.tdAttributes[0] & 1) === 1 && !policy?.allowDebug)
    return fail('policy-td-debug', 'DEBUG TD refused by the chain policy (tdx.allowDebug)');
  const { allowDebug: _d, ...fields } = policy ?? {};
  const checks = applyTdPolicy(policy ? fields : undefined, summaryOf(td), events);
  const bad = checks.find((c) => !c.ok);
  return bad ? fail(bad.name.replace(/\./g, '-'), bad.detail ?? bad.name) : undefined;
}

/**
 * A TD admitted by remote attestation, after its quote verified (DCAP, TDX): its event log replays to
 * the quoted RTMRs, REPORTDATA binds its element key to the chain and the parent's nonce, the link's
 * identity is the quote's, and the TD policy holds. Returns the replayed events (its workloads' proof).
 */
export function appraiseTd(a: {
  chainId: string;
  childKey: Uint8Array;
  nonce: Uint8Array;
  identity: ElementIdentity;
  td: TdReport10;
  eventLog: string | undefined;
  policy: TdChainPolicy | undefined;
}): { ok: true; events: TdEvent[] } | LayerFailure {
  if (identityKind(a.identity) !== 'tdx-td')
    return fail('evidence-kind', `a TD quote admits a tdx-td element, not a ${identityKind(a.identity)}`);
  const events = replayTdEventLog(a.eventLog, a.td);
  if (!Array.isArray(events)) return events;
  if (!equal(a.td.reportData, elementReportData(a.chainId, a.childKey, a.nonce)))
    return fail('key-binding', 'REPORTDATA does not bind the element key and the parent nonce');
  if (!sameElementIdentity(tdIdentityOf(a.td), a.identity))
    return fail('link-structure', 'link identity differs from the evidence');
  const pol = checkTdPolicy(a.policy, a.td, events);
  if (pol) return pol;
  return { ok: true, events };
}

/**
 * A workload admitted by its TD (measured link): the event the evidence names is in the TD's replayed
 * log, in RTMR3, extending SHA-384 of the workload's image digest and naming it; then the image policy.
 * `parentEvents` undefined: the parent is not a verified TD.
 */
export function appraiseWorkload(a: {
  identity: ElementIdentity;
  evidence: MeasuredEvidence;
  parentEvents: readonly TdEvent[] | undefined;
  policy: WorkloadChainPolicy | undefined;
}): LayerFailure | undefined {
  const i = a.identity;
  if (!('kind' in i) || i.kind !== 'td-workload')
    return fail('evidence-kind', `a measured link admits a td-workload element, not a ${identityKind(i)}`);
  if (!a.parentEvents) return fail('link-type', "a measured link's parent is a TD (its event log is the evidence)");
  if (a.evidence.event !== i.event) return fail('link-structure', 'the evidence names another event than the identity');
  const e = a.parentEvents[a.evidence.event];
  const digest = workloadDigest(i.imageDigest);
  if (!e)
    return fail(
      'workload-measured',
      `the TD's event log has no event ${a.evidence.event}: workload ${i.imageDigest} is not measured`,
    );
  if (e.mrIndex !== WORKLOAD_MR_INDEX)
    return fail('workload-measured', `event ${a.evidence.event} is in RTMR${e.mrIndex - 1}, not RTMR3`);
  if (hex(e.digest) !== digest || a.evidence.digest !== digest)
    return fail('workload-measured', `event ${a.evidence.event} does not measure workload ${i.imageDigest}`);
  if (new TextDecoder().decode(e.data) !== workloadEventData(i.imageDigest))
    return fail('workload-measured', `event ${a.evidence.event} names another workload`);
  const allowed = a.policy?.imageDigests;
  if (allowed && !allowed.includes(i.imageDigest))
    return fail('policy-workload-image', `workload image ${i.imageDigest} is not in the policy`);
  return undefined;
}
