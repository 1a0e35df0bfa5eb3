import { createHash } from 'node:crypto';
import { VerificationCache } from '../../attestation/dcap/cache.ts';
import type { Anchor } from '../../attestation/dcap/certs.ts';
import { anchorsFrom } from '../../attestation/dcap/verify-quote.ts';
import { ArgumentError } from '../../errors.ts';
import { acceptDocument, type CrlDocument, type HeldDocument, type SignedDocument } from './accept-document.ts';
import { conditionalGet, type Validators } from './conditional-get.ts';
import { earliestExpiry, heldCollateral, type SetDocuments } from './held-set.ts';
import {
  documentsOf,
  pckCrlDoc,
  pcsBase,
  qeIdentityDoc,
  rootCaCrlDoc,
  tcbInfoDoc,
  evalNumbersDoc,
  type DocumentSpec,
} from './pcs-documents.ts';
import type { CollateralKey, HeldCollateral, MonitorEvent, Release } from './types.ts';

export type { CollateralKind, CollateralKey, HeldCollateral, MonitorEvent } from './types.ts';

export interface CollateralMonitorOptions {
  /** The PCS or PCCS (API v4) base URL. */
  pcsUrl: string;
  /** Trusted root CA certificates (DER): every document must chain to one. Read at each poll. */
  roots: () => Uint8Array[];
  clock?: () => Date;
  /** Period of start(); default 60 000 ms. */
  intervalMs?: number;
  /** Per request; default 10 000 ms. Past it the PCS counts as unreachable. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** What the monitor knows of one document (one URL). */
interface DocumentState {
  spec: DocumentSpec;
  /** The last document accepted (never replaced by one that fails a check). */
  held?: HeldDocument;
  /** Validators of the copy held, sent with the next request. */
  validators?: Validators;
  /** What was last refused (a body digest, an HTTP status): the same refusal is reported once. */
  refused?: string;
}

const keyId = (k: CollateralKey) => `${k.teeType}|${k.fmspc}|${k.pckCa}`;
const UNAVAILABLE = 'ERR_COLLATERAL_UNAVAILABLE';

/**
 * Watches the collateral every watched (TEE, FMSPC, PCK CA) depends on (issue 13, item 2): TCB info and
 * QE identity at `update=standard` and `update=early`, the PCK CRL of the CA, the root CA CRL; each URL
 * fetched once per poll, conditionally. Every accepted change is an event; a document that fails a
 * check is refused and changes nothing; an unreachable PCS leaves the last good collateral in use until
 * its nextUpdate, then the set is stale. docs/self-management.md#monitor.
 */
export class CollateralMonitor {
  private readonly base: string;
  private readonly roots: () => Uint8Array[];
  private readonly clock: () => Date;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: typeof globalThis.fetch;
  private readonly cache = new VerificationCache();
  private readonly watched = new Map<string, CollateralKey>();
  private readonly docs = new Map<string, DocumentState>();
  private readonly heldMemo = new Map<string, { parts: unknown[]; value: HeldCollateral }>();
  private readonly staleReported = new Set<string>();
  private outage = false;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(o: CollateralMonitorOptions) {
    if (typeof o?.pcsUrl !== 'string' || !/^https?:\/\//i.test(o.pcsUrl))
      throw new ArgumentError('pcsUrl: an http(s) URL is required');
    if (typeof o.roots !== 'function') throw new ArgumentError('roots: a function returning DER certificates');
    this.base = pcsBase(o.pcsUrl);
    this.roots = o.roots;
    this.clock = o.clock ?? (() => new Date());
    this.intervalMs = o.intervalMs ?? 60_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.fetch = o.fetch ?? globalThis.fetch;
    if (!(this.intervalMs > 0) || !(this.timeoutMs > 0)) throw new ArgumentError('intervalMs, timeoutMs: positive');
  }

  /** Starts watching a (TEE, FMSPC, CA) in use; idempotent. ArgumentError for a malformed key. */
  watch(k: CollateralKey): void {
    const fmspc = typeof k?.fmspc === 'string' ? k.fmspc.toLowerCase() : '';
    if (!/^[0-9a-f]{12}$/.test(fmspc)) throw new ArgumentError('fmspc: 6 bytes of hex');
    if (k.teeType !== 'sgx' && k.teeType !== 'tdx') throw new ArgumentError('teeType: sgx or tdx');
    if (k.pckCa !== 'processor' && k.pckCa !== 'platform') throw new ArgumentError('pckCa: processor or platform');
    const key: CollateralKey = { teeType: k.teeType, fmspc, pckCa: k.pckCa };
    if (!this.watched.has(keyId(key))) this.watched.set(keyId(key), key);
  }

  /** One round over everything watched (rounds never overlap: a call waits for the one running). Never throws. */
  poll(): Promise<MonitorEvent[]> {
    const p = this.queue.then(() => this.round());
    this.queue = p.catch(() => undefined);
    return p.catch((e: unknown) => [
      {
        type: 'collateral.unreachable' as const,
        kind: 'tcb-info' as const,
        detectedAt: this.now().toISOString(),
        reason: 'ERR_VERIFIER_INTERNAL',
        detail: (e as Error)?.message ?? String(e),
      },
    ]);
  }

  /** Polls now and every intervalMs (an unref'd timer; a tick is skipped while a poll runs); events go to onEvents. */
  start(onEvents: (ev: MonitorEvent[]) => void): void {
    if (this.timer) return;
    const tick = () => {
      if (this.ticking) return;
      this.ticking = this.poll()
        .then((ev) => {
          if (ev.length) onEvents(ev);
        })
        .catch(() => undefined)
        .finally(() => (this.ticking = undefined));
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the timer and waits for a running poll. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.queue;
  }

  /**
   * The last good collateral set of a key and release, as the dcap-qvl blob the verifier reads; the same
   * object while nothing changes. `early`: the early TCB info and QE identity with the same CRLs —
   * undefined while the early release is the standard one (same tcbEvaluationDataNumbers).
   */
  held(k: CollateralKey, update: Release): HeldCollateral | undefined {
    const key = this.normal(k);
    if (!key) return undefined;
    const set = this.setDocuments(key, update);
    if (!set) return undefined;
    if (update === 'early') {
      const std = this.setDocuments(key, 'standard');
      if (
        std &&
        std.tcbInfo.tcbEvaluationDataNumber === set.tcbInfo.tcbEvaluationDataNumber &&
        std.qeIdentity.tcbEvaluationDataNumber === set.qeIdentity.tcbEvaluationDataNumber
      )
        return undefined;
    }
    const evals = this.docs.get(evalNumbersDoc(this.base, key.teeType).url)?.held;
    const date =
      evals?.kind === 'eval-numbers' ? evals.recoveryEventDates.get(set.tcbInfo.tcbEvaluationDataNumber) : undefined;
    const parts = [set.tcbInfo, set.qeIdentity, set.pckCrl, set.rootCaCrl, date];
    const memoKey = `${keyId(key)}|${update}`;
    const hit = this.heldMemo.get(memoKey);
    if (hit && hit.parts.every((p, i) => p === parts[i])) return hit.value;
    const value = heldCollateral(set, `PCS ${this.base} (update=${update}, monitor)`, date);
    this.heldMemo.set(memoKey, { parts, value });
    return value;
  }

  /** Fail closed: true when no complete standard set is held, or the one held is past its nextUpdate at `at`. */
  stale(k: CollateralKey, at: Date): boolean {
    const key = this.normal(k);
    const set = key && this.setDocuments(key, 'standard');
    if (!set) return true;
    return at > earliestExpiry(set).nextUpdate;
  }

  // ---- internals ----

  private now(): Date {
    try {
      return this.clock();
    } catch {
      return new Date();
    }
  }

  private normal(k: CollateralKey): CollateralKey | undefined {
    const fmspc = typeof k?.fmspc === 'string' ? k.fmspc.toLowerCase() : '';
    return this.watched.get(`${k?.teeType}|${fmspc}|${k?.pckCa}`);
  }

  private heldDoc<T extends HeldDocument>(spec: DocumentSpec): T | undefined {
    return this.docs.get(spec.url)?.held as T | undefined;
  }

  private setDocuments(k: CollateralKey, update: Release): SetDocuments | undefined {
    const tcbInfo = this.heldDoc<SignedDocument>(tcbInfoDoc(this.base, k, update));
    const qeIdentity = this.heldDoc<SignedDocument>(qeIdentityDoc(this.base, k, update));
    const pckCrl = this.heldDoc<CrlDocument>(pckCrlDoc(this.base, k));
    const rootCaCrl = this.heldDoc<CrlDocument>(rootCaCrlDoc(this.base));
    if (!tcbInfo || !qeIdentity || !pckCrl || !rootCaCrl) return undefined;
    return { tcbInfo, qeIdentity, pckCrl, rootCaCrl };
  }

  private anchors(): Anchor[] {
    try {
      const roots = this.roots();
      // anchorsFrom(undefined) would mean Intel's key: here only the roots given are trusted.
      return Array.isArray(roots) ? anchorsFrom(roots, this.cache) : [];
    } catch {
      return []; // no usable root: every document is refused (its chain ends at no trusted root)
    }
  }

  private async round(): Promise<MonitorEvent[]> {
    const at = this.clock();
    const detectedAt = at.toISOString();
    const events: MonitorEvent[] = [];
    const specs = new Map<string, DocumentSpec>();
    for (const k of this.watched.values()) for (const s of documentsOf(this.base, k)) specs.set(s.url, s);
    // The evaluation numbers first: a change event of early TCB info reads them.
    const ordered = [...specs.values()].sort(
      (a, b) => Number(b.kind === 'eval-numbers') - Number(a.kind === 'eval-numbers'),
    );
    const states = ordered.map((spec) => {
      let st = this.docs.get(spec.url);
      if (!st) this.docs.set(spec.url, (st = { spec }));
      return st;
    });
    const outcomes = await Promise.all(
      states.map((st) => conditionalGet(st.spec.url, st.validators, { fetch: this.fetch, timeoutMs: this.timeoutMs })),
    );
    const anchors = this.anchors();
    const unreachable: Array<{ spec: DocumentSpec; detail: string }> = [];
    for (const [i, st] of states.entries()) {
      const out = outcomes[i];
      const spec = st.spec;
      if (out.status === 'unchanged') {
        st.refused = undefined; // the PCS serves the held copy again: a later refusal is news
        continue;
      }
      if (out.status === 'unreachable') {
        unreachable.push({ spec, detail: out.detail });
        continue;
      }
      if (out.status === 'failed') {
        this.refuse(st, `HTTP ${out.httpStatus}`, { reason: UNAVAILABLE, detail: out.detail }, detectedAt, events);
        continue;
      }
      const res = acceptDocument(spec, out.body, out.headers, { anchors, at, cache: this.cache }, st.held);
      if (!res.ok) {
        const digest = createHash('sha256').update(out.body).digest('hex');
        this.refuse(st, digest, res, detectedAt, events);
        continue;
      }
      const prev = st.held;
      st.held = res.doc;
      st.validators = out.validators;
      st.refused = undefined;
      if (prev && changed(prev, res.doc)) events.push(this.changedEvent(spec, prev, res.doc, detectedAt));
    }
    if (unreachable.length === 0) this.outage = false;
    else if (!this.outage) {
      this.outage = true;
      const first = unreachable.find((u) => u.spec.kind !== 'eval-numbers') ?? unreachable[0];
      events.push({
        type: 'collateral.unreachable',
        ...describe(first.spec),
        detectedAt,
        reason: UNAVAILABLE,
        detail: unreachable.length > 1 ? `${first.detail} (and ${unreachable.length - 1} more)` : first.detail,
      });
    }
    for (const k of this.watched.values()) {
      const set = this.setDocuments(k, 'standard');
      if (!set) continue;
      const id = keyId(k);
      const first = earliestExpiry(set);
      if (at <= first.nextUpdate) this.staleReported.delete(id);
      else if (!this.staleReported.has(id)) {
        this.staleReported.add(id);
        events.push({
          type: 'collateral.stale',
          kind: first.kind,
          update: 'standard',
          fmspc: k.fmspc,
          ca: k.pckCa,
          detectedAt,
          reason: 'ERR_COLLATERAL_EXPIRED',
          detail: `the ${first.kind} held for FMSPC ${k.fmspc} (${k.pckCa} CA) expired at ${first.nextUpdate.toISOString()}`,
        });
      }
    }
    return events;
  }

  private refuse(
    st: DocumentState,
    what: string,
    why: { reason: string; detail: string; tcbEvaluationDataNumber?: number },
    detectedAt: string,
    events: MonitorEvent[],
  ): void {
    if (st.refused === what || st.spec.kind === 'eval-numbers') return;
    st.refused = what;
    const held = st.held;
    events.push({
      type: 'collateral.refused',
      ...describe(st.spec),
      ...(why.tcbEvaluationDataNumber !== undefined ? { tcbEvaluationDataNumber: why.tcbEvaluationDataNumber } : {}),
      ...(held && 'tcbEvaluationDataNumber' in held
        ? { previousTcbEvaluationDataNumber: held.tcbEvaluationDataNumber }
        : {}),
      detectedAt,
      reason: why.reason,
      detail: why.detail,
    });
  }

  private changedEvent(spec: DocumentSpec, prev: HeldDocument, doc: HeldDocument, detectedAt: string): MonitorEvent {
    const ev: MonitorEvent = { type: 'collateral.changed', ...describe(spec), detectedAt };
    if ('issueDate' in doc) {
      ev.tcbEvaluationDataNumber = doc.tcbEvaluationDataNumber;
      ev.previousTcbEvaluationDataNumber = (prev as SignedDocument).tcbEvaluationDataNumber;
      ev.publishedAt = doc.issueDate.toISOString();
      if (spec.kind === 'tcb-info' && spec.update === 'early') {
        const evals = this.docs.get(evalNumbersDoc(this.base, spec.tee).url)?.held;
        const date =
          evals?.kind === 'eval-numbers' ? evals.recoveryEventDates.get(doc.tcbEvaluationDataNumber) : undefined;
        if (date) ev.tcbRecoveryEventDate = date;
      }
    } else if ('thisUpdate' in doc) ev.publishedAt = doc.thisUpdate.toISOString();
    return ev;
  }
}

/** A mere reissue (new dates, same content) is no change. */
function changed(prev: HeldDocument, doc: HeldDocument): boolean {
  if (prev.kind === 'eval-numbers' || doc.kind === 'eval-numbers') return false;
  return prev.content !== doc.content;
}

/** The event fields that name a document. */
function describe(spec: DocumentSpec): Pick<MonitorEvent, 'kind' | 'update' | 'fmspc' | 'ca'> {
  switch (spec.kind) {
    case 'tcb-info':
      return { kind: 'tcb-info', update: spec.update, fmspc: spec.fmspc };
    case 'qe-identity':
      return { kind: 'qe-identity', update: spec.update };
    case 'pck-crl':
      return { kind: 'pck-crl', ca: spec.ca };
    case 'root-ca-crl':
      return { kind: 'root-ca-crl' };
    case 'eval-numbers':
      return { kind: 'tcb-info' };
  }
}
