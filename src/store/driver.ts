/**
 * The two database adapters (sqlite-driver.ts, postgres-driver.ts) behind one small interface, so
 * the store's logic (sql-store.ts) and its SQL are written once. SQL is written with `?`
 * placeholders; the PostgreSQL driver numbers them ($1, $2, …). `{{FOR_UPDATE}}` in a query becomes
 * ` FOR UPDATE` on PostgreSQL and nothing on SQLite (whose BEGIN IMMEDIATE already holds the
 * database's single write lock). `{{SKIP_LOCKED}}` becomes ` FOR UPDATE SKIP LOCKED` on PostgreSQL (a
 * queue's claim: rows another transaction holds are passed over) and nothing on SQLite.
 */
export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface Executor {
  /** A query returning rows. */
  all(sql: string, params?: SqlValue[]): Promise<SqlRow[]>;
  /** A statement; resolves to the number of rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
}

export interface Driver extends Executor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs fn in one write transaction: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** Runs fn in one transaction that also holds the migration lock (excludes other replicas' migrations). */
  migrationTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * PostgreSQL only: a named prepared statement taking any values (arrays too), run on its own in
   * autocommit — one round trip, durable when it resolves (see pg-append-batch.ts).
   */
  prepared?(name: string, text: string, values: unknown[]): Promise<SqlRow[]>;
}
