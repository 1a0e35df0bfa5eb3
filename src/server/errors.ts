import { HttpError } from '../http/http-error.ts';

export { problem, type Problem } from '../http/problem.ts';

/** Stable problem codes of the manager and agent APIs (docs/api.md, docs/errors.md). */
export type ServerErrorCode =
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_PEER_REFUSED'
  | 'ERR_MALFORMED'
  | 'ERR_BAD_ROOT'
  | 'ERR_AGENT_URL'
  | 'ERR_TOO_LARGE'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_LINK_REFUSED'
  | 'ERR_UNKNOWN_CHALLENGE'
  | 'ERR_AGENT'
  | 'ERR_COLLATERAL_REQUIRED'
  | 'ERR_NOT_REATTESTABLE'
  | 'ERR_COLLATERAL_UNAVAILABLE'
  | 'ERR_UNAVAILABLE'
  | 'ERR_INTERNAL';

const STATUS: Record<ServerErrorCode, number> = {
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_PEER_REFUSED: 403,
  ERR_MALFORMED: 400,
  ERR_BAD_ROOT: 400,
  ERR_AGENT_URL: 400,
  ERR_TOO_LARGE: 413,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_LINK_REFUSED: 422,
  ERR_UNKNOWN_CHALLENGE: 422,
  ERR_AGENT: 502,
  ERR_COLLATERAL_REQUIRED: 422,
  ERR_NOT_REATTESTABLE: 422,
  ERR_COLLATERAL_UNAVAILABLE: 502,
  ERR_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
};

/** An error the API reports as application/problem+json (RFC 9457) with a stable `code`. */
export class ServerError extends HttpError {
  constructor(
    code: ServerErrorCode,
    message: string,
    /** For refused links: the failing check (e.g. `quote:tcb-status`, `link-signature`). */
    check?: string,
  ) {
    super(STATUS[code], code, message, check);
  }
}
