import type { FastifyInstance } from 'fastify';
import { createHttpApp, type LogLevel } from '../http/index.ts';

/**
 * `/metrics` on an address of its own (`catena manager --metrics-listen`): open to whoever reaches
 * that address (a scraper on a private network), so the API's /metrics can keep needing a token.
 */
export function buildMetricsServer(manager: FastifyInstance, o: { logLevel?: LogLevel } = {}): FastifyInstance {
  const app = createHttpApp({ service: 'manager-metrics', ...(o.logLevel ? { logLevel: o.logLevel } : {}) });
  app.get('/metrics', { config: { auth: 'public' } }, async (_req, reply) =>
    reply.type(manager.metricsRegistry.contentType).send(await manager.metricsText()),
  );
  return app;
}
