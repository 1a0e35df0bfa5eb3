import type { TcbExplanation, TcbShortfall } from '../../attestation/dcap/tcb-explanation.ts';

/** What a TD's TDX TCB was judged under one release: the TDX level's status and the module's. */
export interface TdxJudged {
  tcbEvaluationDataNumber: number;
  level: string | null;
  module?: string | null;
}

type Judgement = Omit<TcbExplanation, 'early'>;

export function judgedOf(x: Judgement): TdxJudged {
  return {
    tcbEvaluationDataNumber: x.tcbEvaluationDataNumber,
    level: x.tcbStatus,
    ...(x.tdxModule ? { module: x.tdxModule.matched?.tcbStatus ?? null } : {}),
  };
}

const name = (s: TcbShortfall) => ((s.type ?? s.category) ? ` (${s.type ?? s.category})` : '');
const moved = (before: string | null | undefined, now: string | null, none: string) =>
  `${before !== undefined && before !== now ? `${before ?? none} → ` : ''}${now ?? none}`;

/**
 * A TD's TDX TCB in words, naming what moved between `before` (the release judged before, when known)
 * and `x`: the TDX module (its identity, ISVSVN, status old → new, the ISVSVN UpToDate needs) and each
 * TEE_TCB_SVN component short of the UpToDate TDX level (index, name from the TCB info, have → need),
 * e.g. "TDX TCB info 18: TDX module TDX_01 at ISVSVN 4 UpToDate → OutOfDate (UpToDate needs ISVSVN 5);
 * TDX level UpToDate → OutOfDate, TEE_TCB_SVN[2] (TDX Late Microcode Update) 2 → 3".
 */
export function tdxWords(x: Judgement, before?: TdxJudged): string {
  const parts: string[] = [];
  const m = x.tdxModule;
  if (m) {
    const now = m.matched?.tcbStatus ?? null;
    if (now !== 'UpToDate' || (before?.module !== undefined && before.module !== now))
      parts.push(
        `TDX module ${m.id} at ISVSVN ${m.isvSvn} ${moved(before?.module, now, `below every ${m.id} level`)}${m.upToDate ? ` (UpToDate needs ISVSVN ${m.upToDate.isvSvn})` : ''}`,
      );
  }
  const short = (x.upToDate ?? (x.tcbStatus !== 'UpToDate' ? x.next : null))?.shortfalls ?? [];
  const tdx = short.filter((s) => s.component === 'tdx');
  const other = short.filter((s) => s.component !== 'tdx');
  if (x.tcbStatus !== 'UpToDate' || (before && before.level !== x.tcbStatus)) {
    const needs = [
      ...tdx.map((s) => `TEE_TCB_SVN[${s.index}]${name(s)} ${s.have} → ${s.need}`),
      ...other.map((s) =>
        s.component === 'pcesvn'
          ? `PCESVN ${s.have} → ${s.need}`
          : `SGX component ${s.index}${name(s)} ${s.have} → ${s.need}`,
      ),
    ];
    parts.push(
      `TDX level ${moved(before?.level, x.tcbStatus, 'none reached')}${needs.length ? `, ${needs.join(', ')}` : ''}`,
    );
  }
  return `TDX TCB info ${x.tcbEvaluationDataNumber}: ${parts.length ? parts.join('; ') : 'TDX module and TDX level UpToDate'}`;
}
