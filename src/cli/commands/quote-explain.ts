import type { Appraisal, CollateralSource, TcbExplanation } from '../../attestation/index.ts';
import { tdxModuleWords } from '../../attestation/dcap/tcb-explanation.ts';

/**
 * The `tcbExplanation` of `catena quote verify --json`: explainTcb over the TCB info the verifier
 * used — only when that TCB info verified (its check passed and the platform level was judged), so
 * an explanation never rests on unverified collateral. `early`: the appraisal of the same quote under
 * the early collateral; its TCB info is used only when it verified too.
 */
export async function tcbExplanationOf(
  appraisal: Appraisal,
  collateral: CollateralSource,
  at: Date,
  early?: { appraisal: Appraisal; collateral: CollateralSource },
): Promise<TcbExplanation | null> {
  const { explainTcb } = await import('../../attestation/dcap/tcb-explanation.ts');
  const { parseTcbInfo } = await import('../../formats/tcb-info.ts');
  const { fromHex } = await import('../../bytes/util.ts');
  const infoOf = async (a: Appraisal, c: CollateralSource) => {
    const judged =
      a.checks.some((k) => k.name === 'tcb.platformLevel' && !k.skipped) &&
      a.checks.some((k) => k.name === 'collateral.tcbInfo' && k.ok);
    if (!judged || !a.platform || !a.quote) return undefined;
    const col = await c.get({ fmspc: a.platform.fmspc, pckCa: a.platform.pckCa, teeType: a.quote.teeType }, at);
    return parseTcbInfo(col.tcbInfo.text);
  };
  const info = await infoOf(appraisal, collateral);
  if (!info || !appraisal.platform) return null;
  const platform = {
    components: appraisal.platform.tcbComponents,
    pceSvn: appraisal.platform.pceSvn,
    ...(appraisal.quote?.td ? { teeTcbSvn: fromHex(appraisal.quote.td.teeTcbSvn) } : {}),
  };
  const earlyInfo = early ? await infoOf(early.appraisal, early.collateral) : undefined;
  return explainTcb(platform, info, earlyInfo);
}

/** Early collateral: a PCS/PCCS URL is asked for `update=early`; a directory or file is taken as it is. */
export async function openEarlyCollateral(where: string): Promise<CollateralSource> {
  if (/^https?:\/\//i.test(where)) {
    const { pcsCollateral } = await import('../../attestation/collateral/from-pcs.ts');
    return pcsCollateral(where, { update: 'early' });
  }
  const { openCollateral } = await import('../../attestation/collateral/open.ts');
  return openCollateral(where);
}

/** Human lines for an explanation (the plain `catena quote verify` output). */
export function explanationLines(x: TcbExplanation | null): string[] {
  if (!x) return [];
  const need = (t: NonNullable<TcbExplanation['next']>) =>
    t.shortfalls
      .map((s) =>
        s.component === 'pcesvn'
          ? `PCESVN ${s.have} → ${s.need}`
          : `${s.component === 'tdx' ? 'TDX' : 'SGX'} component ${s.index}${s.category || s.type ? ` (${[s.category, s.type].filter(Boolean).join(', ')})` : ''} ${s.have} → ${s.need}`,
      )
      .join('; ');
  const out = [
    `TCB: ${x.matched ? `level ${x.matched.index} of TCB info ${x.tcbEvaluationDataNumber} (${x.matched.tcbStatus})` : `no level of TCB info ${x.tcbEvaluationDataNumber} reached`}`,
  ];
  if (x.next) out.push(`  next level ${x.next.index} (${x.next.tcbStatus}) needs ${need(x.next)}`);
  if (x.upToDate) out.push(`  UpToDate level ${x.upToDate.index} needs ${need(x.upToDate)}`);
  const module = tdxModuleWords(x.tdxModule);
  if (module) out.push(`  ${module}`);
  if (x.early)
    out.push(
      `  under early TCB info ${x.early.tcbEvaluationDataNumber}: ${x.early.tcbStatus ?? 'no level reached'}${x.early.changed ? ' (changes when promoted)' : ''}`,
    );
  return out;
}
