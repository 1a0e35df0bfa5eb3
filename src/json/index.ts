export { canonicalJson, canonicalNumber, type CanonicalJsonOptions } from './canonical-json.ts';
export { CanonicalJsonError } from './errors.ts';
