export {
  Platform,
  DEFAULT_FMSPC,
  DEFAULT_PCE_ID,
  DEFAULT_PCE_SVN,
  DEFAULT_TCB_COMPONENTS,
  type PlatformOptions,
  type PlatformIdentity,
  type LoadOptions,
} from './platform.ts';
export { MeasurementCache } from './measurement-cache.ts';
export {
  buildEnclave,
  readEnclaveImage,
  parseEnclaveConfig,
  normalizeConfig,
  configAttributes,
  CONFIG_DEFAULTS,
  SIGSTRUCT_ATTRIBUTE_MASK,
  SIGSTRUCT_MISC_MASK,
  type EnclaveConfig,
  type EnclaveImage,
} from './build.ts';
export { Cpu, EnclaveRef, ROOT_SECRETS_SIZE, type EnclaveIdentity, type EinitRequest } from './cpu.ts';
export type { EnclaveContext, EnclaveHandle, EnclaveFactory, EcallTable, OcallTable, RuntimeKind } from './enclave.ts';
export {
  sealData,
  unsealData,
  parseSealedData,
  SEALED_DATA_HEADER_SIZE,
  SEAL_ATTRIBUTE_MASK,
  SEAL_MISC_MASK,
  type SealPolicy,
  type SealedData,
  type SealingEnclave,
} from './seal.ts';
export {
  deriveKey,
  serializeKeyDependencies,
  emptyKeyDependencies,
  KEY_DEPENDENCIES_SIZE,
  type KeyDependencies,
} from './key-derivation.ts';
export {
  layoutEnclave,
  sgxsOf,
  loadSgxs,
  PAGE_SIZE,
  PAGE_FLAGS,
  NSSA,
  type EnclaveLayout,
  type PageSpec,
  type LoadedImage,
  type LayoutParams,
} from './layout.ts';
export { SgxError, EnclaveCallError } from './errors.ts';
export { Measurement, measureSgxs } from './measure.ts';
