import { CatenaError } from '../../errors.ts';

/**
 * Errors of the emulated manufacturer (PKI, collateral, PCS service). Stable codes:
 * - ERR_MANUFACTURER_ARGUMENT   a caller passed a platform or option of the wrong shape
 * - ERR_MANUFACTURER_DATA       a persisted manufacturer directory is unreadable or inconsistent
 * - ERR_MANUFACTURER_UNKNOWN    no such FMSPC, PCK certificate or CA
 * - ERR_MANUFACTURER_REASON     a CRL reason code that is not a non-zero RFC 5280 CRLReason
 * - ERR_MANUFACTURER_STATE      a TCB recovery staged while another is, or promoted when none is
 */
export class ManufacturerError extends CatenaError {}

export const argumentError = (message: string) => new ManufacturerError('ERR_MANUFACTURER_ARGUMENT', message);
