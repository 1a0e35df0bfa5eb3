import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { applicationName } from '../../store/postgres-driver.ts';

/** The server a PostgreSQL bench uses: --pg-url, else $CATENA_PG_URL, else the local default. */
export const pgBaseUrl = (flag: string | undefined): string =>
  flag ?? process.env.CATENA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Where a local PostgreSQL server listens for Unix-socket connections (Debian/Ubuntu packages). */
export const PG_SOCKET_DIR = '/var/run/postgresql';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The server's identity: the same cluster answers on both transports when these match. */
async function serverIdentity(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    const r = await c.query<{ id: string }>(
      'SELECT system_identifier::text || pg_postmaster_start_time()::text AS id FROM pg_control_system()',
    );
    return r.rows[0]?.id;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * The URL the bench gives its managers, and the transport it names. A loopback TCP URL becomes the
 * same server's Unix socket when its socket file exists and the same cluster answers there (a
 * query over loopback TCP costs both processes the TCP stack: wake-ups and segments; the socket
 * skips it). Anything else — a URL that already names a socket or another host, or `--pg-tcp` — is
 * kept as given. `schema` is added as the store's `?schema=` parameter.
 */
export async function benchPgUrl(
  base: string,
  schema: string,
  opts: { tcp?: boolean } = {},
): Promise<{ url: string; transport: string }> {
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  const given = { url: u.toString(), transport: u.searchParams.get('host') ?? `tcp ${u.host}` };
  const socket = `${PG_SOCKET_DIR}/.s.PGSQL.${u.port || '5432'}`;
  if (opts.tcp || u.searchParams.has('host') || !LOOPBACK.has(u.hostname) || !existsSync(socket)) return given;
  const viaSocket = new URL(u.toString());
  viaSocket.searchParams.set('host', PG_SOCKET_DIR);
  const plain = (x: URL) => {
    const y = new URL(x.toString());
    y.searchParams.delete('schema');
    return y.toString();
  };
  const [tcpId, socketId] = await Promise.all([serverIdentity(plain(u)), serverIdentity(plain(viaSocket))]);
  if (tcpId === undefined || tcpId !== socketId) return given;
  return { url: viaSocket.toString(), transport: `unix ${PG_SOCKET_DIR}` };
}

/**
 * CPU (ms) of the PostgreSQL backends serving one schema's managers (application_name, see
 * postgres-driver.ts), read from /proc: the server must be on this machine and its processes
 * readable, else undefined. Backends that exit between two readings take their CPU with them.
 */
export async function pgBackendsCpuMs(url: string, schema: string): Promise<Map<number, number> | undefined> {
  const u = new URL(url);
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      applicationName(schema),
    ]);
    const cpu = new Map<number, number>();
    for (const { pid } of r.rows) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(pid, ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    }
    return cpu;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

/** CPU the backends used between two readings (a backend absent from the first started after it). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/** Drops a bench run's schema (its tables, the chain and the append function) once its managers stopped. */
export async function dropBenchSchema(url: string, schema: string): Promise<void> {
  const u = new URL(url);
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } catch {
    // Left behind: harmless (a name of its own), an operator may drop it.
  } finally {
    await c.end().catch(() => {});
  }
}
