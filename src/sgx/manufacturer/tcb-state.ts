import { hex } from '../../bytes/util.ts';
import { attributesBytes, type Attributes } from '../../formats/attributes.ts';
import { DAY, DEFAULT_ATTRIBUTES_MASK } from './defaults.ts';
import { argumentError, ManufacturerError } from './errors.ts';
import type { QeLevelSpec } from './sign-collateral.ts';
import { checkLevels, defaultTcbLevels, isoDay, matchTcbLevel, recoverTcb, type PlatformTcb, type TcbLevelSpec, type TcbRecoveryOptions } from './tcb-levels.ts';
import type { QeDescription } from './types.ts';

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
  if (!/^[0-9a-f]{12}$/.test(h)) throw argumentError(`FMSPC must be 6 bytes (12 hex digits), got ${typeof fmspc === 'string' ? fmspc : `${fmspc.length} bytes`}`);
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

const copyLevels = (levels: readonly TcbLevelSpec[]) => levels.map((l) => ({ ...l, components: [...l.components], advisoryIds: [...l.advisoryIds] }));

export class TcbState {
  readonly fmspcs = new Map<string, FmspcState>();
  qe: QeState | undefined;
  evaluationNumber: number;
  private readonly clock: () => Date;
  private readonly changed: () => void;

  constructor(evaluationNumber: number, clock: () => Date, changed: () => void) {
    this.evaluationNumber = evaluationNumber;
    this.clock = clock;
    this.changed = changed;
  }

  /** An FMSPC's state; ERR_MANUFACTURER_UNKNOWN for an FMSPC without TCB info. */
  fmspc(fmspc: Uint8Array | string): FmspcState {
    const key = fmspcKey(fmspc);
    const s = this.fmspcs.get(key);
    if (!s) throw new ManufacturerError('ERR_MANUFACTURER_UNKNOWN', `no TCB info for FMSPC ${key.toUpperCase()}`);
    return s;
  }

  setTcbLevels(fmspc: Uint8Array | string, levels: TcbLevelSpec[], pceId: number): void {
    checkLevels(levels);
    this.fmspcs.set(fmspcKey(fmspc), { pceId, levels: copyLevels(levels) });
    this.changed();
  }

  /** Default levels around `current` for an FMSPC without TCB info; whether it was added. */
  ensureFmspc(fmspc: Uint8Array | string, current: PlatformTcb, pceId: number, at: Date = this.clock()): boolean {
    const key = fmspcKey(fmspc);
    if (this.fmspcs.has(key)) return false;
    this.setTcbLevels(key, defaultTcbLevels(current, at), pceId);
    return true;
  }

  tcbLevels(fmspc: Uint8Array | string): TcbLevelSpec[] {
    return copyLevels(this.fmspc(fmspc).levels);
  }

  tcbLevelOf(fmspc: Uint8Array | string, platform: PlatformTcb): TcbLevelSpec | undefined {
    return matchTcbLevel(this.fmspc(fmspc).levels, platform);
  }

  publishTcbRecovery(fmspc: Uint8Array | string, opts: TcbRecoveryOptions): { tcbEvaluationDataNumber: number; levels: TcbLevelSpec[] } {
    const state = this.fmspc(fmspc);
    const top = state.levels[0];
    const upToDate = opts.upToDate ?? { components: top.components.map((c, i) => (i < 2 ? Math.min(c + 1, 255) : c)), pceSvn: top.pceSvn };
    const next = this.evaluationNumber + 1;
    const levels = recoverTcb(state.levels, {
      upToDate,
      advisoryId: opts.advisoryId ?? `CATENA-SA-${String(next).padStart(5, '0')}`,
      downgradeTo: opts.downgradeTo ?? 'OutOfDate',
      tcbDate: opts.tcbDate ?? this.clock(),
    });
    this.evaluationNumber = next;
    state.levels = levels;
    this.changed();
    return { tcbEvaluationDataNumber: next, levels: this.tcbLevels(fmspc) };
  }

  setQeIdentity(qe: QeDescription): void {
    if (!(qe.mrSigner instanceof Uint8Array) || qe.mrSigner.length !== 32) throw argumentError('qe.mrSigner must be 32 bytes');
    if (!Number.isInteger(qe.isvProdId) || qe.isvProdId < 0 || qe.isvProdId > 0xffff) throw argumentError('qe.isvProdId must be a u16');
    if (!Number.isInteger(qe.isvSvn) || qe.isvSvn < 0 || qe.isvSvn > 0xffff) throw argumentError('qe.isvSvn must be a u16');
    const today = isoDay(this.clock());
    const levels =
      qe.levels ??
      (qe.isvSvn > 0
        ? [
            { isvSvn: qe.isvSvn, tcbDate: today, status: 'UpToDate' as const, advisoryIds: [] },
            { isvSvn: 0, tcbDate: isoDay(new Date(this.clock().getTime() - 180 * DAY)), status: 'OutOfDate' as const, advisoryIds: ['CATENA-SA-00003'] },
          ]
        : [{ isvSvn: 0, tcbDate: today, status: 'UpToDate' as const, advisoryIds: [] }]);
    if (levels.length === 0) throw argumentError('qe.levels must not be empty');
    const attributesMask = qe.attributesMask === undefined ? Uint8Array.from(DEFAULT_ATTRIBUTES_MASK) : attrBytes(qe.attributesMask, 'qe.attributesMask');
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
    this.changed();
  }
}
