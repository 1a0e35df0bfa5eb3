import type { FastifyInstance } from 'fastify';
import type { EventAckRow } from '../../store/types.ts';
import type { ChainEvent } from '../chain-service.ts';
import { ServerError } from '../errors.ts';
import * as S from '../schemas.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

const ackView = (a: EventAckRow) => ({
  event: a.eventId,
  type: a.type,
  by: a.actor,
  note: a.note,
  at: a.at.toISOString(),
});

/**
 * POST /v1/events/:id/ack (admin): an operator acknowledges one event of /v1/events (its SSE id), with
 * an optional note. Kept in the store with the event as it was sent, and audited (event.ack).
 * Idempotent: acknowledging it again answers the first acknowledgement and writes nothing. An id
 * neither acknowledged nor among the events the manager still keeps (EVENT_REPLAY) is unknown: 404.
 * A new acknowledgement is itself an event (`event.acknowledged`), so every dashboard shows it.
 */
export function eventAckRoute(
  app: FastifyInstance,
  ctx: ManagerContext,
  kept: (id: number) => ChainEvent | undefined,
): void {
  app.post(
    '/v1/events/:id/ack',
    {
      config: { auth: 'admin' },
      // The body is optional (only a note): no body is an empty one.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: { tags: ['events'], params: S.EventIdParams, body: S.AckEventSchema, response: { 200: R.EventAck } },
    },
    async (req) => {
      const id = Number((req.params as { id: string }).id);
      const note = (req.body as { note?: string }).note ?? null;
      const done = await ctx.store.getEventAck(id);
      if (done) return { ...ackView(done), created: false };
      const event = kept(id);
      if (!event) throw new ServerError('ERR_NOT_FOUND', `no event ${id} among the events the manager keeps`);
      const { ack, created } = await ctx.store.ackEvent(
        { eventId: id, type: event.type, event, note },
        { actor: req.principal!.id, at: ctx.clock() },
      );
      if (created)
        ctx.chains.emit({
          type: 'event.acknowledged',
          event: ack.eventId,
          eventType: ack.type,
          ...(event.chain ? { chain: event.chain } : {}),
          ...(event.element ? { element: event.element } : {}),
          by: ack.actor,
          note: ack.note,
          acknowledgedAt: ack.at.toISOString(),
        });
      return { ...ackView(ack), created };
    },
  );
  // The acknowledgements kept, newest first: a dashboard opened after them shows them too (the stream
  // carries only those made while it listens).
  app.get(
    '/v1/events/acks',
    {
      config: { auth: 'reader' },
      schema: { tags: ['events'], querystring: S.EventAcksQuery, response: { 200: R.EventAckPage } },
    },
    async (req) => {
      const q = req.query as { before?: string; limit?: string };
      const limit = q.limit ? Number(q.limit) : 100;
      const rows = await ctx.store.listEventAcks({ beforeId: q.before ? Number(q.before) : undefined, limit });
      return { acks: rows.map(ackView), next: rows.length === limit ? rows[rows.length - 1].eventId : null };
    },
  );
}
