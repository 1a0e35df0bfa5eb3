/**
 * The library pieces the emulated TD quoting enclave imports (through the package self-reference
 * `catena/tdx/td-qe-imports`). Only the enclave module text is measured.
 */
export { p256PublicRaw, p256Sign } from '../crypto/ecdsa.ts';
export { sha256, sha256Parts } from '../crypto/sha256.ts';
export { reportKeyRequest } from '../formats/keyrequest.ts';
export { parseReport } from '../formats/report.ts';
export { pckKeyFromSeed } from '../sgx/qe/enclave-imports.ts';
export { buildTdQuote, checkTdReport } from './td-quote-builder.ts';
