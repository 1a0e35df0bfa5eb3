import { createHash, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PostgresDriver } from '../store/postgres-driver.ts';
import type { ChainEvent, ChainService } from './chain-service.ts';

/** NOTIFY's payload limit is 8000 bytes; events are far smaller (ids, a status, a reason). */
const MAX_PAYLOAD = 7900;

/** The event emitter's name for events that happened at another replica (SSE only, see below). */
export const REPLICA_EVENT = 'replica-event';

/**
 * Replicas on one PostgreSQL: every event this manager emits is published with NOTIFY on a channel
 * named after the schema, and every event another replica published arrives here as a
 * REPLICA_EVENT, which the SSE route streams like its own. Only SSE: webhooks and self-management
 * react at the replica where the change happened (else each delivery would be made once per
 * replica). An append's event is published by the database in the append's own transaction
 * (ChainService.announce); other events after the write is acknowledged, batched per turn of the
 * event loop into one statement. An event whose replica dies between its COMMIT and the NOTIFY is recovered by the
 * other replicas from the audit log (replica-event-poll.ts; appends, chain creation and deletion).
 */
export async function replicateEvents(
  driver: PostgresDriver,
  chains: Pick<ChainService, 'events' | 'announce'>,
  log: FastifyBaseLogger,
): Promise<() => Promise<void>> {
  const events = chains.events;
  const origin = randomUUID();
  const channel = `catena_ev_${createHash('sha256').update(driver.schema).digest('hex').slice(0, 24)}`;
  const stopListening = await driver.listen(channel, (payload) => {
    let msg: { o?: unknown; e?: unknown };
    try {
      msg = JSON.parse(payload) as { o?: unknown; e?: unknown };
    } catch {
      return;
    }
    if (msg.o !== origin && msg.e !== null && typeof msg.e === 'object') events.emit(REPLICA_EVENT, msg.e);
  });
  let queue: string[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    const batch = queue;
    queue = [];
    try {
      await driver.prepared(
        'catena_notify',
        'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n',
        [channel, batch],
      );
    } catch (err) {
      log.warn({ err, events: batch.length }, 'events not published to the other replicas');
    }
  };
  // An append's event goes out with the append itself (catena_append_batch, migration 7): its payload
  // cut where the database writes the element's seq.
  chains.announce = (ev) => {
    const payload = JSON.stringify({ o: origin, e: ev });
    const at = payload.lastIndexOf('"seq":-1,');
    return at < 0 || payload.length > MAX_PAYLOAD - 20
      ? undefined
      : { channel, before: payload.slice(0, at + 6), after: payload.slice(at + 8) };
  };
  const onEvent = (ev: ChainEvent, published?: boolean): void => {
    if (published === true) return;
    const payload = JSON.stringify({ o: origin, e: ev });
    if (payload.length > MAX_PAYLOAD) {
      log.warn({ event: ev.type }, 'event too large for NOTIFY: not published to the other replicas');
      return;
    }
    queue.push(payload);
    if (queue.length === 1)
      setImmediate(() => {
        flushing = (flushing ?? Promise.resolve()).then(flush);
      });
  };
  events.on('event', onEvent);
  return async () => {
    chains.announce = undefined;
    events.off('event', onEvent);
    await flushing;
    await stopListening();
  };
}
