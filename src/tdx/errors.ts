import { CatenaError } from '../errors.ts';

/**
 * Errors of the emulated TDX layer (src/tdx). Malformed bytes (an event log, a TDREPORT) are
 * FormatErrors with ERR_SHORT_INPUT / ERR_TRAILING_BYTES / ERR_EVENT_LOG / ERR_TDREPORT_FORMAT;
 * these are the TD's and the TD quoting enclave's own refusals:
 * - ERR_TDREPORT_MAC     a TDREPORT whose MAC or hashes do not verify on this platform (the TD QE refuses it)
 */
export class TdxError extends CatenaError {}
