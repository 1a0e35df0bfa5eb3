import { fromHex, hex } from '../../bytes/util.ts';
import { Lru } from '../../bytes/lru.ts';
import { checkElementPolicy, DEFAULT_EVIDENCE_MAX_AGE_SECONDS, policyAtDepth } from '../../chain/policy.ts';
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

/** Collateral as the monitor holds it (the last good set per key and release). */
export type HeldSet = HeldCollateral;
/** What re-appraisal reads of the monitor (CollateralMonitor; tests and the bench hold collateral directly). */
export interface CollateralHolder {
  held(k: CollateralKey, update: Release): HeldCollateral | undefined;
  stale(k: CollateralKey, at: Date): boolean;
}

/** What re-appraisal needs of one piece of stored evidence, parsed once and kept (by evidence hash). */
interface EvidenceFacts {
  key: CollateralKey;
  /** Same PCK certificate chain and QE report: the collateral decides the same for every such quote. */
  platformKey: string;
  body: Pick<ReportBody, 'mrEnclave' | 'mrSigner' | 'isvProdId' | 'isvSvn' | 'attributes'>;
}

export interface Appraised {
  row: ElementRow;
  health: ElementHealth;
  /** The state differs from the stored one. */
  changed: boolean;
}

/** Verdicts of one round, shared by every element whose evidence has the same platform key. */
type Verdicts = Map<string, Promise<RemoteEvidenceResult>>;

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
  constructor(
    private readonly verifier: (root: Uint8Array) => RemoteEvidenceVerifier,
    private readonly collateral: CollateralHolder,
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
        if (q.body.kind !== 'sgx') return new Error('not an SGX quote');
        const qe = q.signatureData.qe;
        const platformKey = hex(sha256(Buffer.concat([qe.qeReportRaw, qe.certification.data])));
        const key = collateralRequestOfQuote(quote);
        return { key: { ...key, fmspc: key.fmspc.toLowerCase() }, platformKey, body: q.body.report };
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
      if (!v) verdicts.set(k, (v = this.verifier(chain.root).verify(fromHex(quoteHex), set.blob, at)));
      return v;
    };
    const r = await judge(standard, 'standard');
    const outcome = (x: RemoteEvidenceResult): { state: ElementState; check: string; cause: string } | undefined => {
      if (!x.ok) {
        const revoked = x.check === 'pck.revocation' || (x.check === 'tcb.status' && x.tcbStatus === 'Revoked');
        const state: ElementState = revoked ? 'revoked' : STALE_CHECKS.has(x.check) ? 'stale' : 'degraded';
        return { state, check: x.check, cause: x.message };
      }
      const pol = checkElementPolicy(chain.policy, depth, linkType, f.body, {
        status: x.tcbStatus,
        advisoryIds: x.advisoryIds,
      });
      return pol.ok ? undefined : { state: 'degraded', check: pol.check, cause: pol.message };
    };
    const now = outcome(r);
    const tcbStatus = r.tcbStatus ? { tcbStatus: r.tcbStatus } : {};
    if (now) return { ...now, event: eventOfState(now.state, 'collateral'), ...tcbStatus };
    const early = this.collateral.held(f.key, 'early');
    if (early && early.tcbEvaluationDataNumber > standard.tcbEvaluationDataNumber) {
      const e = await judge(early, 'early');
      const later = outcome(e);
      if (later)
        return {
          state: 'at-risk',
          event: 'tcb-predicted-downgrade',
          check: later.check,
          cause: `under the early TCB release (evaluation data number ${early.tcbEvaluationDataNumber}): ${later.cause}`,
          ...tcbStatus,
          ...(e.tcbStatus ? { predictedTcbStatus: e.tcbStatus } : {}),
          ...(early.tcbRecoveryEventDate ? { predictedAt: early.tcbRecoveryEventDate } : {}),
        };
    }
    return { state: 'valid', ...tcbStatus };
  }
}

/** An element's newest quote: its last re-attestation's, else its link's (local links have none). */
function latestQuote(rec: ElementRecord): { quote: string; at: string } | undefined {
  if (rec.reattestation?.quote) return { quote: rec.reattestation.quote, at: rec.reattestation.at };
  if (rec.link.evidence.kind === 'dcap-quote') return { quote: rec.link.evidence.quote, at: rec.link.at };
  return undefined;
}
