import { readFileSync } from 'node:fs';
import pg from 'pg';
import { applicationName } from '../../store/postgres-driver.ts';

/** The server a PostgreSQL bench uses: --pg-url, else $CATENA_PG_URL, else the local default. */
export const pgBaseUrl = (flag: string | undefined): string =>
  flag ?? process.env.CATENA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The URL the bench gives its managers: `base` with the run's own schema (`?schema=`), and the
 * transport it names — a Unix socket when the URL says so (`?host=/var/run/postgresql`), else TCP.
 * Over the socket the CPU per append was the same as over loopback TCP (docs/benchmarks.md), so
 * the bench does not switch by itself.
 */
export function benchPgUrl(base: string, schema: string): { url: string; transport: string } {
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  const host = u.searchParams.get('host') ?? decodeURIComponent(u.hostname);
  return { url: u.toString(), transport: host.startsWith('/') ? `unix ${host}` : `tcp ${host}:${u.port || 5432}` };
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
