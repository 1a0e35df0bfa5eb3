import { CatenaError } from '../errors.ts';

/** Stable problem codes of the manager and agent APIs (docs/api.md). */
export type ServerErrorCode =
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_PEER_REFUSED'
  | 'ERR_MALFORMED'
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

const TITLE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** An error the API reports as application/problem+json (RFC 9457) with a stable `code`. */
export class ServerError extends CatenaError {
  readonly status: number;
  constructor(
    code: ServerErrorCode,
    message: string,
    /** For refused links: the failing check (e.g. `quote:tcb-status`, `link-signature`). */
    readonly check?: string,
  ) {
    super(code, message);
    this.status = STATUS[code];
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  check?: string;
}

export function problem(status: number, code: string, detail: string, check?: string): Problem {
  return {
    type: `https://catena.invalid/problems/${code.toLowerCase().replace(/^err_/, '').replace(/_/g, '-')}`,
    title: TITLE[status] ?? 'Error',
    status,
    detail,
    code,
    ...(check ? { check } : {}),
  };
}
