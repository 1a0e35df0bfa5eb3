import { fromHex, hex } from '../../bytes/util.ts';
import { Lru } from '../../bytes/lru.ts';
import {
  checkElementPolicy,
  checkMemberPolicy,
  DEFAULT_EVIDENCE_MAX_AGE_SECONDS,
  policyAtDepth,
} from '../../chain/policy.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../../chain/remote-verifier.ts';
import type { ChainPolicy, LinkType } from '../../chain/types.ts';
import { sha256 } from '../../crypto/sha256.ts';
import { parseQuote } from '../../formats/quote.ts';
import type { ReportBody } from '../../formats/report.ts';
import type { ElementRow } from '../../store/types.ts';
import type { ElementRecord } from '../chain-service.ts';
import { collateralRequestOfQuote } from '../pcs-collateral.ts';
import type { CollateralKey, HeldCollateral, Release } from './types.ts';
import { eventOfState, type ElementHealth, type ElementState } from './element-health.ts';
import { pemCertificates } from '../../attestation/pem.ts';
import { explainTcb, type TcbExplanation } from '../../attestation/dcap/tcb-explanation.ts';
import { pckExtensionFromCertificate } from '../../formats/pck-extension.ts';
import { parseTcbInfo, type TcbInfo } from '../../formats/tcb-info.ts';
import type { CollateralBlob } from '../../chain/types.ts';
import { tdEvidenceVerifier, type TdEvidenceVerifier, type TdVerdict } from './td-evidence.ts';
import { judgedOf, tdxWords, type TdxJudged } from './td-words.ts';

/** Collateral as the monitor holds it (the last good set per key and release). */
export type HeldSet = HeldCollateral;
/** What re-appraisal reads of the monitor (CollateralMonitor; tests and the bench hold collateral directly). */
export interface CollateralHolder {
  held(k: CollateralKey, update: Release): HeldCollateral | undefined;
  stale(k: CollateralKey, at: Date): boolean;
}

/** What re-appraisal needs of one piece of stored evidence, parsed once and kept (by evidence hash). */
type EvidenceFacts = {
  key: CollateralKey;
  /** Same PCK certificate chain and QE report: the collateral decides the same for every such quote. */
  platformKey: string;
} & (
  | { tee: 'sgx'; body: Pick<ReportBody, 'mrEnclave' | 'mrSigner' | 'isvProdId' | 'isvSvn' | 'attributes'> }
  /** A TD (TDX quote): the PCK certificate's TCB and the TD report's TEE_TCB_SVN, for explanations. */
  | { tee: 'tdx'; pck: { components: number[]; pceSvn: number }; teeTcbSvn: Uint8Array }
);

export interface Appraised {
  row: ElementRow;
  health: ElementHealth;
  /** The state differs from the stored one. */
  changed: boolean;
}

/** Verdicts of one round, shared by every element whose evidence has the same platform key. */
type Verdicts = Map<string, Promise<RemoteEvidenceResult | TdVerdict>>;

const STALE_CHECKS = new Set(['collateral.tcbInfoWindow', 'collateral.qeIdentityWindow']);

/**
 * Re-appraises the stored evidence of a chain's elements against the collateral the monitor holds,
 * without asking anyone for new evidence. Quote signatures were verified when the evidence was
 * admitted; what collateral decides (revocation, TCB level and status, QE identity, collateral
 * windows) is the same for every quote with the same PCK chain and QE report, so it is computed once
 * per such platform evidence and round (`verdicts`), and parsed evidence is kept across rounds.
 */
