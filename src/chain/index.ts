export { Chain, enclaveElementId } from './chain.ts';
export { verifyBundle, collateralId, LinkChecker, type VerifyChainOptions } from './verify-bundle.ts';
export { elementReportData, linkSigningBytes, headerSigningBytes, revocationSigningBytes } from './signing.ts';
export { canonicalJson, CanonicalJsonError } from '../json/index.ts';
export { checkElementPolicy, policyAtDepth, DEFAULT_EVIDENCE_MAX_AGE_SECONDS } from './policy.ts';
export { parseChainPolicy } from './parse-policy.ts';
export { alwaysFailRemoteVerifier, type RemoteEvidenceVerifier, type RemoteEvidenceResult } from './remote-verifier.ts';
export { ChainError } from './errors.ts';
export type * from './types.ts';
export { BundleWriter } from './write-bundle-v2.ts';
export { BundleReader, readBundleV2, readBundleV2Sync, isBundleV2, type BundleItem } from './read-bundle-v2.ts';
export { verifyBundleV2, type LinkCryptoPrefetcher, type VerifyStreamOptions } from './verify-bundle-v2.ts';
export { BundleError } from './errors.ts';
export {
  checksFor,
  identityKind,
  isEnclaveIdentity,
  isMemberKind,
  layerOf,
  LAYER_KINDS,
  tdIdentityOf,
  workloadDigest,
} from './layers.ts';
export { appraiseTd, appraiseWorkload, replayTdEventLog } from './appraise-layers.ts';
