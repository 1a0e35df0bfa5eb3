import { StoreError } from './errors.ts';
import { toJsonText } from './canonical.ts';
import type { SqlRow } from './driver.ts';
import type { EventAckRow, NewEventAck } from './types.ts';

/** Argument checks and row mapping of the event_acks table (sql-store.ts runs the SQL). */

const MAX_NOTE = 1000;

function fail(message: string): never {
  throw new StoreError('ERR_STORE_INVALID', message);
}

export function checkEventId(v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) fail('event id must be a positive integer');
  return v as number;
}

export function checkNewEventAck(a: NewEventAck): {
  eventId: number;
  type: string;
  event: string;
  note: string | null;
} {
  if (a === null || typeof a !== 'object') fail('event acknowledgement must be an object');
  if (typeof a.type !== 'string' || a.type.length === 0) fail('event type must be a non-empty string');
  if (a.note !== null && (typeof a.note !== 'string' || a.note.length > MAX_NOTE))
    fail(`note must be null or a string of at most ${MAX_NOTE} characters`);
  return { eventId: checkEventId(a.eventId), type: a.type, event: toJsonText(a.event, 'event'), note: a.note };
}

export function eventAckRow(r: SqlRow): EventAckRow {
  let event: unknown;
  try {
    event = JSON.parse(String(r.event));
  } catch {
    throw new StoreError('ERR_STORE_BACKEND', 'corrupt JSON in event_acks.event');
  }
  return {
    eventId: Number(r.event_id),
    type: String(r.type),
    event,
    actor: String(r.actor),
    note: typeof r.note === 'string' ? r.note : null,
    at: new Date(String(r.at)),
  };
}
