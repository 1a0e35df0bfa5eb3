export { DcapVerifier, verifyQuote, alwaysRejectVerifier, CHECK_CODES } from './verify-quote.ts';
export { VerificationCache } from './cache.ts';
export { INTEL_ROOT_PUBLIC_KEY_HEX } from './intel-root.ts';
export {
  matchPlatformTcbLevel,
  matchQeTcbLevel,
  convergeStatus,
  checkTdxModule,
  type StatusWithAdvisories,
} from './tcb-level.ts';
export type { Appraisal, Check, QuoteSummary, QuoteVerifier, VerifyOptions } from './types.ts';
export {
  explainTcb,
  type TcbExplanation,
  type TcbShortfall,
  type TcbTarget,
  type TcbLevelRef,
  type PlatformTcbInput,
} from './tcb-explanation.ts';
