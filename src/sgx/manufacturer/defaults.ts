import { fromHex } from '../../bytes/util.ts';

export const DEFAULT_PCS_URL = 'http://127.0.0.1:8081';
/** Intel QE3's ISVPRODID and the emulated QE's ISVSVN (src/sgx/qe); the defaults of the QE identity. */
export const DEFAULT_QE_ISVPRODID = 1;
export const DEFAULT_QE_ISVSVN = 8;
export const DEFAULT_ATTRIBUTES_MASK = fromHex('fbffffffffffffff0000000000000000');

/**
 * By default the manufacturer dates what it issues (certificates, TCB info, QE identity, CRLs) one
 * hour in the past, as a real PCS serves collateral issued earlier: a verifier whose clock is slightly
 * behind, or that took its "now" just before the emulator booted, still finds everything current.
 */
export const ISSUE_BACKDATE_MS = 3_600_000;
export const backdatedClock = (): Date => new Date(Date.now() - ISSUE_BACKDATE_MS);

export const DAY = 86_400_000;
export const YEAR = 365 * DAY;
