import type { ReportBody } from '../formats/report.ts';
import type { CollateralBlob } from './types.ts';

/**
 * What the chain needs to check remote evidence: a DCAP quote verified with the given collateral
 * at a time, against the root the verifier was built with. One method; the real implementation
 * wraps the attestation layer's verifier (src/cot/), tests also use an always-failing one.
 */
export interface RemoteEvidenceVerifier {
  /**
   * `opts.reuse`: the caller accepts a result this verifier already computed for exactly this quote,
   * collateral and instant (Chain.append does, for a quote its parent just verified; verification of a
   * bundle never does). A verifier may ignore it and always verify.
   */
  verify(
    quote: Uint8Array,
    collateral: CollateralBlob,
    at: Date,
    opts?: { reuse?: boolean },
  ): Promise<RemoteEvidenceResult>;
}

export type RemoteEvidenceResult =
  | {
      ok: true;
      tcbStatus: string;
      advisoryIds: string[];
      report: ReportBody;
      /** Platform id derived from the PCK certificate (hex PPID). */
      platform: string;
      fmspc: string;
      qe: { mrEnclave: string; mrSigner: string; isvProdId: number; isvSvn: number };
    }
  | { ok: false; check: string; message: string; tcbStatus?: string; advisoryIds?: string[] };

/** Refuses everything: for tests and for a verifier with no trusted root configured. */
export const alwaysFailRemoteVerifier: RemoteEvidenceVerifier = {
  async verify() {
    return { ok: false, check: 'remote-verifier', message: 'no remote evidence verifier configured' };
  },
};
