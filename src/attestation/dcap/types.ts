import type { Collateral, CollateralSource } from '../collateral/types.ts';
import type { AppraisalPolicy } from '../appraisal-policy.ts';
import type { VerificationCache } from './cache.ts';

export interface VerifyOptions {
  collateral: Collateral | CollateralSource;
  /** The verification time: required, explicit. Every validity window is judged at this instant. */
  at: Date;
  /**
   * Trust anchors: DER certificates or raw P-256 public keys (64 bytes X‖Y, or 65 with 0x04).
   * Default: Intel's root public key. When given, they replace Intel's pin (pass Intel's too if wanted).
   */
  trustedRoots?: Uint8Array[];
  policy?: AppraisalPolicy;
  /** A TD's measured-boot event log (CCEL): replayed against the quoted RTMRs (check td.eventLog). */
  eventLog?: Uint8Array;
  /** Reuse verified certificates, CRLs and collateral signatures across calls (a warm verifier). */
  cache?: VerificationCache;
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
  /** Present when the check could not run because an earlier one failed. */
  skipped?: true;
  /** The stable error code of a failing check. */
  code?: string;
}

export interface QuoteSummary {
  version: number;
  teeType: 'sgx' | 'tdx';
  /** SGX: MRENCLAVE. TDX: MRTD. Hex. */
  mrEnclave: string;
  /** SGX: MRSIGNER. TDX: '' (a TD has no signer; see td.mrOwner). */
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  debug: boolean;
  reportData: string;
  /** SGX ATTRIBUTES (16 bytes hex) or TDX TD_ATTRIBUTES (8 bytes hex). */
  attributes: string;
  qeSvn: number;
  pceSvn: number;
  td?: {
    teeTcbSvn: string;
    mrSeam: string;
    mrSignerSeam: string;
    seamAttributes: string;
    xfam: string;
    mrConfigId: string;
    mrOwner: string;
    mrOwnerConfig: string;
    rtmr: string[];
    /** Quote v5 TD report 1.5 only. */
    mrServiceTd?: string;
    teeTcbSvn2?: string;
  };
}

export interface Appraisal {
  verdict: 'accepted' | 'rejected';
  tcbStatus?: string;
  advisoryIds: string[];
  checks: Check[];
  /** The first failing check. */
  error?: { code: string; message: string; check: string };
  quote?: QuoteSummary;
  platform?: {
    fmspc: string;
    pceId: string;
    ppid: string;
    pckCa: 'processor' | 'platform';
    tcbComponents: number[];
    pceSvn: number;
    cpuSvn: string;
    sgxType: number;
  };
  qe?: { mrEnclave: string; mrSigner: string; isvProdId: number; isvSvn: number; tcbStatus?: string };
  collateral?: {
    origin?: string;
    tcbInfo?: { issueDate: string; nextUpdate: string; tcbEvaluationDataNumber: number; version: number; id: string };
    qeIdentity?: { issueDate: string; nextUpdate: string; tcbEvaluationDataNumber: number; id: string };
  };
  /** False when the chain rests on a caller-supplied root, not Intel's pinned key. */
  rootIsIntel: boolean;
  /** The verification time, ISO 8601. */
  at: string;
  /**
   * Accepted appraisals only: the verification times (ISO 8601, inclusive) at which every time-dependent
   * check — certificate, CRL, TCB info and QE identity windows, collateral age — gives the same outcome
   * as at `at`. `until` is when this appraisal must be redone at the latest (the earliest expiry it relied on).
   */
  validity?: { from: string; until: string };
}

/** One method: a quote and options in, an appraisal out. Implementations: the DCAP verifier, an always-reject. */
export interface QuoteVerifier {
  verify(quote: Uint8Array, opts: VerifyOptions): Promise<Appraisal>;
}
