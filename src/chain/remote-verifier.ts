import type { TdReport10 } from '../formats/quote.ts';
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

interface AcceptedCommon {
  ok: true;
  tcbStatus: string;
  advisoryIds: string[];
  /** Platform id derived from the PCK certificate (hex PPID). */
  platform: string;
  fmspc: string;
  /** The quoting enclave: the SGX QE, or the TD QE for a TD quote. */
  qe: { mrEnclave: string; mrSigner: string; isvProdId: number; isvSvn: number };
}

/** An accepted SGX quote (tee absent) carries the enclave's report body; a TDX quote its TD report. */
export type RemoteEvidenceResult =
  | (AcceptedCommon & { tee?: 'sgx'; report: ReportBody })
  | (AcceptedCommon & { tee: 'tdx'; td: TdReport10 })
  | { ok: false; check: string; message: string; tcbStatus?: string; advisoryIds?: string[] };

/** Refusal of a TD quote where only SGX enclaves can be admitted (re-attestation of an enclave, an SGX-only path). */
export const NOT_SGX = {
  ok: false,
  check: 'quote.teeType',
  message: 'the quote is of a TD, not an SGX enclave',
} as const;

/** Refuses everything: for tests and for a verifier with no trusted root configured. */
export const alwaysFailRemoteVerifier: RemoteEvidenceVerifier = {
  async verify() {
    return { ok: false, check: 'remote-verifier', message: 'no remote evidence verifier configured' };
  },
};
