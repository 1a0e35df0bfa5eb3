// Server-sent events from /v1/events read with fetch() (EventSource cannot send the Authorization
// header, and the token never goes in a URL). Lost connection: reconnects with backoff and
// `Last-Event-ID`, so the manager replays what was missed.
import { getToken } from './token.ts';

export interface LiveEvent {
  id: number;
  type: string;
  data: { chain?: string; element?: string; at?: string; [k: string]: unknown };
}

export interface EventStreamHandlers {
  onEvent(e: LiveEvent): void;
  onState(connected: boolean): void;
}

/** Parses the frames in `buf` and returns what is left (an incomplete frame). */
export function parseFrames(buf: string, emit: (e: LiveEvent) => void): string {
  let i: number;
  while ((i = buf.indexOf('\n\n')) !== -1) {
    const frame = buf.slice(0, i);
    buf = buf.slice(i + 2);
    let id = NaN;
    let type = 'message';
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c === -1 ? line : line.slice(0, c);
      const value = c === -1 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (field === 'id') id = Number(value);
      else if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) continue;
    try {
      emit({ id, type, data: JSON.parse(data.join('\n')) as LiveEvent['data'] });
    } catch {
      // a frame that is not JSON: not one of the manager's
    }
  }
  return buf;
}

/** Opens the stream and keeps it open until `stop()`. */
export function openEvents(h: EventStreamHandlers): { stop(): void } {
  let lastId: number | undefined;
  let stopped = false;
  let ac: AbortController | undefined;
  let delay = 500;
  const run = async () => {
    while (!stopped) {
      ac = new AbortController();
      try {
        const res = await fetch('/v1/events', {
          headers: {
            authorization: `Bearer ${getToken() ?? ''}`,
            accept: 'text/event-stream',
            ...(lastId !== undefined ? { 'last-event-id': String(lastId) } : {}),
          },
          cache: 'no-store',
          signal: ac.signal,
        });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        h.onState(true);
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf = parseFrames((buf + value).replace(/\r\n?/g, '\n'), (e) => {
            if (Number.isFinite(e.id)) lastId = e.id;
            h.onEvent(e);
          });
        }
      } catch {
        // dropped or refused: reconnect below
      }
      if (stopped) return;
      h.onState(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 8000);
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      ac?.abort();
    },
  };
}
