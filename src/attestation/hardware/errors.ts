import { CatenaError } from '../../errors.ts';

/**
 * A hardware attester could not do what was asked. Codes (docs/hardware.md, docs/errors.md):
 * - ERR_ATTESTER_UNAVAILABLE — a pseudo-file is missing (not inside Gramine, or a Gramine without it);
 * - ERR_ATTESTER_IO — a read or write of a pseudo-file failed (Gramine refused it);
 * - ERR_ATTESTER_LENGTH — a pseudo-file gave back the wrong number of bytes;
 * - ERR_ATTESTER_TYPE — attestation_type is unknown, or not `dcap` when a quote is asked for;
 * - ERR_ATTESTER_REPORT_DATA — the REPORT or quote read back does not carry the REPORTDATA just written;
 * - ERR_ATTESTER_QUOTE_FORMAT — the quote read back is not an SGX DCAP quote;
 * - ERR_ATTESTER_ARGUMENT — the caller passed a TARGETINFO, REPORTDATA or key name of the wrong shape.
 */
export class AttesterError extends CatenaError {
  constructor(code: `ERR_ATTESTER_${string}`, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
