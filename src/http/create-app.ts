import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { sendProblem } from './problem.ts';
import rateLimit from '@fastify/rate-limit';
import { pino, type DestinationStream, type Level } from 'pino';
import { installJsonParser } from './json-parser.ts';
import { resolveLimits, type ServerLimits } from './limits.ts';
import { clientErrorHandler, installProblemHandlers, type ProblemHandlerOptions } from './problem-handlers.ts';
import { guardRequestTarget } from './request-guard.ts';
import { installRouteAuth, type RouteAuthOptions } from './route-auth.ts';

export type LogLevel = Level | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface HttpAppOptions extends ProblemHandlerOptions {
  /** Logged as `service` on every line. */
  service: string;
  /** pino level; default 'silent' (the CLI passes --log-level, default info). */
  logLevel?: LogLevel;
  /** Where log lines go (default: stderr). */
  logStream?: DestinationStream;
  /** Request body limit (bytes). */
  bodyLimit?: number;
  limits?: Partial<ServerLimits>;
  /** TLS options (the agent's RA-TLS server). */
  https?: object;
  auth?: RouteAuthOptions;
}

/**
 * A fastify app with the HTTP plumbing every Catena server shares: limits, JSON logs (one line per
 * request: method, route, status, time, request id — never a header or a body), the request-target
 * guard, the strict JSON parser, route authorization (deny by default), one problem+json error
 * handler. Routes are added by the caller, each with `config: { auth }`.
 */
export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const limits = resolveLimits(opts.limits);
  const level = opts.logLevel ?? 'silent';
  const logger = pino(
    { level, base: { service: opts.service } },
    opts.logStream ?? pino.destination({ fd: 2, sync: false }),
  );
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is ours (onResponse below); fastify's two would carry the URL.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    clientErrorHandler,
    // What the router itself refuses (a malformed percent-encoding, an over-long parameter): problem+json too.
    frameworkErrors: (err: Error & { code?: string }, _req: unknown, reply: FastifyReply) =>
      err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? sendProblem(reply, 414, 'ERR_URI_TOO_LONG', 'a path segment is too long')
        : err.code === 'FST_ERR_BAD_URL'
          ? sendProblem(reply, 400, 'ERR_REQUEST_TARGET', 'the path is not valid percent-encoding')
          : sendProblem(reply, 500, 'ERR_INTERNAL', 'internal error'),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...(opts.https ? { https: opts.https } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.server.headersTimeout = limits.headersTimeoutMs;
  app.server.maxConnections = limits.maxConnections;
  app.addHook('onRequest', async (req) => guardRequestTarget(req, limits.maxUrlLength));
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        method: req.method,
        route: req.routeOptions.url ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  installJsonParser(app);
  installProblemHandlers(app, opts);
  // Its stores count failed authentications and writes (route-auth.ts); loaded with the app, before any request.
  void app.register(rateLimit, { global: false });
  installRouteAuth(app, opts.auth ?? {});
  return app;
}
