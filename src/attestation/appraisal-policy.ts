import type { TdPolicy } from './td-policy.ts';

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
