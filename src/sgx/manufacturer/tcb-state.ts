import { hex } from '../../bytes/util.ts';
import { attributesBytes, type Attributes } from '../../formats/attributes.ts';
import { DAY, DEFAULT_ATTRIBUTES_MASK } from './defaults.ts';
import { argumentError, ManufacturerError } from './errors.ts';
import type { QeLevelSpec } from './sign-collateral.ts';
import {
  checkLevels,
  defaultTcbLevels,
  isoDay,
  isoSeconds,
  matchTcbLevel,
  recoverTcb,
  type PlatformTcb,
  type TcbLevelSpec,
  type TcbRecoveryOptions,
} from './tcb-levels.ts';
import type { QeDescription } from './types.ts';
import {
  copyTdxTcbState,
  defaultTdxTcbState,
  recoverTdxTcb,
  type TdxRecoveryComponent,
  type TdxTcbState,
} from './tdx-tcb-state.ts';

/** A TDX TCB recovery: which part of the TDX TCB it raises (tdx-tcb-state.ts); the SGX levels stay. */
export interface TdxRecoveryOptions {
  component: TdxRecoveryComponent;
}

/**
 * The manufacturer's TCB knowledge: each FMSPC's TCB levels (what its TCB info says), the QE
 * identity's description, and the tcbEvaluationDataNumber TCB recoveries raise. `changed` is called
 * on every change, so signed artefacts built from this state are reissued.
 */
export interface FmspcState {
  pceId: number;
  levels: TcbLevelSpec[];
}

export interface QeState {
  mrSigner: Uint8Array;
  isvProdId: number;
  miscSelect: Uint8Array;
  miscSelectMask: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  levels: QeLevelSpec[];
}

export function fmspcKey(fmspc: Uint8Array | string): string {
  const h = typeof fmspc === 'string' ? fmspc.toLowerCase() : hex(fmspc);
  if (!/^[0-9a-f]{12}$/.test(h))
    throw argumentError(
      `FMSPC must be 6 bytes (12 hex digits), got ${typeof fmspc === 'string' ? fmspc : `${fmspc.length} bytes`}`,
    );
  return h;
}

function u32Bytes(v: number | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== 4) throw argumentError(`${what} must be 4 bytes`);
    return Uint8Array.from(v);
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw argumentError(`${what} must be a u32`);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function attrBytes(v: Attributes | Uint8Array, what: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== 16) throw argumentError(`${what} must be 16 bytes`);
    return Uint8Array.from(v);
  }
  return attributesBytes(v);
}

const copyLevels = (levels: readonly TcbLevelSpec[]) =>
  levels.map((l) => ({ ...l, components: [...l.components], advisoryIds: [...l.advisoryIds] }));
const copyFmspcs = (m: ReadonlyMap<string, FmspcState>) =>
  new Map([...m].map(([k, v]) => [k, { pceId: v.pceId, levels: copyLevels(v.levels) }]));

/**
 * One release of TCB info and QE identity under one tcbEvaluationDataNumber (Intel publishes a
 * release first at `update=early`, then promotes it to `standard`), with the dates the signed
 * `tcbevaluationdatanumbers` list gives it.
 */
export interface TcbRelease {
  evaluationNumber: number;
  /** ISO 8601, whole seconds: when the TCB recovery event was announced. */
  recoveryEventDate: string;
  /** ISO 8601, midnight UTC: the tcbDate of the release's new top levels. */
  tcbDate: string;
  fmspcs: Map<string, FmspcState>;
  qe: QeState | undefined;
  /** The TDX TCB of the release (absent in a release saved before TDX recoveries existed: the default). */
  tdx?: TdxTcbState;
}

/** Which release a request asks for: Intel's `update=standard|early`, or `tcbEvaluationDataNumber=N`. */
export type ReleaseSelector = 'standard' | 'early' | number;

export const stateError = (message: string) => new ManufacturerError('ERR_MANUFACTURER_STATE', message);

export class TcbState {
  readonly fmspcs = new Map<string, FmspcState>();
  qe: QeState | undefined;
  /** The TDX TCB of the standard release. */
  tdx: TdxTcbState;
  evaluationNumber: number;
  /** Dates of the standard release (its entry in the evaluation data numbers list). */
  recoveryEventDate: string;
  tcbDate: string;
  /** A staged TCB recovery, served only at `update=early` until promote(). */
  early: TcbRelease | undefined;
  /** Superseded standard releases, oldest first (served at `tcbEvaluationDataNumber=N`). */
  readonly past: TcbRelease[] = [];
  private readonly clock: () => Date;
  private readonly changed: () => void;

  constructor(evaluationNumber: number, clock: () => Date, changed: () => void) {
    this.evaluationNumber = evaluationNumber;
    this.clock = clock;
    this.changed = changed;
    this.recoveryEventDate = isoSeconds(clock());
    this.tcbDate = isoDay(clock());
    this.tdx = defaultTdxTcbState(clock());
  }

  /** The current standard release, as a release (live maps, not copies). */
  private standard(): TcbRelease {
    return {
      evaluationNumber: this.evaluationNumber,
      recoveryEventDate: this.recoveryEventDate,
      tcbDate: this.tcbDate,
      fmspcs: this.fmspcs,
      qe: this.qe,
      tdx: this.tdx,
    };
  }

