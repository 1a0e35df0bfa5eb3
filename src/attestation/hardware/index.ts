export {
  GramineAttester,
  GRAMINE_DEFAULT_DIR,
  GRAMINE_FILES,
  type GramineAttestationType,
  type GramineAttesterOptions,
} from './gramine.ts';
export { hardwareQuoteIssuer, type HardwareQuoteSource } from './quote-issuer.ts';
export { nodeFileOps, type FileOps } from './file-ops.ts';
export { AttesterError } from './errors.ts';
