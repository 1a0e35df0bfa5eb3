import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ChainEvent } from '../chain-service.ts';
import type { ManagerContext } from './context.ts';
import { REPLICA_EVENT } from '../replica-events.ts';
import { eventAckRoute } from './event-ack.ts';
import * as R from './responses.ts';

/** Events kept for catch-up: a client reconnecting with `Last-Event-ID` gets the ones it missed from these. */
export const EVENT_REPLAY = 1000;

/**
 * Server-sent events: every chain, element and agent change. The open streams end when the app closes.
 * Each event has one id for every stream; the last EVENT_REPLAY are kept, and a client reconnecting
 * with `Last-Event-ID: n` first gets those after n (all kept ones when n is older than the buffer).
 * Ids continue above the highest acknowledged one (the store keeps acknowledgements by event id), so
 * an id acknowledged before a restart never names a new event.
 */
export async function eventRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const streams = new Set<ServerResponse>();
  let eventId = await ctx.store.lastAckedEventId();
  const recent: { id: number; event: ChainEvent; frame: string }[] = [];
  const listeners = new Set<(frame: string) => void>();
  const onEvent = (ev: ChainEvent) => {
    const id = ++eventId;
    const frame = `id: ${id}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
    recent.push({ id, event: ev, frame });
    if (recent.length > EVENT_REPLAY) recent.shift();
    for (const l of listeners) l(frame);
  };
  ctx.chains.events.on('event', onEvent);
  // Other replicas' events (PostgreSQL LISTEN/NOTIFY, replica-events.ts): streamed like this one's.
  ctx.chains.events.on(REPLICA_EVENT, onEvent);
  app.get(
    '/v1/events',
    {
      config: { auth: 'reader' },
      schema: {
        tags: ['events'],
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: R.EventStream } } },
        },
      },
    },
    (req, reply) => {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': catena events\n\n');
      const last = Number(req.headers['last-event-id']);
      if (Number.isInteger(last) && last >= 0) for (const r of recent) if (r.id > last) raw.write(r.frame);
      const send = (frame: string) => raw.write(frame);
      listeners.add(send);
      const beat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      beat.unref();
      streams.add(raw);
      ctx.metrics.sseClients.set(streams.size);
      const done = () => {
        clearInterval(beat);
        listeners.delete(send);
        streams.delete(raw);
        ctx.metrics.sseClients.set(streams.size);
      };
      req.raw.on('close', done);
      raw.on('close', done);
    },
  );
  eventAckRoute(app, ctx, (id) => recent.find((r) => r.id === id)?.event);
  app.addHook('onClose', async () => {
    ctx.chains.events.off('event', onEvent);
    ctx.chains.events.off(REPLICA_EVENT, onEvent);
    for (const s of streams) s.end();
  });
}
