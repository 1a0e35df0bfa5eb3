import type { FastifyInstance } from 'fastify';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

/** Health, readiness, metrics, the OpenAPI document, the manager's public key. */
export async function healthRoutes(
  app: FastifyInstance,
  { ctx, metricsPublic }: { ctx: ManagerContext; metricsPublic: boolean },
): Promise<void> {
  app.get(
    '/healthz',
    { config: { auth: 'public' }, schema: { tags: ['health'], security: [], response: { 200: R.Health } } },
    async () => ({ ok: true }),
  );
  // Ready or not, nothing more: no store error text, no counters to unauthenticated callers.
  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: { tags: ['health'], security: [], response: { 200: R.Ready, 503: R.Ready } },
    },
    async (req, reply) => {
      try {
        await ctx.store.getAuditHead();
        return { ready: true };
      } catch (err) {
        req.log.warn({ err }, 'not ready: the store does not answer');
        return reply.code(503).send({ ready: false });
      }
    },
  );
  app.get(
    '/metrics',
    {
      config: { auth: metricsPublic ? 'public' : 'reader' },
      schema: { tags: ['health'], response: { 200: R.Metrics } },
    },
    async (_req, reply) => reply.type(ctx.registry.contentType).send(await metricsText(ctx)),
  );
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html')
      .send(
        '<!doctype html><meta charset=utf-8><title>Catena manager API</title><h1>Catena manager API</h1><p>OpenAPI document: <a href="/openapi.json">/openapi.json</a>. Reference: docs/api.md.</p>',
      ),
  );
  app.get(
    '/.well-known/jwks.json',
    { config: { auth: 'public' }, schema: { tags: ['health'], security: [], response: { 200: R.Jwks } } },
    async () => ({ keys: [ctx.jwk] }),
  );
}

/** The Prometheus text, agent and job gauges refreshed from the store. */
export async function metricsText(ctx: ManagerContext): Promise<string> {
  const agents = await ctx.store.listAgents();
  ctx.metrics.agents.reset();
  for (const a of agents) ctx.metrics.agents.inc({ status: a.status });
  for (const [state, n] of Object.entries(await ctx.store.countJobs())) ctx.metrics.jobs.set({ state }, n);
  return ctx.registry.metrics();
}
