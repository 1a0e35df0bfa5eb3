import { argumentError } from './errors.ts';
import { isoDay, type TcbLevelSpec, type TcbStatus } from './tcb-levels.ts';

/**
 * The emulated manufacturer's TDX TCB knowledge of one release (what its TDX TCB info says beyond the
 * SGX levels it shares): the TEE_TCB_SVN the UpToDate TDX level needs, the TEE_TCB_SVN requirements
 * earlier TDX TCB recoveries superseded (with the status they were given), and the levels of the
 * TDX_01 module identity (by the module's ISVSVN, TEE_TCB_SVN[0]). A TDX TCB recovery raises one of
 * them and downgrades what it supersedes; the SGX levels are left as they are.
 */
export interface TdxTcbState {
  /** TEE_TCB_SVN of the UpToDate TDX level ([0] module ISVSVN, [1] major version, [2] late microcode). */
  current: number[];
  /** tcbDate of the current level, when a recovery set it (else the SGX top level's). */
  currentTcbDate?: string;
  /** TEE_TCB_SVN requirements superseded by recoveries, newest first. */
  superseded: Array<{ components: number[]; status: TcbStatus; advisoryIds: string[]; tcbDate: string }>;
  /** TDX_01 module identity levels, highest ISVSVN first. */
  moduleLevels: Array<{ isvSvn: number; tcbDate: string; status: TcbStatus; advisoryIds: string[] }>;
}

/** Which part of the TDX TCB a recovery raises: the TDX module (TDX_01 ISVSVN) or a TEE_TCB_SVN component (late microcode, [2]). */
export type TdxRecoveryComponent = 'module' | 'tee-tcb-svn';
export const TDX_RECOVERY_COMPONENTS: readonly TdxRecoveryComponent[] = ['module', 'tee-tcb-svn'];

/** TEE_TCB_SVN components of the current emulated TDX TCB ([0] module ISVSVN, [1] major version, [2] late microcode). */
export const TDX_TCB_CURRENT = [4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** What the SGX levels below the top need of the TEE_TCB_SVN. */
export const TDX_TCB_OLD = [2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** Index of the TEE_TCB_SVN component a `tee-tcb-svn` recovery raises (the TDX late microcode update). */
export const TDX_LATE_MICROCODE = 2;

/** Names of the TEE_TCB_SVN components, as Intel's TDX TCB info gives them (category, type). */
export const TDX_COMPONENT_NAMES: ReadonlyArray<{ category?: string; type?: string }> = [
  { category: 'OS/VMM', type: 'TDX Module' },
  { category: 'OS/VMM', type: 'TDX Module' },
  { category: 'OS/VMM', type: 'TDX Late Microcode Update' },
];

/** The TDX TCB of a new manufacturer: module ISVSVN ≥ 4 UpToDate, ≥ 2 OutOfDate. */
export function defaultTdxTcbState(now: Date): TdxTcbState {
  return {
    current: [...TDX_TCB_CURRENT],
    superseded: [],
    moduleLevels: [
      { isvSvn: 4, tcbDate: isoDay(now), status: 'UpToDate', advisoryIds: [] },
      { isvSvn: 2, tcbDate: isoDay(new Date(now.getTime() - 180 * 86_400_000)), status: 'OutOfDate', advisoryIds: [] },
    ],
  };
}

export function copyTdxTcbState(s: TdxTcbState): TdxTcbState {
  return {
    current: [...s.current],
    ...(s.currentTcbDate ? { currentTcbDate: s.currentTcbDate } : {}),
    superseded: s.superseded.map((x) => ({ ...x, components: [...x.components], advisoryIds: [...x.advisoryIds] })),
    moduleLevels: s.moduleLevels.map((l) => ({ ...l, advisoryIds: [...l.advisoryIds] })),
  };
}

/**
 * A TDX TCB recovery on a copy of `s`: `module` puts a new UpToDate TDX_01 level one ISVSVN above the
 * top one and gives the former UpToDate levels `downgradeTo` and the advisory; `tee-tcb-svn` raises the
 * TEE_TCB_SVN the UpToDate TDX level needs at the late-microcode component, the former requirement
 * becoming a level of status `downgradeTo` with the advisory.
 */
export function recoverTdxTcb(
  s: TdxTcbState,
  o: { component: TdxRecoveryComponent; downgradeTo: TcbStatus; advisoryId: string; tcbDate: Date },
): TdxTcbState {
  if (!TDX_RECOVERY_COMPONENTS.includes(o.component))
    throw argumentError(`TDX recovery component must be ${TDX_RECOVERY_COMPONENTS.join(' or ')}`);
  if (o.downgradeTo === 'UpToDate') throw argumentError('a TCB recovery cannot leave former levels UpToDate');
  const next = copyTdxTcbState(s);
  const day = isoDay(o.tcbDate);
  if (o.component === 'module') {
    const top = next.moduleLevels[0];
    if (top.isvSvn >= 255) throw argumentError('the TDX module ISVSVN cannot be raised past 255');
    for (const l of next.moduleLevels) if (l.status === 'UpToDate') l.status = o.downgradeTo;
    for (const l of next.moduleLevels) if (!l.advisoryIds.includes(o.advisoryId)) l.advisoryIds.push(o.advisoryId);
    next.moduleLevels.unshift({ isvSvn: top.isvSvn + 1, tcbDate: day, status: 'UpToDate', advisoryIds: [] });
  } else {
    if (next.current[TDX_LATE_MICROCODE] >= 255) throw argumentError('the TEE_TCB_SVN cannot be raised past 255');
    next.superseded.unshift({
      components: [...s.current],
      status: o.downgradeTo,
      advisoryIds: [o.advisoryId],
      tcbDate: s.currentTcbDate ?? isoDay(new Date(o.tcbDate.getTime() - 86_400_000)),
    });
    next.current[TDX_LATE_MICROCODE]++;
    next.currentTcbDate = day;
  }
  return next;
}

export interface TdxLevelSpec extends TcbLevelSpec {
  /** The 16 TEE_TCB_SVN components this level needs. */
  tdxComponents: number[];
}

/**
 * The TDX TCB levels of an FMSPC: its top SGX level with the current TEE_TCB_SVN, then with each
 * superseded one (its status merged in: Revoked wins, an UpToDate SGX level takes the TDX status),
 * then the lower SGX levels with the old TEE_TCB_SVN.
 */
export function tdxLevelsOf(sgxLevels: readonly TcbLevelSpec[], s: TdxTcbState): TdxLevelSpec[] {
  const [top, ...rest] = sgxLevels;
  const status = (sgx: TcbStatus, tdx: TcbStatus): TcbStatus =>
    tdx === 'Revoked' ? 'Revoked' : sgx === 'UpToDate' ? tdx : sgx;
  return [
    { ...top, ...(s.currentTcbDate ? { tcbDate: s.currentTcbDate } : {}), tdxComponents: [...s.current] },
    ...s.superseded.map((x) => ({
      ...top,
      tcbDate: x.tcbDate,
      status: status(top.status, x.status),
      advisoryIds: [...new Set([...top.advisoryIds, ...x.advisoryIds])],
      tdxComponents: [...x.components],
    })),
    ...rest.map((l) => ({ ...l, tdxComponents: [...TDX_TCB_OLD] })),
  ];
}