export class Reappraiser {
  private readonly facts = new Lru<string, EvidenceFacts | Error>(200_000);
  /** TDX TCB infos parsed once per held blob. */
  private readonly tdxInfos = new WeakMap<CollateralBlob, TcbInfo>();
  /** Per TD platform evidence: how its TDX TCB was judged under the newest standard release, and the one before. */
  private readonly tdxSeen = new Map<string, { now: TdxJudged; before?: TdxJudged }>();
  /**
   * `tdVerifier`: how TD evidence (TDX quotes) is re-judged against TDX collateral (td-evidence.ts):
   * the collateral-dependent checks only, the TD's identity having been judged at admission.
   */
  constructor(
    private readonly verifier: (root: Uint8Array) => RemoteEvidenceVerifier,
    private readonly collateral: CollateralHolder,
    private readonly tdVerifier: (root: Uint8Array) => TdEvidenceVerifier = tdEvidenceVerifier,
  ) {}

  /** The collateral keys (TEE, FMSPC, PCK CA) the stored evidence of these rows needs. */
  keysOf(rows: ElementRow[]): CollateralKey[] {
    const out = new Map<string, CollateralKey>();
    for (const row of rows) {
      const q = latestQuote(row.record as ElementRecord);
      const f = q ? this.factsOf(q.quote) : undefined;
      if (f && !(f instanceof Error)) out.set(`${f.key.teeType}|${f.key.fmspc}|${f.key.pckCa}`, f.key);
    }
    return [...out.values()];
  }

  /** A fresh verdict cache for one round of re-appraisal. */
  round(): Verdicts {
    return new Map();
  }

  private factsOf(quoteHex: string): EvidenceFacts | Error {
    const h = hex(sha256(Buffer.from(quoteHex)));
    return this.facts.getOrSet(h, () => {
      try {
        const quote = fromHex(quoteHex);
        const q = parseQuote(quote, { allowZeroPadding: true });
        const qe = q.signatureData.qe;
        const platformKey = hex(sha256(Buffer.concat([qe.qeReportRaw, qe.certification.data])));
        const r = collateralRequestOfQuote(quote);
        const key = { ...r, fmspc: r.fmspc.toLowerCase() };
        if (q.body.kind === 'sgx') return { key, platformKey, tee: 'sgx', body: q.body.report };
        // A TD: its TDX collateral key (TDX TCB info, TD_QE identity) and what explains its TCB.
        const leaf = pemCertificates(Buffer.from(qe.certification.data).toString('latin1'))[0];
        const tcb = pckExtensionFromCertificate(leaf).tcb;
        return {
          key,
          // TEE_TCB_SVN and the TDX module's signer and attributes are judged by the collateral too.
          platformKey: `${platformKey}|${hex(q.body.report.teeTcbSvn)}|${hex(q.body.report.mrSignerSeam)}|${hex(q.body.report.seamAttributes)}`,
          tee: 'tdx',
          pck: { components: [...tcb.components], pceSvn: tcb.pceSvn },
          teeTcbSvn: q.body.report.teeTcbSvn,
        };
      } catch (e) {
        return e as Error;
      }
    });
  }

