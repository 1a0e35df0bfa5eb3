import { hex } from '../../bytes/util.ts';
import type { TcbInfo, TcbLevel, TcbStatus } from '../../formats/tcb-info.ts';

/**
 * Why a platform has the TCB status it has, from its PCK certificate's TCB and a (verified) TCB info:
 * the level it matched (Intel's rule: the first level, highest first, that every SGX component, the
 * PCESVN — and for TDX every TEE_TCB_SVN byte — reaches), and what falls short of the next higher
 * level and of the first UpToDate level: each component (index from 0, its category and type where
 * the TCB info names them) and the PCESVN, have → need. With early collateral, the same under it: what
 * the status becomes when Intel promotes it. Pure: no I/O, no clock.
 */
export interface TcbShortfall {
  /** `sgx`: an SGX TCB component (CPUSVN); `pcesvn`; `tdx`: a TEE_TCB_SVN byte. */
  component: 'sgx' | 'pcesvn' | 'tdx';
  /** Component index, from 0 (sgx, tdx). */
  index?: number;
  category?: string;
  type?: string;
  have: number;
  need: number;
}

export interface TcbLevelRef {
  /** Position in the TCB info's tcbLevels (0 = highest). */
  index: number;
  tcbStatus: TcbStatus;
  /** ISO 8601. */
  tcbDate: string;
  advisoryIds: string[];
}

export interface TcbTarget extends TcbLevelRef {
  shortfalls: TcbShortfall[];
}

/**
 * TDX: the TDX module's level in the TCB info's tdxModuleIdentities (TEE_TCB_SVN[1] the major version
 * naming `TDX_<version>`, TEE_TCB_SVN[0] its ISVSVN), which the verifier merges into the platform status.
 */
export interface TdxModuleJudgement {
  id: string;
  isvSvn: number;
  /** The first module level the ISVSVN reaches; null when it reaches none (or the identity is absent). */
  matched: { isvSvn: number; tcbStatus: TcbStatus; tcbDate: string; advisoryIds: string[] } | null;
  /** The first UpToDate module level, when the module is below it: the ISVSVN it needs. */
  upToDate: { isvSvn: number; tcbDate: string } | null;
}

export interface TcbExplanation {
  fmspc: string;
  tcbEvaluationDataNumber: number;
  platform: { components: number[]; pceSvn: number; teeTcbSvn?: string };
  /** The matched level; null when the TCB reaches no level (the verifier rejects it). */
  matched: TcbLevelRef | null;
  /** The platform status the TCB info gives (before the QE's status is merged in); null when no level matched. */
  tcbStatus: TcbStatus | null;
  advisoryIds: string[];
  /** The level just above the matched one (the lowest level when none matched); null at the top. */
  next: TcbTarget | null;
  /** The first UpToDate level, when the platform is below it; null when it is at or above it, or there is none. */
  upToDate: TcbTarget | null;
  /** TDX with a module of major version ≥ 1: its module identity level. */
  tdxModule?: TdxModuleJudgement;
  /** The same judgement under early collateral (a staged TCB recovery), when given; `changed`: the status differs. */
  early?: Omit<TcbExplanation, 'early'> & { changed: boolean };
}

export interface PlatformTcbInput {
  components: readonly number[];
  pceSvn: number;
  /** TDX: the TD report's TEE_TCB_SVN (16 bytes). */
  teeTcbSvn?: Uint8Array;
}

function reaches(p: PlatformTcbInput, l: TcbLevel): boolean {
  if (p.pceSvn < l.pceSvn) return false;
  if (l.sgxComponents.some((svn, i) => (p.components[i] ?? 0) < svn)) return false;
  if (p.teeTcbSvn) {
    if (!l.tdxComponents || l.tdxComponents.some((svn, i) => (p.teeTcbSvn![i] ?? 0) < svn)) return false;
  }
  return true;
}

function ref(l: TcbLevel, index: number): TcbLevelRef {
  return {
    index,
    tcbStatus: l.tcbStatus,
    tcbDate: l.tcbDate.toISOString().replace('.000Z', 'Z'),
    advisoryIds: [...l.advisoryIds],
  };
}

