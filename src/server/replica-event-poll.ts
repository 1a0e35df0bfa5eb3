import type { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { AuditRecord, Store } from '../store/types.ts';
import type { ChainEvent } from './chain-service.ts';
import { REPLICA_EVENT } from './replica-events.ts';

/** Keys of events already streamed, kept for this many events (far more than a poll's window). */
const REMEMBER = 100_000;
/** Audit records read per query. */
const PAGE = 1000;

/** The key naming one event, for the event types the audit log can give back; undefined for others. */
export function eventKey(ev: { type: string; chain?: unknown; element?: unknown }): string | undefined {
  if (ev.type === 'element.appended') return `${ev.type}|${String(ev.chain)}|${String(ev.element)}`;
  if (ev.type === 'chain.created' || ev.type === 'chain.deleted') return `${ev.type}|${String(ev.chain)}`;
  return undefined;
}

/** The event an audit record stands for (element appended, chain created or deleted), or undefined. */
export function eventOfAudit(r: AuditRecord): ChainEvent | undefined {
  const d = (r.detail ?? {}) as Record<string, unknown>;
  if (typeof d.chain !== 'string') return undefined;
  const from = { recoveredFrom: 'audit', auditSeq: r.seq, at: r.at };
  if (r.action === 'element.append' && typeof d.element === 'string')
    return {
      type: 'element.appended',
      chain: d.chain,
      element: d.element,
      parent: d.parent ?? null,
      ...(typeof d.seq === 'number' ? { seq: d.seq } : {}),
      ...from,
    };
  if (r.action === 'chain.create') return { type: 'chain.created', chain: d.chain, ...from };
  if (r.action === 'chain.delete') return { type: 'chain.deleted', chain: d.chain, ...from };
  return undefined;
}

/**
 * The fallback of LISTEN/NOTIFY between replicas (replica-events.ts): a replica that dies between a
 * COMMIT and its NOTIFY takes the event with it. Every `intervalMs` this reads the audit log (one
 * sequence for all replicas) after the last record it looked at, and for each element append,
 * chain creation or deletion whose event no stream here has carried — neither this replica's own
 * nor one received by NOTIFY — emits it as a REPLICA_EVENT, marked `recoveredFrom: "audit"`. A record
 * is looked at only two polls after it was committed (the head read two polls back), so an event on
 * its way by NOTIFY is not sent twice. Other event types (status changes, revocations…) still
 * rely on NOTIFY. Returns the function that stops polling.
 */
export async function pollReplicaEvents(
  store: Pick<Store, 'listAudit' | 'getAuditHead'>,
  events: EventEmitter,
  log: FastifyBaseLogger,
  intervalMs = 1000,
): Promise<() => Promise<void>> {
  const seen = new Set<string>();
  const remember = (ev: ChainEvent) => {
    const k = eventKey(ev);
    if (k === undefined) return;
    seen.add(k);
    if (seen.size > REMEMBER) seen.delete(seen.values().next().value as string);
  };
  events.on('event', remember);
  events.on(REPLICA_EVENT, remember);
  let mark = (await store.getAuditHead()).seq;
  const heads = [mark, mark];
  let running: Promise<void> | undefined;
  const poll = async (): Promise<void> => {
    const head = (await store.getAuditHead()).seq;
    const upTo = heads.shift()!;
    heads.push(head);
    while (mark < upTo) {
      const page = await store.listAudit({ afterSeq: mark, limit: PAGE });
      if (page.length === 0) break;
      for (const r of page) {
        if (r.seq > upTo) break;
        mark = r.seq;
        const ev = eventOfAudit(r);
        const k = ev && eventKey(ev);
        if (ev && k && !seen.has(k)) events.emit(REPLICA_EVENT, ev);
      }
      if (page[page.length - 1].seq > upTo) break;
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = poll()
      .catch((err: unknown) => log.warn({ err }, 'replica events: audit log poll failed'))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
    events.off('event', remember);
    events.off(REPLICA_EVENT, remember);
  };
}
