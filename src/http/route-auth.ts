import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { HttpError } from './http-error.ts';

/** Who may call a route: anyone, or a caller whose role ranks at least this high (reader < agent < admin). */
export type AuthLevel = 'public' | 'reader' | 'agent' | 'admin';
export const AUTH_LEVELS: readonly AuthLevel[] = ['public', 'reader', 'agent', 'admin'];

/** An authenticated caller. `agentId`: the one agent an agent token speaks for (when bound). */
export interface Principal {
  id: string;
  role: 'reader' | 'agent' | 'admin';
  agentId?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route (build() throws otherwise): who may call it. */
    auth?: AuthLevel;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** Every route registered, with its declared authorization (tests walk it). */
    routeTable: Array<{ method: string; url: string; auth: AuthLevel }>;
  }
}

const RANK: Record<Principal['role'], number> = { reader: 1, agent: 2, admin: 3 };

export function permits(role: Principal['role'], level: AuthLevel): boolean {
  return level === 'public' || RANK[role] >= RANK[level];
}

export interface RouteAuthOptions {
  /**
   * Who the caller is, from its credentials; null when it presented none. Throws an HttpError (401)
   * for credentials that do not verify, (403) for credentials not allowed on this route.
   */
  authenticate?(req: FastifyRequest): Promise<Principal | null>;
  /** Failed authentications per client address before 429 (in `windowMs`). */
  failures?: { max: number; windowMs: number };
  /** Writes (methods other than GET/HEAD) per principal before 429 (in `windowMs`). */
  writes?: { max: number; windowMs: number };
}

type Limiter = (
  req: FastifyRequest,
  o?: { increment?: boolean },
) => Promise<{ isAllowed: boolean; isExceeded?: boolean; remaining?: number; ttlInSeconds?: number }>;

/**
 * Route authorization, declared in route options (`config: { auth }`), deny by default: a route
 * registered without a declaration makes the app fail to build. Checked in onRequest on the route the
 * router matched (request.routeOptions), never on the raw URL. Failed authentications are counted per
 * client address and writes per principal (@fastify/rate-limit stores): over the limit, 429 with
 * Retry-After.
 */
export function installRouteAuth(app: FastifyInstance, opts: RouteAuthOptions): void {
  const table: FastifyInstance['routeTable'] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route: RouteOptions) => {
    const auth = (route.config as { auth?: unknown } | undefined)?.auth;
    if (!AUTH_LEVELS.includes(auth as AuthLevel)) {
      throw new Error(
        `route ${String(route.method)} ${route.url} declares no authorization (config.auth: ${AUTH_LEVELS.join(' | ')})`,
      );
    }
    for (const m of [route.method].flat()) table.push({ method: String(m), url: route.url, auth: auth as AuthLevel });
  });
  const failures = opts.failures ?? { max: 30, windowMs: 60_000 };
  const writes = opts.writes ?? { max: 100_000, windowMs: 60_000 };
  let failLimiter: Limiter | undefined;
  let writeLimiter: Limiter | undefined;
  const limiters = (): { fail: Limiter; write: Limiter } => {
    const rateLimited = app as unknown as { createRateLimit(o: object): Limiter };
    const create = (o: object) => rateLimited.createRateLimit(o);
    failLimiter ??= create({
      max: failures.max,
      timeWindow: failures.windowMs,
      keyGenerator: (r: FastifyRequest) => `fail:${r.ip}`,
    });
    writeLimiter ??= create({
      max: writes.max,
      timeWindow: writes.windowMs,
      keyGenerator: (r: FastifyRequest) => `write:${r.principal?.id ?? r.ip}`,
    });
    return { fail: failLimiter, write: writeLimiter };
  };
  const tooMany = (what: string, s: { ttlInSeconds?: number }): HttpError => {
    const after = String(Math.max(1, s.ttlInSeconds ?? 1));
    return new HttpError(429, 'ERR_RATE_LIMITED', `${what}; retry after ${after} s`, undefined, {
      'retry-after': after,
    });
  };

  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    const level = req.routeOptions.config?.auth;
    // No matched route (the not-found handler answers) or an open one: nothing to authorize.
    if (level === undefined || level === 'public') return;
    const { fail, write } = limiters();
    const before = await fail(req, { increment: false });
    if (!before.isAllowed && (before.remaining ?? 1) <= 0)
      throw tooMany(`too many failed authentications from ${req.ip}`, before);
    let p: Principal | null;
    try {
      p = opts.authenticate ? await opts.authenticate(req) : null;
      if (!p) throw new HttpError(401, 'ERR_UNAUTHENTICATED', 'a bearer token is required (Authorization: Bearer …)');
    } catch (e) {
      if (e instanceof HttpError && e.status === 401) await fail(req);
      throw e;
    }
    if (!permits(p.role, level))
      throw new HttpError(403, 'ERR_FORBIDDEN', `this call needs the ${level} role; the caller is ${p.role}`);
    req.principal = p;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const s = await write(req);
      if (!s.isAllowed && s.isExceeded) throw tooMany(`too many writes by ${p.id}`, s);
    }
  });
}
