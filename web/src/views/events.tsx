// The live timeline of /v1/events, newest first; an admin acknowledges an event (with an optional note)
// after confirming, and every dashboard shows who acknowledged it when (the `event.acknowledged` event).
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, short } from '../api.ts';
import type { LiveEvent } from '../events.ts';

export interface EventAck {
  event: number;
  type?: string;
  by: string;
  note: string | null;
  at: string;
}

/** The acknowledgements among the events, by the acknowledged event's id. */
function acksOf(events: LiveEvent[]): Map<number, EventAck> {
  const out = new Map<number, EventAck>();
  for (const e of events) {
    if (e.type !== 'event.acknowledged' || typeof e.data.event !== 'number') continue;
    out.set(e.data.event, {
      event: e.data.event,
      by: typeof e.data.by === 'string' ? e.data.by : '',
      note: typeof e.data.note === 'string' ? e.data.note : null,
      at: typeof e.data.acknowledgedAt === 'string' ? e.data.acknowledgedAt : (e.data.at ?? ''),
    });
  }
  return out;
}

function Acknowledge({ id, onDone }: { id: number; onDone: (a: EventAck) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [note, setNote] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const act = async () => {
    try {
      const r = await api<EventAck>(`/v1/events/${id}/ack`, { method: 'POST', body: note ? { note } : {} });
      setProblem(undefined);
      onDone(r);
    } catch (e) {
      setProblem(JSON.stringify(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) }, null, 1));
    }
    setConfirming(false);
  };
  return (
    <span class="actions">
      {confirming ? (
        <span role="group" aria-label={`Confirm acknowledging event ${id}`}>
          <label>
            Note <input value={note} maxLength={1000} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <button type="button" class="danger" onClick={() => void act()}>
            Confirm acknowledgement
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Acknowledge… <span class="sr-only">event {id}</span>
        </button>
      )}
      {problem ? (
        <pre role="alert" class="problem">
          {problem}
        </pre>
      ) : null}
    </span>
  );
}

export function Events({ events, admin }: { events: LiveEvent[]; admin: boolean }) {
  // Answers of this dashboard's own acknowledgements show at once; the stream brings everyone's made
  // while it listens, and /v1/events/acks those made before it opened.
  const [mine, setMine] = useState<Map<number, EventAck>>(new Map());
  const [earlier, setEarlier] = useState<EventAck[]>([]);
  const [listProblem, setListProblem] = useState<string | undefined>();
  useEffect(() => {
    api<{ acks: EventAck[] }>('/v1/events/acks?limit=1000')
      .then((r) => setEarlier(r.acks))
      .catch((e: unknown) => setListProblem(e instanceof Error ? e.message : String(e)));
  }, []);
  const acks = acksOf(events);
  for (const [k, v] of mine) if (!acks.has(k)) acks.set(k, v);
  for (const a of earlier) if (!acks.has(a.event)) acks.set(a.event, a);
  const shown = new Set(events.map((e) => e.id));
  const before = earlier.filter((a) => !shown.has(a.event));
  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <p>Live from the manager's event stream (newest first; {events.length} since this page opened).</p>
      {listProblem ? <p role="alert">Earlier acknowledgements could not be read: {listProblem}</p> : null}
      <ol class="timeline" aria-live="polite">
        {[...events].reverse().map((e) => {
          const ack = acks.get(e.id);
          return (
            <li key={e.id} data-event-type={e.type} data-event-id={e.id}>
              <time>{e.data.at ?? ''}</time> <strong>{e.type}</strong>
              {e.data.chain ? (
                <>
                  {' '}
                  chain <span class="mono">{short(e.data.chain, 10)}</span>
                </>
              ) : null}
              {e.data.element ? (
                <>
                  {' '}
                  element <span class="mono">{short(e.data.element, 10)}</span>
                </>
              ) : null}
              {typeof e.data.ms === 'number' ? ` (${e.data.ms} ms)` : ''}
              {typeof e.data.state === 'string' ? ` → ${e.data.state}` : ''}
              {typeof e.data.status === 'string' ? ` → ${e.data.status}` : ''}
              {typeof e.data.reason === 'string' ? ` — ${e.data.reason}` : ''}
              {e.type === 'event.acknowledged' ? ` of event ${String(e.data.event)} (${String(e.data.eventType)})` : ''}
              {ack ? (
                <span class="acked">
                  {' '}
                  Acknowledged by <span class="mono">{ack.by}</span> at <time>{ack.at}</time>
                  {ack.note ? ` — ${ack.note}` : ''}
                </span>
              ) : admin && e.type !== 'event.acknowledged' && Number.isFinite(e.id) ? (
                <>
                  {' '}
                  <Acknowledge id={e.id} onDone={(a) => setMine((m) => new Map(m).set(a.event, a))} />
                </>
              ) : null}
            </li>
          );
        })}
      </ol>
      {before.length ? (
        <>
          <h3>Acknowledged before this page opened</h3>
          <ul class="timeline">
            {before.map((a) => (
              <li key={a.event} data-acked-event-id={a.event}>
                event {a.event} <strong>{a.type}</strong>{' '}
                <span class="acked">
                  acknowledged by <span class="mono">{a.by}</span> at <time>{a.at}</time>
                  {a.note ? ` — ${a.note}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
