import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ChainEvent } from '../chain-service.ts';
import type { ManagerContext } from './context.ts';
import * as R from './responses.ts';

/** Server-sent events: every chain, element and agent change. The open streams end when the app closes. */
export async function eventRoutes(app: FastifyInstance, { ctx }: { ctx: ManagerContext }): Promise<void> {
  const streams = new Set<ServerResponse>();
  let eventId = 0;
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
      const send = (ev: ChainEvent) =>
        raw.write(`id: ${++eventId}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
      ctx.chains.events.on('event', send);
      const beat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      beat.unref();
      streams.add(raw);
      ctx.metrics.sseClients.set(streams.size);
      const done = () => {
        clearInterval(beat);
        ctx.chains.events.off('event', send);
        streams.delete(raw);
        ctx.metrics.sseClients.set(streams.size);
      };
      req.raw.on('close', done);
      raw.on('close', done);
    },
  );
  app.addHook('onClose', async () => {
    for (const s of streams) s.end();
  });
}
