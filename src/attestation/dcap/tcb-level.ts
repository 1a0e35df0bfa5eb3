import { hex } from '../../bytes/util.ts';
import type { EnclaveIdentity } from '../../formats/qe-identity.ts';
import type { TdReport10 } from '../../formats/quote.ts';
import type { PckTcb } from '../../formats/pck-extension.ts';
import type { TcbInfo, TcbLevel, TcbStatus } from '../../formats/tcb-info.ts';

/**
 * TCB level selection and status convergence, following Intel's QVL (TcbLevelCheck, TdxModuleCheck,
 * QuoteVerifier::convergeTcbStatus*). Pure functions over parsed collateral.
 */
export interface StatusWithAdvisories {
  status: TcbStatus;
  advisoryIds: string[];
}

/**
 * The first level (levels run from the highest TCB down) that the platform reaches: every one of the 16
 * SGX components from the PCK certificate ≥ the level's, PCESVN ≥ the level's, and for TDX every
 * TEE_TCB_SVN byte ≥ the level's tdxtcbcomponents.
 */
export function matchPlatformTcbLevel(info: TcbInfo, pck: PckTcb, teeTcbSvn?: Uint8Array): TcbLevel | undefined {
  return info.tcbLevels.find((level) => {
    if (pck.pceSvn < level.pceSvn) return false;
    if (level.sgxComponents.some((svn, i) => (pck.components[i] ?? 0) < svn)) return false;
    if (teeTcbSvn) {
      const tdx = level.tdxComponents;
      if (!tdx || tdx.some((svn, i) => teeTcbSvn[i] < svn)) return false;
    }
    return true;
  });
}

/** The QE's TCB level: the first whose ISVSVN the QE's ISVSVN reaches. */
export function matchQeTcbLevel(identity: EnclaveIdentity, isvSvn: number): StatusWithAdvisories | undefined {
  const l = identity.tcbLevels.find((x) => isvSvn >= x.isvSvn);
  return l && { status: l.tcbStatus, advisoryIds: [...l.advisoryIds] };
}

export type TdxModuleResult =
  { ok: true; status?: StatusWithAdvisories; detail: string } | { ok: false; detail: string };

function maskedEqual(a: Uint8Array, b: Uint8Array, mask: Uint8Array): boolean {
  // Stryker disable next-line EqualityOperator: one step past the mask compares undefined & undefined (0 with 0)
  for (let i = 0; i < mask.length; i++) if (((a[i] ?? 0) & mask[i]) !== ((b[i] ?? 0) & mask[i])) return false;
  return true;
}

/**
 * TDX module identity (QVL TdxModuleCheck): TEE_TCB_SVN[1] is the module's major version; when non-zero,
 * the `TDX_<version>` entry of tdxModuleIdentities gives the expected MRSIGNER_SEAM, SEAM attributes
 * (masked) and a status by TEE_TCB_SVN[0] (the module's ISVSVN). Version 0 checks against `tdxModule`.
 */
export function checkTdxModule(info: TcbInfo, td: TdReport10): TdxModuleResult {
  const isvSvn = td.teeTcbSvn[0];
  const version = td.teeTcbSvn[1];
  const base = info.tdxModule;
  if (!base) return { ok: false, detail: 'TCB info has no tdxModule' };
  if (version === 0) {
    if (hex(base.mrSigner) !== hex(td.mrSignerSeam))
      return { ok: false, detail: 'MRSIGNER_SEAM differs from tdxModule.mrsigner' };
    if (!maskedEqual(td.seamAttributes, base.attributes, base.attributesMask))
      return { ok: false, detail: 'SEAM attributes differ from tdxModule (masked)' };
    return { ok: true, detail: 'TDX module version 0 matches tdxModule' };
  }
  const id = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  const ident = info.tdxModuleIdentities?.find((m) => m.id === id);
  if (!ident) return { ok: false, detail: `TCB info has no TDX module identity ${id}` };
  if (hex(ident.mrSigner) !== hex(td.mrSignerSeam))
    return { ok: false, detail: `MRSIGNER_SEAM differs from ${id}.mrsigner` };
  if (!maskedEqual(td.seamAttributes, ident.attributes, ident.attributesMask))
    return { ok: false, detail: `SEAM attributes differ from ${id} (masked)` };
  const level = ident.tcbLevels.find((l) => isvSvn >= l.isvSvn);
  if (!level) return { ok: false, detail: `${id} ISVSVN ${isvSvn} is below every level` };
  return {
    ok: true,
    status: { status: level.tcbStatus, advisoryIds: [...level.advisoryIds] },
    detail: `${id} at ISVSVN ${isvSvn}: ${level.tcbStatus}`,
  };
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

/**
 * Intel's convergence of the platform status with a secondary status (the QE's, or the TDX module's):
 * secondary OutOfDate turns UpToDate/SWHardeningNeeded into OutOfDate and the Configuration* statuses into
 * OutOfDateConfigurationNeeded; secondary Revoked makes Revoked; otherwise the platform status stands.
 * Advisory IDs are the union.
 */
export function convergeStatus(platform: StatusWithAdvisories, secondary: StatusWithAdvisories): StatusWithAdvisories {
  let status = platform.status;
  if (secondary.status === 'Revoked') status = 'Revoked';
  else if (secondary.status === 'OutOfDate' || secondary.status === 'OutOfDateConfigurationNeeded') {
    if (platform.status === 'UpToDate' || platform.status === 'SWHardeningNeeded') status = 'OutOfDate';
    else if (platform.status === 'ConfigurationNeeded' || platform.status === 'ConfigurationAndSWHardeningNeeded')
      status = 'OutOfDateConfigurationNeeded';
  }
  return { status, advisoryIds: union(platform.advisoryIds, secondary.advisoryIds) };
}