  /**
   * The states of a chain's elements (rows in seq order, as listElements gives them). Revoked rows are
   * skipped; quarantined ones stay quarantined. Elements without a quote of their own (local links not
   * re-attested since) take the TCB verdict of their parent, which runs on the same platform.
   */
  async appraiseChain(
    chain: { root: Uint8Array; policy: ChainPolicy },
    rows: ElementRow[],
    at: Date,
    verdicts: Verdicts = this.round(),
  ): Promise<Appraised[]> {
    const out: Appraised[] = [];
    const byId = new Map<string, { depth: number; tcb?: ElementHealth }>();
    for (const row of rows) {
      if (row.status === 'revoked') continue;
      const rec = row.record as ElementRecord;
      const parent = row.parentId ? byId.get(row.parentId) : undefined;
      const depth = parent ? parent.depth + 1 : 1;
      const previous = rec.health;
      let health: Omit<ElementHealth, 'since'>;
      let tcb: ElementHealth | undefined;
      if (row.status === 'quarantined') health = { state: 'quarantined', cause: previous?.cause ?? 'quarantined' };
      else {
        const latest = latestQuote(rec);
        if (latest) {
          const t = await this.appraiseQuote(chain, depth, rec.link.type, latest.quote, at, verdicts);
          tcb = t ? { ...t, since: at.toISOString() } : undefined;
        } else tcb = parent?.tcb;
        // Collateral not held yet (a key seen for the first time): the state stays as it was.
        const { since: _since, ...before } = previous ?? { state: 'valid', since: '' };
        health = tcb ?? before;
        const evidenceAt = Date.parse(rec.reattestation?.at ?? rec.link.at);
        const maxAge = policyAtDepth(chain.policy, depth).evidenceMaxAgeSeconds ?? DEFAULT_EVIDENCE_MAX_AGE_SECONDS;
        if (health.state === 'valid' && at.getTime() - evidenceAt > maxAge * 1000)
          health = {
            state: 'stale',
            event: eventOfState('stale', 'evidence'),
            check: 'evidence-age',
            cause: `the newest evidence (${new Date(evidenceAt).toISOString()}) is older than ${maxAge} s`,
          };
      }
      byId.set(row.id, { depth, ...(tcb ? { tcb } : {}) });
      // Nothing known yet (no collateral held, nothing recorded): no change to record.
      const unknown = !previous && !tcb && health.state === 'valid';
      const changed =
        !unknown &&
        (previous?.state !== health.state ||
          previous?.cause !== health.cause ||
          previous?.tcbStatus !== health.tcbStatus ||
          previous?.predictedTcbStatus !== health.predictedTcbStatus);
      out.push({
        row,
        health: { ...health, since: changed ? at.toISOString() : (previous?.since ?? at.toISOString()) },
        changed,
      });
    }
    return out;
  }

  /** The state one quote's platform evidence gives under the held standard and early collateral. */
  private async appraiseQuote(
    chain: { root: Uint8Array; policy: ChainPolicy },
    depth: number,
    linkType: LinkType,
    quoteHex: string,
    at: Date,
    verdicts: Verdicts,
  ): Promise<Omit<ElementHealth, 'since'> | undefined> {
    const f = this.factsOf(quoteHex);
    if (f instanceof Error)
      return { state: 'degraded', event: 'tcb-downgrade', check: 'evidence-format', cause: f.message };
    const standard = this.collateral.held(f.key, 'standard');
    if (!standard) return undefined; // not watched yet: nothing to say
    if (this.collateral.stale(f.key, at))
      return {
        state: 'stale',
        event: eventOfState('stale', 'collateral'),
        check: 'collateral-stale',
        cause: `the collateral for FMSPC ${f.key.fmspc} is past its nextUpdate and the PCS gave no newer one`,
      };
    const judge = (set: HeldSet, update: string) => {
      const k = `${hex(chain.root)}|${f.platformKey}|${update}|${set.tcbEvaluationDataNumber}|${set.nextUpdate.getTime()}`;
      let v = verdicts.get(k);
      if (!v) {
        const verifier = f.tee === 'tdx' ? this.tdVerifier(chain.root) : this.verifier(chain.root);
        verdicts.set(k, (v = verifier.verify(fromHex(quoteHex), set.blob, at)));
      }
      return v;
    };
    const r = await judge(standard, 'standard');
    const outcome = (
      x: RemoteEvidenceResult | TdVerdict,
    ): { state: ElementState; check: string; cause: string } | undefined => {
      if (!x.ok) {
        const revoked = x.check === 'pck.revocation' || (x.check === 'tcb.status' && x.tcbStatus === 'Revoked');
        const state: ElementState = revoked ? 'revoked' : STALE_CHECKS.has(x.check) ? 'stale' : 'degraded';
        return { state, check: x.check, cause: x.message };
      }
      const tcb = { status: x.tcbStatus, advisoryIds: x.advisoryIds };
      const pol =
        f.tee === 'tdx'
          ? checkMemberPolicy(chain.policy, depth, linkType, tcb)
          : checkElementPolicy(chain.policy, depth, linkType, f.body, tcb);
      return pol.ok ? undefined : { state: 'degraded', check: pol.check, cause: pol.message };
    };
    const early = this.collateral.held(f.key, 'early');
    const staged = early && early.tcbEvaluationDataNumber > standard.tcbEvaluationDataNumber ? early : undefined;
    // A TD: its TDX TCB in words (which module or TEE_TCB_SVN component moved, old → new status).
    const words = f.tee === 'tdx' ? this.tdxExplanation(f, standard, staged) : undefined;
    const now = outcome(r);
    const tcbStatus = r.tcbStatus ? { tcbStatus: r.tcbStatus } : {};
    if (now)
      return {
        ...now,
        ...(words ? { cause: `${now.cause} — ${words.now}`, explanation: words.moved } : {}),
        event: eventOfState(now.state, 'collateral'),
        ...tcbStatus,
      };
    if (staged) {
      const e = await judge(staged, 'early');
      const later = outcome(e);
      if (later)
        return {
          state: 'at-risk',
          event: 'tcb-predicted-downgrade',
          check: later.check,
          cause: `under the early TCB release (evaluation data number ${staged.tcbEvaluationDataNumber}): ${later.cause}${words?.early ? ` — ${words.early}` : ''}`,
          ...(words?.early ? { explanation: `under the early release: ${words.early}` } : {}),
          ...tcbStatus,
          ...(e.tcbStatus ? { predictedTcbStatus: e.tcbStatus } : {}),
          ...(staged.tcbRecoveryEventDate ? { predictedAt: staged.tcbRecoveryEventDate } : {}),
        };
    }
    return { state: 'valid', ...tcbStatus, ...(words ? { explanation: words.moved } : {}) };
  }

