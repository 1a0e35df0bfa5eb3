/**
 * The relying party's appraisal policy, applied after the DCAP checks. Everything optional; the defaults
 * are strict: DEBUG refused, only `UpToDate` accepted, any advisory accepted only through its status.
 */
export interface AppraisalPolicy {
  /** Accepted MRENCLAVE values (hex; for TDX: MRTD). */
  mrEnclave?: string[];
  mrSigner?: string;
  isvProdId?: number;
  minIsvSvn?: number;
  /** Default false: a DEBUG enclave's memory is readable by the host. */
  allowDebug?: boolean;
  /** Exactly 64 bytes, or a prefix of REPORTDATA (e.g. a 32-byte nonce hash). */
  reportData?: Uint8Array;
  /** Default ['UpToDate']. */
  acceptedTcbStatuses?: string[];
  /** When set, every advisory ID must be listed. */
  acceptedAdvisories?: string[];
  /** Refuse collateral (TCB info, QE identity) issued longer than this before the verification time. */
  maxCollateralAgeSeconds?: number;
  /** The TD fields (td-policy.ts): for TDX quotes only; never together with mrEnclave/mrSigner/isvProdId/minIsvSvn. */
  td?: TdPolicy;
}

/**
 * The TD part of an appraisal policy (issue 16): which TDs are acceptable, beyond the DCAP checks.
 * All fields optional; hex strings. A policy holds either these or the SGX enclave fields (mrEnclave,
 * mrSigner, isvProdId, minIsvSvn), never both (parsePolicy refuses the mix).
 */
export interface TdPolicy {
  /** Accepted MRTDs (48 bytes each). */
  mrTd?: string[];
  /** Expected RTMR0..2 (48 bytes each; RTMR3 holds workloads, judged by eventDigests). */
  rtmr0?: string;
  rtmr1?: string;
  rtmr2?: string;
  /** Allow-list of event digests: every measured event of the (replayed) event log must be listed. */
  eventDigests?: string[];
  /** TD_ATTRIBUTES under tdAttributesMask (8 bytes each; mask default all ones). */
  tdAttributes?: string;
  tdAttributesMask?: string;
  xfam?: string;
  xfamMask?: string;
  mrConfigId?: string;
  mrOwner?: string;
  mrOwnerConfig?: string;
  /** Accept a TD bound to service TDs (non-zero MR_SERVICETD in a v5 TD report 1.5). Default false. */
  allowServiceTd?: boolean;
}
