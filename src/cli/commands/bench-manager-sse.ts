import { request, type ClientRequest } from 'node:http';

/**
 * An SSE client of one manager (GET /v1/events) that records the element ids of the
 * `element.appended` events of one chain: the replica benchmark and test check that every replica's
 * stream carries every acknowledged append, whichever replica took it (LISTEN/NOTIFY).
 */
export class AppendedEvents {
  readonly seen = new Set<string>();
  #req: ClientRequest | undefined;

  private constructor(private readonly chainId: string) {}

  static open(url: string, token: string, chainId: string): Promise<AppendedEvents> {
    const w = new AppendedEvents(chainId);
    return new Promise((resolve, reject) => {
      const req = request(`${url}/v1/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /v1/events: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            w.frame(buf.slice(0, end));
            buf = buf.slice(end + 2);
          }
        });
        res.on('error', () => {});
        resolve(w);
      });
      req.on('error', reject);
      req.end();
      w.#req = req;
    });
  }

  private frame(frame: string): void {
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (!data) return;
    try {
      const ev = JSON.parse(data) as { type?: string; chain?: string; element?: string };
      if (ev.type === 'element.appended' && ev.chain === this.chainId && typeof ev.element === 'string')
        this.seen.add(ev.element);
    } catch {
      /* not an event of ours */
    }
  }

  /** Waits (at most timeoutMs) until every id was seen; returns how many were not. */
  async missing(ids: Iterable<string>, timeoutMs: number): Promise<number> {
    const want = [...ids];
    const end = Date.now() + timeoutMs;
    for (;;) {
      const n = want.filter((id) => !this.seen.has(id)).length;
      if (n === 0 || Date.now() > end) return n;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.#req?.destroy();
  }
}
