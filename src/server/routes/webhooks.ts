import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { JobRow, WebhookRow } from '../../store/types.ts';
import { ServerError } from '../errors.ts';
import * as S from '../schemas.ts';
import { checkWebhookUrl } from '../webhooks/check-url.ts';
import { WEBHOOK_DELIVER, type DeliveryPayload } from '../webhooks/deliver.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

const webhookView = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  chain: w.chainId,
  events: w.events,
  createdAt: w.createdAt.toISOString(),
});

const deadLetterView = (j: JobRow) => {
  const p = j.payload as DeliveryPayload;
  return {
    id: j.id,
    webhook: p.webhook,
    event: p.event,
    attempts: j.attempts,
    lastError: j.lastError,
    at: j.updatedAt.toISOString(),
  };
};

/**
 * Webhooks (admin): subscribe a URL to the manager's events (optionally one chain's, some types);
 * deliveries are durable jobs (src/server/webhooks), the undeliverable ones are listed as dead letters
 * and can be re-queued. docs/api.md, "Webhooks".
 */
export async function webhookRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const { store, clock } = ctx;
  app.post(
    '/v1/webhooks',
    {
      config: { auth: 'admin' },
      schema: { tags: ['webhooks'], body: S.CreateWebhookSchema, response: { 201: R.WebhookView } },
    },
    async (req, reply) => {
      const b = req.body as { url: string; chain?: string; events?: string[] };
      const url = checkWebhookUrl(b.url);
      if (b.chain !== undefined) {
        const chain = await store.getChain(b.chain);
        if (!chain || chain.deleted) throw new ServerError('ERR_NOT_FOUND', `no chain ${b.chain}`);
      }
      const now = clock();
      const w = await store.createWebhook(
        {
          id: `wh-${randomUUID()}`,
          url,
          chainId: b.chain ?? null,
          events: b.events ? [...new Set(b.events)] : null,
          createdAt: now,
        },
        { actor: req.principal!.id, at: now },
      );
      return reply.code(201).send(webhookView(w));
    },
  );
  app.get(
    '/v1/webhooks',
    { config: { auth: 'admin' }, schema: { tags: ['webhooks'], response: { 200: R.WebhookList } } },
    async () => ({ webhooks: (await store.listWebhooks()).map(webhookView) }),
  );
  app.get(
    '/v1/webhooks/dead-letters',
    {
      config: { auth: 'admin' },
      schema: { tags: ['webhooks'], querystring: S.PageQuery, response: { 200: R.DeadLetterList } },
    },
    async (req) => {
      const q = req.query as { after?: string; limit?: string };
      const limit = q.limit ? Number(q.limit) : 100;
      const rows = await store.listJobs({
        state: 'dead',
        kind: WEBHOOK_DELIVER,
        limit,
        ...(q.after ? { after: q.after } : {}),
      });
      return { deadLetters: rows.map(deadLetterView), next: rows.length === limit ? rows[rows.length - 1].id : null };
    },
  );
  app.post(
    '/v1/webhooks/dead-letters/:id/retry',
    {
      config: { auth: 'admin' },
      schema: { tags: ['webhooks'], params: S.IdParams, response: { 202: R.DeliveryRequeued } },
    },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      const job = await store.getJob(id);
      if (!job || job.kind !== WEBHOOK_DELIVER) throw new ServerError('ERR_NOT_FOUND', `no webhook delivery ${id}`);
      if (job.state !== 'dead')
        throw new ServerError('ERR_CONFLICT', `webhook delivery ${id} is ${job.state}, not a dead letter`);
      const now = clock();
      // A fresh set of attempts, due now; audited as a new enqueue of the same job.
      const row = await store.updateJob(
        id,
        { state: 'pending', attempts: 0, nextAt: now, lastError: null },
        { actor: req.principal!.id, at: now },
        { action: 'job.enqueue', detail: { requeued: true, key: job.key } },
      );
      ctx.runner.wake();
      return reply.code(202).send({
        id: row.id,
        webhook: (row.payload as DeliveryPayload).webhook,
        state: row.state,
        nextAt: row.nextAt.toISOString(),
      });
    },
  );
  app.delete(
    '/v1/webhooks/:id',
    { config: { auth: 'admin' }, schema: { tags: ['webhooks'], params: S.IdParams, response: { 204: R.NoContent } } },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await store.getWebhook(id))) throw new ServerError('ERR_NOT_FOUND', `no webhook ${id}`);
      await store.deleteWebhook(id, { actor: req.principal!.id, at: clock() });
      return reply.code(204).send();
    },
  );
}
