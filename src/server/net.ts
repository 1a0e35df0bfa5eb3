import { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';

/** HOST:PORT (port 0: any free port); IPv6 hosts in brackets. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m) throw new RangeError(`expected HOST:PORT, got ${v}`);
  const port = Number(m[2]);
  if (port > 65535) throw new RangeError(`port out of range: ${m[2]}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Listens and returns the base URL (with the port actually bound). */
export async function listenUrl(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const addr = app.server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  const scheme = app.server instanceof TlsServer ? 'https' : 'http';
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${actual}`;
}

/** Resolves on the first SIGINT or SIGTERM (handlers removed afterwards). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
      resolve(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
  });
}
