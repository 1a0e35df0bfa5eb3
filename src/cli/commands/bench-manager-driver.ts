import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

/** One append's outcome as the driver saw it. */
export interface PostResult {
  ok: boolean;
  status: number;
  /** The response body, kept only for failures (to report them). */
  detail?: string;
}

/**
 * A keep-alive HTTP/1.1 client for the timed phase of `catena bench manager`: bodies are sent as
 * pre-serialised bytes, success bodies are drained without parsing. The driver shares the machine's
 * cores with the manager, so its own per-request cost (fetch/undici and JSON.stringify of ~10 KB
 * bodies cost more than the manager's HTTP layer) must not be what the benchmark measures.
 */
export class BenchClient {
  private readonly agent: Agent;
  private readonly url: URL;
  constructor(
    url: string,
    private readonly token: string,
    sockets: number,
  ) {
    this.url = new URL(url);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  post(path: string, body: Buffer): Promise<PostResult> {
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${this.token}` },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          if (ok) {
            res.resume();
            res.once('end', () => resolve({ ok, status }));
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () => resolve({ ok, status, detail: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('timed out after 30 s')));
      req.once('error', (e) => resolve({ ok: false, status: 0, detail: e.message }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
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
