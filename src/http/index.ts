/** HTTP plumbing shared by the manager, the agent and the emulated PCS (fastify, pino, node only). */
export { createHttpApp, LOG_LEVELS, type HttpAppOptions, type LogLevel } from './create-app.ts';
export { HttpError } from './http-error.ts';
export { problem, sendProblem, type Problem } from './problem.ts';
export { DEFAULT_LIMITS, resolveLimits, applyServerLimits, type ServerLimits } from './limits.ts';
export {
  installRouteAuth,
  permits,
  AUTH_LEVELS,
  type AuthLevel,
  type Principal,
  type RouteAuthOptions,
} from './route-auth.ts';
export {
  installProblemHandlers,
  clientErrorHandler,
  toProblem,
  type ProblemHandlerOptions,
} from './problem-handlers.ts';
export { guardRequestTarget } from './request-guard.ts';
export { installJsonParser, parseJsonStrict } from './json-parser.ts';