  /** The TDX TCB of a release (the default for a release saved without one). */
  tdxOf(r: TcbRelease): TdxTcbState {
    return r.tdx ?? this.tdx;
  }

  /**
   * The release a selector names: `standard`; `early` (the staged recovery, or the standard release
   * when none is staged, as Intel's PCS serves both alike between recoveries); or an evaluation
   * number (the standard, the staged or a superseded one). ERR_MANUFACTURER_UNKNOWN otherwise.
   */
  release(which: ReleaseSelector): TcbRelease {
    if (which === 'standard') return this.standard();
    if (which === 'early') return this.early ?? this.standard();
    if (which === this.evaluationNumber) return this.standard();
    if (this.early && which === this.early.evaluationNumber) return this.early;
    const old = this.past.find((r) => r.evaluationNumber === which);
    if (!old)
      throw new ManufacturerError(
        'ERR_MANUFACTURER_UNKNOWN',
        `no TCB info or QE identity with tcbEvaluationDataNumber ${which}`,
      );
    return old;
  }

  /** Every release still served, newest first (the signed tcbevaluationdatanumbers list). */
  releases(): TcbRelease[] {
    return [...(this.early ? [this.early] : []), this.standard(), ...[...this.past].reverse()];
  }

  /**
   * Stages a TCB recovery at `update=early`: the next tcbEvaluationDataNumber for every FMSPC and the
   * QE identity; the FMSPC given (or every FMSPC) gets a new UpToDate level on top, its former
   * UpToDate levels downgraded and every level below given the recovery's advisory. The QE identity's
   * levels are kept (the emulated QE's ISVSVN is fixed in its image: raising it would leave every
   * platform OutOfDate with no update to take). ERR_MANUFACTURER_STATE while another is staged.
   */
  stageRecovery(
    fmspc: Uint8Array | string | undefined,
    opts: TcbRecoveryOptions & { tdx?: TdxRecoveryOptions },
  ): TcbRelease {
    if (this.early)
      throw stateError(
        `a TCB recovery (tcbEvaluationDataNumber ${this.early.evaluationNumber}) is already staged at update=early: promote it first`,
      );
    if (opts.upToDate && fmspc === undefined)
      throw argumentError('a recovery TCB (upToDate) needs the FMSPC it applies to');
    if (opts.upToDate && opts.tdx) throw argumentError('a recovery TCB (upToDate) is for SGX recoveries only');
    const targets = fmspc === undefined ? [...this.fmspcs.keys()] : [fmspcKey(fmspc)];
    for (const k of targets) this.fmspc(k);
    if (targets.length === 0)
      throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', 'no FMSPC has TCB info yet: nothing to recover');
    const next = this.evaluationNumber + 1;
    const now = this.clock();
    const fmspcs = copyFmspcs(this.fmspcs);
    const advisoryId = opts.advisoryId ?? `CATENA-SA-${String(next).padStart(5, '0')}`;
    // A TDX recovery raises the TDX TCB of every FMSPC and leaves the SGX levels as they are.
    const tdx = opts.tdx
      ? recoverTdxTcb(this.tdx, {
          component: opts.tdx.component,
          downgradeTo: opts.downgradeTo ?? 'OutOfDate',
          advisoryId,
          tcbDate: opts.tcbDate ?? now,
        })
      : copyTdxTcbState(this.tdx);
    for (const k of opts.tdx ? [] : targets) {
      const state = fmspcs.get(k)!;
      const top = state.levels[0];
      state.levels = recoverTcb(state.levels, {
        upToDate: opts.upToDate ?? {
          components: top.components.map((c, i) => (i < 2 ? Math.min(c + 1, 255) : c)),
          pceSvn: top.pceSvn,
        },
        advisoryId,
        downgradeTo: opts.downgradeTo ?? 'OutOfDate',
        tcbDate: opts.tcbDate ?? now,
      });
    }
    this.early = {
      evaluationNumber: next,
      recoveryEventDate: isoSeconds(now),
      tcbDate: isoDay(opts.tcbDate ?? now),
      fmspcs,
      qe: this.qe && { ...this.qe, levels: this.qe.levels.map((l) => ({ ...l, advisoryIds: [...l.advisoryIds] })) },
      tdx,
    };
    this.changed();
    return this.early;
  }

  /** Promotes the staged recovery to `standard`; the former standard release stays served by number. ERR_MANUFACTURER_STATE when none is staged. */
  promote(): TcbRelease {
    const e = this.early;
    if (!e) throw stateError('no TCB recovery is staged at update=early: nothing to promote');
    this.past.push({ ...this.standard(), fmspcs: copyFmspcs(this.fmspcs), tdx: copyTdxTcbState(this.tdx) });
    this.fmspcs.clear();
    for (const [k, v] of e.fmspcs) this.fmspcs.set(k, v);
    this.qe = e.qe;
    this.tdx = this.tdxOf(e);
    this.evaluationNumber = e.evaluationNumber;
    this.recoveryEventDate = e.recoveryEventDate;
    this.tcbDate = e.tcbDate;
    this.early = undefined;
    this.changed();
    return this.standard();
  }

