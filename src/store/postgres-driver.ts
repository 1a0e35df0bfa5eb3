import pg from 'pg';
import { createHash } from 'node:crypto';
import { asStoreError, StoreError } from './errors.ts';
import type { Driver, Executor, SqlRow, SqlValue } from './driver.ts';

export interface PostgresOptions {
  /** Schema holding Catena's tables (created by migrate; default "public"). */
  schema?: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Give up connecting after this long (ms, default 10000). */
  connectTimeoutMs?: number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** The application_name of a store's connections to PostgreSQL (pg_stat_activity). */
export const applicationName = (schema: string): string => `catena ${schema}`;

/**
 * PostgreSQL through a pg pool. Every write transaction runs on one pooled client at READ
 * COMMITTED and serialises itself with row locks (see sql-store.ts); migrations run under a
 * transaction-scoped advisory lock so replicas starting together apply them once.
 */
export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly schema: string;
  #pool: pg.Pool | undefined;
  readonly #sql = new Map<string, { name?: string; text: string }>();

  readonly #url: string;

  constructor(url: string, opts: PostgresOptions = {}) {
    this.#url = url;
    const schema = opts.schema ?? 'public';
    if (!IDENT.test(schema))
      throw new StoreError(
        'ERR_STORE_URL',
        `schema name ${JSON.stringify(schema)} is not a plain lowercase identifier`,
      );
    this.schema = schema;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: opts.maxConnections ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      options: `-c search_path=${schema}`,
      // Names the schema in pg_stat_activity: an operator (or the bench) tells replicas' backends apart.
      application_name: applicationName(schema),
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.#pool.on('error', () => {});
  }

  #open(): pg.Pool {
    if (!this.#pool) throw new StoreError('ERR_STORE_CLOSED', 'the store is closed');
    return this.#pool;
  }

  /**
   * The PostgreSQL text of a statement, and a name for the queries and DML among them: node-postgres
   * then prepares each once per connection (Parse once, Bind/Execute after) instead of parsing and
   * planning it at every call. Utility statements (migrations) stay unnamed.
   */
  #text(sql: string): { name?: string; text: string } {
    let t = this.#sql.get(sql);
    if (t === undefined) {
      let n = 0;
      const text = sql
        .replaceAll('{{FOR_UPDATE}}', ' FOR UPDATE')
        .replaceAll('{{SKIP_LOCKED}}', ' FOR UPDATE SKIP LOCKED')
        .replace(/\?/g, () => `$${++n}`);
      t = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(text)
        ? { name: `catena_${this.#sql.size}`, text }
        : { text };
      this.#sql.set(sql, t);
    }
    return t;
  }

  #executor(q: pg.Pool | pg.PoolClient): Executor {
    return {
      all: async (sql, params = []) => (await q.query({ ...this.#text(sql), values: params })).rows as SqlRow[],
      run: async (sql, params = []) => (await q.query({ ...this.#text(sql), values: params })).rowCount ?? 0,
    };
  }

  /**
   * A named (prepared once per connection) statement with any values node-postgres can send
   * (arrays included), outside a transaction: one round trip, committed when it resolves.
   */
  async prepared(name: string, text: string, values: unknown[]): Promise<SqlRow[]> {
    try {
      return (await this.#open().query({ name, text, values })).rows as SqlRow[];
    } catch (e) {
      throw asStoreError(e);
    }
  }

  async all(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
    try {
      return await this.#executor(this.#open()).all(sql, params);
    } catch (e) {
      throw asStoreError(e);
    }
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    try {
      return await this.#executor(this.#open()).run(sql, params);
    } catch (e) {
      throw asStoreError(e);
    }
  }

  async #tx<T>(fn: (tx: Executor) => Promise<T>, before?: (c: pg.PoolClient) => Promise<void>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#open().connect();
    } catch (e) {
      throw asStoreError(e);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      if (before) await before(client);
      const result = await fn(this.#executor(client));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is unusable: do not return it to the pool
      }
      throw asStoreError(e);
    } finally {
      client.release(broken);
    }
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#tx(fn);
  }

  migrationTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    // Key: "CATE" and the first 31 bits of SHA-256(schema), so different schemas migrate independently.
    const k2 = createHash('sha256').update(this.schema).digest().readInt32BE(0);
    return this.#tx(fn, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [0x43415445, k2]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    });
  }

  /**
   * LISTEN on a channel over a connection of its own (reconnected after a loss, every second until it
   * is back): onPayload gets each notification's payload. Resolves once listening; the returned
   * function stops.
   */
  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    if (!IDENT.test(channel)) throw new StoreError('ERR_STORE_INVALID', `bad channel name ${channel}`);
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({
        connectionString: this.#url,
        connectionTimeoutMillis: 10_000,
        application_name: applicationName(this.schema),
      });
      c.on('notification', (n) => {
        if (n.channel === channel && n.payload !== undefined) onPayload(n.payload);
      });
      const lost = () => {
        if (stopped || client !== c) return;
        client = undefined;
        c.end().catch(() => {});
        retry = setTimeout(() => void connect().catch(lost), 1000);
        retry.unref();
      };
      c.on('error', lost);
      c.on('end', lost);
      client = c;
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    };
    try {
      await connect();
    } catch (e) {
      stopped = true;
      await client?.end().catch(() => {});
      throw asStoreError(e);
    }
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.end();
  }
}
