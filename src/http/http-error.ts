import { CatenaError } from '../errors.ts';

/**
 * An error the HTTP layer answers as application/problem+json with this status and stable `code`.
 * Services subclass it (ServerError) or map their own errors to it (ProblemHandlerOptions.mapError).
 */
export class HttpError extends CatenaError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    /** For refused links: the failing check (e.g. `quote:tcb-status`). */
    readonly check?: string,
    /** Extra response headers (Retry-After, Allow). */
    readonly headers?: Record<string, string>,
  ) {
    super(code, message);
  }
}