  /**
   * A TD's TDX TCB in words under the held standard release — `now` (from the collateral alone, part of
   * the cause), `moved` (old → new against the release judged before, when this process saw it) — and
   * under a staged early release (`early`: standard → early). Undefined when a TCB info does not parse.
   */
  private tdxExplanation(
    f: EvidenceFacts & { tee: 'tdx' },
    standard: HeldSet,
    early: HeldSet | undefined,
  ): { now: string; moved: string; early?: string } | undefined {
    const std = this.tdxInfo(standard.blob);
    const ear = early ? this.tdxInfo(early.blob) : undefined;
    if (!std || std.id !== 'TDX') return undefined;
    const x: TcbExplanation = explainTcb(
      { components: f.pck.components, pceSvn: f.pck.pceSvn, teeTcbSvn: f.teeTcbSvn },
      std,
      ear?.id === 'TDX' ? ear : undefined,
    );
    const j = judgedOf(x);
    let seen = this.tdxSeen.get(f.platformKey);
    if (!seen || seen.now.tcbEvaluationDataNumber < j.tcbEvaluationDataNumber)
      this.tdxSeen.set(f.platformKey, (seen = { now: j, ...(seen ? { before: seen.now } : {}) }));
    const before = seen.now.tcbEvaluationDataNumber === j.tcbEvaluationDataNumber ? seen.before : undefined;
    const { early: e, ...base } = x;
    return {
      now: tdxWords(base),
      moved: tdxWords(base, before),
      ...(e ? { early: tdxWords(e, j) } : {}),
    };
  }

  private tdxInfo(blob: CollateralBlob): TcbInfo | undefined {
    let info = this.tdxInfos.get(blob);
    if (!info) {
      try {
        info = parseTcbInfo((blob as { tcb_info: string }).tcb_info);
      } catch {
        return undefined;
      }
      this.tdxInfos.set(blob, info);
    }
    return info;
  }
}

/** An element's newest quote: its last re-attestation's, else its link's (local links have none). */
function latestQuote(rec: ElementRecord): { quote: string; at: string } | undefined {
  if (rec.reattestation?.quote) return { quote: rec.reattestation.quote, at: rec.reattestation.at };
  if (rec.link.evidence.kind === 'dcap-quote') return { quote: rec.link.evidence.quote, at: rec.link.at };
  return undefined;
}
