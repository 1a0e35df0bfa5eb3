// A platform's TCB as GET /v1/platforms/:ppid/tcb-status explains it, in a few words: the SVNs in one
// short line, and each shortfall as "component → have/need".

export interface Shortfall {
  component: 'sgx' | 'pcesvn' | 'tdx';
  index?: number;
  category?: string;
  type?: string;
  have: number;
  need: number;
}
export interface LevelRef {
  index: number;
  tcbStatus: string;
  tcbDate: string;
  advisoryIds: string[];
}
export interface Judgement {
  fmspc: string;
  tcbEvaluationDataNumber: number;
  platform: { components: number[]; pceSvn: number; teeTcbSvn?: string };
  matched: LevelRef | null;
  tcbStatus: string | null;
  advisoryIds: string[];
  next: (LevelRef & { shortfalls: Shortfall[] }) | null;
  upToDate: (LevelRef & { shortfalls: Shortfall[] }) | null;
}
export interface TcbStatusAnswer {
  platform: string;
  chain: string;
  element: string;
  at: string;
  linkTcbStatus: string | null;
  pckCa: 'processor' | 'platform';
  tcbExplanation: Judgement & { early?: Judgement & { changed: boolean } };
}

/** "2.2.2.2.3.1.0.3 +8×0, PCE 11" (trailing zero SVNs counted, not listed; TDX: TEE_TCB_SVN's non-zero prefix). */
export function shortComponents(p: Judgement['platform']): string {
  const trim = (svns: number[]) => {
    let n = svns.length;
    while (n > 0 && svns[n - 1] === 0) n--;
    return `${svns.slice(0, n).join('.') || '0'}${n < svns.length ? ` +${svns.length - n}×0` : ''}`;
  };
  const tee = p.teeTcbSvn ? `, TEE ${trim(p.teeTcbSvn.match(/../g)?.map((b) => parseInt(b, 16)) ?? [])}` : '';
  return `SGX ${trim(p.components)}, PCE ${p.pceSvn}${tee}`;
}

/** "SGX #1 (SGX Late Microcode) 2 → 3". */
export function shortfallText(s: Shortfall): string {
  const name = s.component === 'pcesvn' ? 'PCESVN' : `${s.component.toUpperCase()} #${s.index ?? '?'}`;
  const what = [s.category, s.type].filter(Boolean).join(' ');
  return `${name}${what ? ` (${what})` : ''} ${s.have} → ${s.need}`;
}

export const levelText = (l: LevelRef): string =>
  `level ${l.index} (${l.tcbStatus}, ${l.tcbDate.slice(0, 10)}${l.advisoryIds.length ? `, ${l.advisoryIds.join(' ')}` : ''})`;
