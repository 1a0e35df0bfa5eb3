import { fileURLToPath } from 'node:url';
import { StoreError } from './errors.ts';
import { PostgresDriver } from './postgres-driver.ts';
import { SqliteDriver } from './sqlite-driver.ts';
import { SqlStore } from './sql-store.ts';
import type { Driver } from './driver.ts';
import type { Store } from './types.ts';

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string };

export interface OpenStoreOptions {
  /** Apply migrations before returning (default true; migrate() is idempotent). */
  migrate?: boolean;
  /** SQLite file used when url is undefined or empty (default "catena.db"). */
  defaultPath?: string;
  /** SQLite: writer's wait for a lock held by another process (ms, default 5000). */
  busyTimeoutMs?: number;
  /** PostgreSQL schema (overrides ?schema= in the URL; default "public"). */
  schema?: string;
  /** PostgreSQL pool size (default 10). */
  maxConnections?: number;
  /** PostgreSQL connect timeout (ms, default 10000). */
  connectTimeoutMs?: number;
}

/**
 * Where a store lives:
 *   undefined or ""                         → SQLite at opts.defaultPath ("catena.db")
 *   "sqlite:PATH", "sqlite://PATH"          → SQLite at PATH ("sqlite:///abs/path" is /abs/path;
 *                                             "sqlite::memory:" is an in-memory database)
 *   "file:///abs/path"                      → SQLite at /abs/path
 *   "postgres://…", "postgresql://…"        → PostgreSQL; a "schema" query parameter picks the schema
 *   any other "scheme://…"                  → ERR_STORE_URL
 *   anything else                           → a SQLite file path
 */
export function parseStoreUrl(url: string | undefined, defaultPath = 'catena.db'): StoreLocation {
  if (url === undefined || url === '') return { kind: 'sqlite', path: defaultPath };
  if (typeof url !== 'string') throw new StoreError('ERR_STORE_URL', 'store URL must be a string');
  if (/^postgres(ql)?:\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StoreError('ERR_STORE_URL', 'malformed PostgreSQL URL');
    }
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    return schema === undefined
      ? { kind: 'postgres', url: u.toString() }
      : { kind: 'postgres', url: u.toString(), schema };
  }
  if (/^sqlite:/i.test(url)) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new StoreError('ERR_STORE_URL', 'sqlite: URL without a path');
    return { kind: 'sqlite', path };
  }
  if (/^file:/i.test(url)) {
    try {
      return { kind: 'sqlite', path: fileURLToPath(url) };
    } catch {
      throw new StoreError('ERR_STORE_URL', 'malformed file: URL');
    }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme)
    throw new StoreError(
      'ERR_STORE_URL',
      `unsupported store URL scheme ${scheme[1]}: (use a path, sqlite:PATH or postgres://…)`,
    );
  return { kind: 'sqlite', path: url };
}

/** Opens (and by default migrates) the store at url; see parseStoreUrl for the accepted forms. */
export async function openStore(url: string | undefined, opts: OpenStoreOptions = {}): Promise<Store> {
  const loc = parseStoreUrl(url, opts.defaultPath);
  let driver: Driver;
  if (loc.kind === 'sqlite') {
    driver = new SqliteDriver(loc.path, { busyTimeoutMs: opts.busyTimeoutMs });
  } else {
    driver = new PostgresDriver(loc.url, {
      schema: opts.schema ?? loc.schema,
      maxConnections: opts.maxConnections,
      connectTimeoutMs: opts.connectTimeoutMs,
    });
  }
  const store = new SqlStore(driver);
  if (opts.migrate !== false) {
    try {
      await store.migrate();
    } catch (e) {
      await driver.close().catch(() => {});
      throw e;
    }
  }
  return store;
}
