export { TdxError } from './errors.ts';
export {
  buildTdImage,
  PAGE_SIZE,
  TD_ATTR_DEBUG,
  TD_ATTR_SEPT_VE_DISABLE,
  DEFAULT_XFAM,
  type TdImage,
  type TdPage,
  type TdConfig,
} from './td-image.ts';
export { measureMrtd, MrtdBuilder, MR_EXTEND_CHUNK } from './mrtd.ts';
export { TdxModule, TrustDomain, defaultTdxModule, type TdxModuleIdentity } from './tdx-module.ts';
export { bootEvents, measuredBoot, type BootComponents } from './measured-boot.ts';
export { buildTdQuote, checkTdReport, tdQuoteBody } from './td-quote-builder.ts';
export { buildTdQuotingImages } from './td-quoting.ts';
export { TD_EVIDENCE_VARIANTS, tdEvidenceVariant, type TdEvidenceVariant } from './td-variants.ts';
export { emulateTdEvidence, type EmulatedTdEvidence, type EmulateTdOptions } from './emulate-td-evidence.ts';
export { tdPolicyOf } from './td-policy-of.ts';
