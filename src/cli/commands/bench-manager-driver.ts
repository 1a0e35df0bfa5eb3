import { createConnection, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

/** One append's outcome as the driver saw it. */
export interface PostResult {
  ok: boolean;
  status: number;
  /** The response body, kept only for failures (to report them). */
  detail?: string;
  /** The connection closed before any byte of a response arrived. */
  idleClose?: boolean;
}

/**
 * The driver's HTTP/1.1 client for the timed phase of `catena bench manager`, in the manner of wrk
 * or autocannon: one keep-alive connection per request in flight, each request's bytes (head and
 * body) built before the timed phase, responses read to their last byte (status line and
 * Content-Length parsed, body kept only for failures). The driver shares the machine's cores with
 * the manager, so its own per-request cost — fetch/undici or node:http cost more per request than
 * the manager's HTTP layer — must not be what the benchmark measures. The manager's side is the
 * ordinary node:http server under fastify.
 */
export class BenchClient {
  private readonly url: URL;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  constructor(
    url: string,
    private readonly token: string,
  ) {
    this.url = new URL(url);
  }

  /** The bytes of one POST request with a JSON body. */
  request(path: string, body: Buffer): Buffer {
    const head =
      `POST ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nContent-Type: application/json\r\n` +
      `Authorization: Bearer ${this.token}\r\nContent-Length: ${body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body]);
  }

  async send(request: Buffer): Promise<PostResult> {
    const reused = this.idle.pop();
    const c = reused ?? (await this.connect());
    const r = await c.exchange(request);
    if (c.open) this.idle.push(c);
    else this.all.delete(c);
    // A kept-alive connection the server closed as idle just as the request went out (no byte of an
    // answer came back): sent again once, on a new connection — what HTTP clients do for this race.
    // A request that reached a live server is never answered by a bare close, so nothing runs twice.
    if (reused && r.status === 0 && r.idleClose) return this.send(request);
    return r;
  }

  private connect(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.url.hostname, port: Number(this.url.port), noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        const c = new Connection(socket);
        this.all.add(c);
        resolve(c);
      });
      socket.once('error', reject);
    });
  }

  close(): void {
    for (const c of this.all) c.destroy();
    this.all.clear();
    this.idle.length = 0;
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  open = true;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((r: PostResult) => void) | undefined;
  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    const gone = (why: string) => {
      this.open = false;
      this.finish({ ok: false, status: 0, detail: why, idleClose: this.buf.length === 0 });
    };
    socket.on('error', (e) => gone(e.message));
    socket.on('close', () => gone('connection closed'));
    socket.setTimeout(30_000, () => socket.destroy(new Error('timed out after 30 s')));
  }

  exchange(request: Buffer): Promise<PostResult> {
    if (!this.open) return Promise.resolve({ ok: false, status: 0, detail: 'connection closed' });
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(request);
    });
  }

  private finish(r: PostResult): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(r);
  }

  private parse(): void {
    const end = this.buf.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      // Not what the manager sends (fastify answers with Content-Length): give up on this connection.
      this.open = false;
      this.socket.destroy();
      this.finish({ ok: false, status, detail: 'response without Content-Length' });
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buf.length < total) return;
    const body = this.buf.subarray(end + 4, total);
    this.buf = this.buf.subarray(total);
    if (/\r\nconnection: *close/i.test(head)) {
      this.open = false;
      this.socket.end();
    }
    const ok = status >= 200 && status < 300;
    this.finish(ok ? { ok, status } : { ok, status, detail: body.toString('utf8').slice(0, 300) });
  }

  destroy(): void {
    this.open = false;
    this.socket.destroy();
  }
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuMs(pid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU time (ms) of a process's main thread (the event loop: its thread id is the process id). */
export function mainThreadCpuMs(pid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuMs(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the name; USER_HZ is 100 on Linux.
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
