import { collateralFromQvlJson } from '../../attestation/collateral/from-qvl-json.ts';
import type { Collateral } from '../../attestation/collateral/types.ts';
import { DcapVerifier } from '../../attestation/dcap/verify-quote.ts';
import { hex } from '../../bytes/util.ts';
import type { CollateralBlob } from '../../chain/types.ts';

/**
 * TD evidence in the self-management loop (issue 16, item 1): a TDX quote (tee_type 0x81, v4 or v5)
 * the manager holds as an element's evidence, re-judged against the TDX collateral the monitor holds
 * (TDX TCB info with tdxtcbcomponents and tdxModuleIdentities, the TD_QE identity, the CRLs). This is
 * the collateral side of a TD's appraisal — what a TCB recovery can change — and nothing else (its
 * policy side is checkMemberPolicy, src/chain/policy.ts): the TD's identity (MRTD, RTMRs, attributes) is
 * fixed in its quote and was judged when it was admitted.
 */
export type TdVerdict =
  | { ok: true; tcbStatus: string; advisoryIds: string[] }
  | { ok: false; check: string; message: string; tcbStatus?: string; advisoryIds?: string[] };

export interface TdEvidenceVerifier {
  verify(quote: Uint8Array, collateral: CollateralBlob, at: Date): Promise<TdVerdict>;
}

/** Every status but Revoked passes the DCAP step: the chain policy decides (as for SGX evidence). */
const ALL_BUT_REVOKED = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
];

const verifiers = new Map<string, TdEvidenceVerifier>();

/** The TD evidence verifier trusting exactly `root` (one warm instance per root per process). */
export function tdEvidenceVerifier(root: Uint8Array): TdEvidenceVerifier {
  const k = hex(root);
  let v = verifiers.get(k);
  if (!v) {
    if (verifiers.size > 16) verifiers.clear();
    verifiers.set(k, (v = makeTdVerifier(root)));
  }
  return v;
}

function makeTdVerifier(root: Uint8Array): TdEvidenceVerifier {
  const dcap = new DcapVerifier();
  const parsed = new WeakMap<CollateralBlob, Collateral>();
  return {
    async verify(quote, blob, at) {
      let collateral = parsed.get(blob);
      if (!collateral) {
        try {
          collateral = collateralFromQvlJson(blob);
        } catch (e) {
          return { ok: false, check: 'collateral.format', message: (e as Error).message };
        }
        parsed.set(blob, collateral);
      }
      const a = await dcap.verify(quote, {
        collateral,
        at,
        trustedRoots: [root],
        policy: { acceptedTcbStatuses: ALL_BUT_REVOKED, allowDebug: true },
      });
      if (a.quote?.teeType !== 'tdx') return { ok: false, check: 'quote.teeType', message: 'not a TDX quote' };
      if (a.verdict !== 'accepted' || !a.tcbStatus)
        return {
          ok: false,
          check: a.error?.check ?? 'dcap',
          message: a.error?.message ?? 'quote rejected',
          ...(a.tcbStatus ? { tcbStatus: a.tcbStatus, advisoryIds: a.advisoryIds } : {}),
        };
      return { ok: true, tcbStatus: a.tcbStatus, advisoryIds: a.advisoryIds };
    },
  };
}
