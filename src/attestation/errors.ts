import { CatenaError } from '../errors.ts';

/**
 * Collateral that cannot be obtained or read (a missing file, an HTTP error, a malformed collateral.json).
 * Sources throw it; the verifier turns it into a failed `collateral.source` check, never an exception.
 */
export class CollateralError extends CatenaError {
  constructor(message: string, code = 'ERR_COLLATERAL_UNAVAILABLE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