  /** An FMSPC's state; ERR_MANUFACTURER_UNKNOWN for an FMSPC without TCB info. */
  fmspc(fmspc: Uint8Array | string): FmspcState {
    const key = fmspcKey(fmspc);
    const s = this.fmspcs.get(key);
    if (!s) throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no TCB info for FMSPC ${key.toUpperCase()}`);
    return s;
  }

  /** Sets an FMSPC's levels in the standard release (and in a staged one: a new FMSPC is known to both). */
  setTcbLevels(fmspc: Uint8Array | string, levels: TcbLevelSpec[], pceId: number): void {
    checkLevels(levels);
    this.fmspcs.set(fmspcKey(fmspc), { pceId, levels: copyLevels(levels) });
    this.early?.fmspcs.set(fmspcKey(fmspc), { pceId, levels: copyLevels(levels) });
    this.changed();
  }

  /** Default levels around `current` for an FMSPC without TCB info; whether it was added. */
  ensureFmspc(fmspc: Uint8Array | string, current: PlatformTcb, pceId: number, at: Date = this.clock()): boolean {
    const key = fmspcKey(fmspc);
    if (this.fmspcs.has(key)) return false;
    this.setTcbLevels(key, defaultTcbLevels(current, at), pceId);
    return true;
  }

  tcbLevels(fmspc: Uint8Array | string, which: ReleaseSelector = 'standard'): TcbLevelSpec[] {
    if (which === 'standard') return copyLevels(this.fmspc(fmspc).levels);
    const s = this.release(which).fmspcs.get(fmspcKey(fmspc));
    if (!s)
      throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no TCB info for FMSPC ${fmspcKey(fmspc).toUpperCase()}`);
    return copyLevels(s.levels);
  }

  tcbLevelOf(fmspc: Uint8Array | string, platform: PlatformTcb): TcbLevelSpec | undefined {
    return matchTcbLevel(this.fmspc(fmspc).levels, platform);
  }

  /** A recovery staged and promoted at once (early and standard the same moment). */
  publishTcbRecovery(
    fmspc: Uint8Array | string,
    opts: TcbRecoveryOptions,
  ): { tcbEvaluationDataNumber: number; levels: TcbLevelSpec[] } {
    this.fmspc(fmspc);
    this.stageRecovery(fmspc, opts);
    const r = this.promote();
    return { tcbEvaluationDataNumber: r.evaluationNumber, levels: this.tcbLevels(fmspc) };
  }

  setQeIdentity(qe: QeDescription): void {
    if (!(qe.mrSigner instanceof Uint8Array) || qe.mrSigner.length !== 32)
      throw argumentError('qe.mrSigner must be 32 bytes');
    if (!Number.isInteger(qe.isvProdId) || qe.isvProdId < 0 || qe.isvProdId > 0xffff)
      throw argumentError('qe.isvProdId must be a u16');
    if (!Number.isInteger(qe.isvSvn) || qe.isvSvn < 0 || qe.isvSvn > 0xffff)
      throw argumentError('qe.isvSvn must be a u16');
    const today = isoDay(this.clock());
    const levels =
      qe.levels ??
      (qe.isvSvn > 0
        ? [
            { isvSvn: qe.isvSvn, tcbDate: today, status: 'UpToDate' as const, advisoryIds: [] },
            {
              isvSvn: 0,
              tcbDate: isoDay(new Date(this.clock().getTime() - 180 * DAY)),
              status: 'OutOfDate' as const,
              advisoryIds: ['CATENA-SA-00003'],
            },
          ]
        : [{ isvSvn: 0, tcbDate: today, status: 'UpToDate' as const, advisoryIds: [] }]);
    if (levels.length === 0) throw argumentError('qe.levels must not be empty');
    const attributesMask =
      qe.attributesMask === undefined
        ? Uint8Array.from(DEFAULT_ATTRIBUTES_MASK)
        : attrBytes(qe.attributesMask, 'qe.attributesMask');
    const miscSelectMask = u32Bytes(qe.miscSelectMask ?? 0xffffffff, 'qe.miscSelectMask');
    this.qe = {
      mrSigner: Uint8Array.from(qe.mrSigner),
      isvProdId: qe.isvProdId,
      miscSelect: u32Bytes(qe.miscSelect, 'qe.miscSelect').map((b, i) => b & miscSelectMask[i]),
      miscSelectMask,
      // Intel publishes the attributes already masked (its QE3 identity says 11…, not 15…): so do we.
      attributes: attrBytes(qe.attributes, 'qe.attributes').map((b, i) => b & attributesMask[i]),
      attributesMask,
      levels: levels.map((l) => ({ ...l, advisoryIds: [...l.advisoryIds] })),
    };
    // A staged release describes the same QE (recoveries keep the QE levels).
    if (this.early)
      this.early.qe = { ...this.qe, levels: this.qe.levels.map((l) => ({ ...l, advisoryIds: [...l.advisoryIds] })) };
    this.changed();
  }
}
