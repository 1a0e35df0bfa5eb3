import type { Server } from 'node:http';

/** Limits of every Catena HTTP server (manager, agent, emulated PCS); defaults in docs/api.md, "Limits". */
export interface ServerLimits {
  /** Time to receive a whole request, headers and body (ms). */
  requestTimeoutMs: number;
  /** Time to receive the request headers (ms): slow-header clients are dropped. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection is kept (ms). */
  keepAliveTimeoutMs: number;
  /** Requests served on one connection before it is closed (0: unlimited). */
  maxRequestsPerSocket: number;
  /** Open connections at once; more are refused by the kernel's accept queue being drained and closed. */
  maxConnections: number;
  /** Longest request target (path and query, bytes): longer ones get 414. */
  maxUrlLength: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1_000,
  maxConnections: 1_024,
  maxUrlLength: 4_096,
};

export function resolveLimits(l: Partial<ServerLimits> = {}): ServerLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(l) as Array<[keyof ServerLimits, number | undefined]>) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`server limit ${k}: a non-negative integer, got ${v}`);
    out[k] = v;
  }
  return out;
}

/** The same limits on a server fastify did not create (the manager's agent TLS listener). */
export function applyServerLimits(server: Server, l: ServerLimits): void {
  server.requestTimeout = l.requestTimeoutMs;
  server.headersTimeout = l.headersTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  server.maxConnections = l.maxConnections;
}
