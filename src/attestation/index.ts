export * from './dcap/index.ts';
export * from './collateral/index.ts';
export { applyPolicy, parsePolicy, DEFAULT_ACCEPTED_TCB_STATUSES, type PolicyFacts } from './policy.ts';
export type { AppraisalPolicy, TdPolicy } from './appraisal-policy.ts';
export {
  issueEar,
  publicJwks,
  earStatus,
  trustworthinessVector,
  EAR_PROFILE,
  type EarStatus,
  type IssueEarOptions,
  type TrustworthinessVector,
} from './ear.ts';
export { CollateralError } from './errors.ts';
export { pemCertificates, certificatesFromAny, derFromAny, toPem } from './pem.ts';
export { checkIdentity, type IdentityPolicy, type IdentityResult, type IdentityFailure } from './identity-policy.ts';
export * from './hardware/index.ts';
