import { CatenaError } from '../errors.ts';

/** A value with no canonical JSON form (RFC 8785 on I-JSON data): ERR_CANONICAL_JSON. */
export class CanonicalJsonError extends CatenaError {
  constructor(message: string) {
    super('ERR_CANONICAL_JSON', `canonical JSON: ${message}`);
  }
}