function shortfalls(p: PlatformTcbInput, l: TcbLevel): TcbShortfall[] {
  const out: TcbShortfall[] = [];
  l.sgxComponents.forEach((need, i) => {
    const have = p.components[i] ?? 0;
    if (have >= need) return;
    const n = l.sgxComponentNames?.[i];
    out.push({
      component: 'sgx',
      index: i,
      ...(n?.category !== undefined ? { category: n.category } : {}),
      ...(n?.type !== undefined ? { type: n.type } : {}),
      have,
      need,
    });
  });
  if (p.pceSvn < l.pceSvn) out.push({ component: 'pcesvn', have: p.pceSvn, need: l.pceSvn });
  if (p.teeTcbSvn && l.tdxComponents) {
    l.tdxComponents.forEach((need, i) => {
      const have = p.teeTcbSvn![i] ?? 0;
      if (have >= need) return;
      const n = l.tdxComponentNames?.[i];
      out.push({
        component: 'tdx',
        index: i,
        ...(n?.category !== undefined ? { category: n.category } : {}),
        ...(n?.type !== undefined ? { type: n.type } : {}),
        have,
        need,
      });
    });
  }
  return out;
}

function judge(p: PlatformTcbInput, info: TcbInfo): Omit<TcbExplanation, 'early'> {
  const levels = info.tcbLevels;
  const m = levels.findIndex((l) => reaches(p, l));
  const nextIndex = m < 0 ? levels.length - 1 : m - 1;
  const up = levels.findIndex((l) => l.tcbStatus === 'UpToDate');
  const target = (i: number): TcbTarget => ({ ...ref(levels[i], i), shortfalls: shortfalls(p, levels[i]) });
  return {
    fmspc: hex(info.fmspc),
    tcbEvaluationDataNumber: info.tcbEvaluationDataNumber,
    platform: {
      components: [...p.components],
      pceSvn: p.pceSvn,
      ...(p.teeTcbSvn ? { teeTcbSvn: hex(p.teeTcbSvn) } : {}),
    },
    matched: m < 0 ? null : ref(levels[m], m),
    tcbStatus: m < 0 ? null : levels[m].tcbStatus,
    advisoryIds: m < 0 ? [] : [...levels[m].advisoryIds],
    next: nextIndex >= 0 ? target(nextIndex) : null,
    // Only when the UpToDate level is above the match (or nothing matched) and is not already `next`.
    upToDate: up >= 0 && (m < 0 || up < m) && up !== nextIndex ? target(up) : null,
    ...tdxModuleOf(p, info),
  };
}

const day = (d: Date) => d.toISOString().replace('.000Z', 'Z');

function tdxModuleOf(p: PlatformTcbInput, info: TcbInfo): { tdxModule?: TdxModuleJudgement } {
  const svn = p.teeTcbSvn;
  if (!svn || (svn[1] ?? 0) === 0) return {};
  const id = `TDX_${svn[1].toString(16).toUpperCase().padStart(2, '0')}`;
  const isvSvn = svn[0] ?? 0;
  // Stryker disable next-line ArrayDeclaration: a stand-in entry without isvSvn or tcbStatus matches no test below, as [] does
  const levels = info.tdxModuleIdentities?.find((x) => x.id === id)?.tcbLevels ?? [];
  const m = levels.findIndex((l) => isvSvn >= l.isvSvn);
  const up = levels.findIndex((l) => l.tcbStatus === 'UpToDate');
  // Stryker disable next-line ConditionalExpression: levels[-1] is undefined too
  const l = m < 0 ? undefined : levels[m];
  return {
    tdxModule: {
      id,
      isvSvn,
      matched: l
        ? { isvSvn: l.isvSvn, tcbStatus: l.tcbStatus, tcbDate: day(l.tcbDate), advisoryIds: [...l.advisoryIds] }
        : null,
      upToDate: up >= 0 && (m < 0 || up < m) ? { isvSvn: levels[up].isvSvn, tcbDate: day(levels[up].tcbDate) } : null,
    },
  };
}

/** The explanation of a platform's TCB under `info`, and under `early` (a newer release) when given. */
export function explainTcb(platform: PlatformTcbInput, info: TcbInfo, early?: TcbInfo): TcbExplanation {
  const base = judge(platform, info);
  if (!early) return base;
  const e = judge(platform, early);
  // Level indexes shift when a release adds levels on top: the status is what changes for the platform.
  const changed =
    e.tcbStatus !== base.tcbStatus || e.tdxModule?.matched?.tcbStatus !== base.tdxModule?.matched?.tcbStatus;
  return { ...base, early: { ...e, changed } };
}

/** "TDX module TDX_01 at ISVSVN 4: OutOfDate (UpToDate needs ISVSVN 5)", or undefined without a module judgement. */
export function tdxModuleWords(m: TdxModuleJudgement | undefined): string | undefined {
  if (!m) return undefined;
  const status = m.matched ? m.matched.tcbStatus : `below every ${m.id} level`;
  return `TDX module ${m.id} at ISVSVN ${m.isvSvn}: ${status}${m.upToDate ? ` (UpToDate needs ISVSVN ${m.upToDate.isvSvn})` : ''}`;
}
