import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { HttpError } from './http-error.ts';
import { problem, sendProblem } from './problem.ts';

export interface ProblemHandlerOptions {
  /** Maps a service's own errors (store, chain, manufacturer) to an HttpError; undefined: not its error. */
  mapError?(e: unknown): HttpError | undefined;
}

/** Fastify's own request errors, by code, as problems. */
const FASTIFY: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'ERR_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'ERR_MALFORMED'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'ERR_MALFORMED'],
  FST_ERR_CTP_INVALID_TYPE: [400, 'ERR_MALFORMED'],
  FST_ERR_CTP_EMPTY_TYPE: [400, 'ERR_MALFORMED'],
};

/** Turns anything thrown while serving a request into a problem: [status, code, detail, check, headers]. */
export function toProblem(err: unknown, opts: ProblemHandlerOptions): { error: HttpError; internal: boolean } {
  const mapped = err instanceof HttpError ? err : opts.mapError?.(err);
  if (mapped) return { error: mapped, internal: mapped.status >= 500 };
  const fe = err as Partial<FastifyError>;
  const known = fe.code ? FASTIFY[fe.code] : undefined;
  if (known) return { error: new HttpError(known[0], known[1], fe.message ?? known[1]), internal: false };
  if (fe.validation)
    return {
      error: new HttpError(400, 'ERR_MALFORMED', fe.message ?? 'the request fails its schema'),
      internal: false,
    };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      error: new HttpError(
        fe.statusCode === 413 ? 413 : 400,
        fe.statusCode === 413 ? 'ERR_TOO_LARGE' : 'ERR_MALFORMED',
        fe.message ?? 'malformed request',
      ),
      internal: false,
    };
  }
  return { error: new HttpError(500, 'ERR_INTERNAL', 'internal error'), internal: true };
}

/**
 * The one error and not-found handler of every Catena server: every refusal is
 * application/problem+json with a stable `code`; a 5xx is logged with its stack and request id
 * (its detail stays generic when it is not one of ours). A path that exists for other methods gets
 * 405 with Allow.
 */
export function installProblemHandlers(app: FastifyInstance, opts: ProblemHandlerOptions = {}): void {
  const routes: Array<{ method: string; re: RegExp }> = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const re = new RegExp(
      `^${r.url
        .split('/')
        .map((s) => (s.startsWith(':') ? '[^/]+' : s === '*' ? '.*' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')}$`,
    );
    for (const m of [r.method].flat()) routes.push({ method: String(m), re });
  });
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { error, internal } = toProblem(err, opts);
    if (error.status >= 500) req.log.error({ err, code: error.code }, internal ? 'internal error' : 'request failed');
    if (error.headers) for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
    return sendProblem(reply, error.status, error.code, error.message, error.check);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = (req.raw.url ?? '/').split('?')[0];
    const allow = [...new Set(routes.filter((r) => r.re.test(path)).map((r) => r.method))];
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return sendProblem(
        reply,
        405,
        'ERR_METHOD_NOT_ALLOWED',
        `${req.method} is not allowed on ${path} (allowed: ${allow.join(', ')})`,
      );
    }
    return sendProblem(reply, 404, 'ERR_NOT_FOUND', `no such resource: ${req.method} ${path}`);
  });
}

/** Errors Node's HTTP parser raises before a request exists (oversized headers, garbage): problem+json too. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'ERR_HEADERS_TOO_LARGE', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'ERR_REQUEST_TIMEOUT', 'the request was not received in time']
        : [400, 'ERR_MALFORMED', 'malformed HTTP request'];
  const body = JSON.stringify(problem(status, code, detail));
  socket.end(
    `HTTP/1.1 ${status} ${problem(status, code, detail).title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
