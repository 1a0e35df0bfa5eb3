import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { asStoreError, StoreError } from './errors.ts';
import type { Driver, Executor, SqlRow, SqlValue } from './driver.ts';

export interface SqliteOptions {
  /** How long a writer waits for another process's write lock before ERR_STORE_BUSY (ms, default 5000). */
  busyTimeoutMs?: number;
  /**
   * Makes a file's written data durable (default: fdatasync on libuv's thread pool). Called with the
   * WAL's path after every COMMIT, before the batch is acknowledged; tests inject a slow or failing one.
   */
  syncFile?: (path: string) => Promise<void>;
}

interface PendingTx {
  fn: (tx: Executor) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}
/** Most transactions grouped under one COMMIT. */
const MAX_BATCH = 256;

/**
 * One queue per database file in this process. better-sqlite3 is synchronous, but the store's
 * logic awaits between statements; without the queue two async transactions on one connection
 * would interleave their statements, and two connections to one file in one process would
 * deadlock (the second blocks the thread in SQLite's busy handler while the first cannot finish).
 * Other processes are excluded by SQLite's own lock (BEGIN IMMEDIATE + busy_timeout).
 */
const queues = new Map<string, { tail: Promise<void>; users: number }>();

/**
 * SQLite through better-sqlite3: WAL journal, foreign keys on, write transactions run in BEGIN
 * IMMEDIATE batches (the write lock is taken up front, so a transaction never fails half-way on
 * lock upgrade; see transaction() for the group commit). Durability: a file database runs with
 * synchronous = NORMAL and the driver itself fsyncs the WAL after each COMMIT, on libuv's thread
 * pool, and acknowledges the batch only then — the same guarantee as synchronous = FULL (the WAL is
 * on disk before a commit is acknowledged; SQLite still syncs the WAL before and the database after
 * every checkpoint), but the event loop keeps serving requests during the fsync, and those requests
 * form the next batch (see docs/storage.md, "Durability"). If that fsync fails the driver refuses
 * every later call (ERR_STORE_BACKEND): what the kernel did with the unsynced pages is unknown.
 */
export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  readonly path: string;
  #db: Database.Database | undefined;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #queueKey: string;
  readonly #queue: { tail: Promise<void>; users: number };
  readonly #walPath: string | undefined;
  readonly #syncFile: (path: string) => Promise<void>;
  #broken: StoreError | undefined;

  constructor(path: string, opts: SqliteOptions = {}) {
    this.path = path;
    this.#syncFile = opts.syncFile ?? ((p) => this.#datasync(p));
    try {
      // Created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the same mode).
      if (path !== ':memory:' && !path.startsWith('file:')) closeSync(openSync(path, 'a', 0o600));
      this.#db = new Database(path);
      const mode = String(this.#db.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
      // In WAL mode the driver syncs the WAL itself, off-thread, before acknowledging (see above);
      // anything else (an in-memory database) keeps SQLite's own sync at every commit.
      this.#walPath = mode === 'wal' ? `${this.#db.name}-wal` : undefined;
      this.#db.pragma(this.#walPath ? 'synchronous = NORMAL' : 'synchronous = FULL');
      this.#db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
      this.#db.pragma('foreign_keys = ON');
    } catch (e) {
      this.#db?.close();
      throw new StoreError('ERR_STORE_URL', `cannot open SQLite database ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const memory = path === ':memory:' || path === '';
    this.#queueKey = memory ? `memory:${Math.random()}` : resolve(path);
    let q = queues.get(this.#queueKey);
    if (!q) queues.set(this.#queueKey, (q = { tail: Promise.resolve(), users: 0 }));
    q.users++;
    this.#queue = q;
  }

  /** The effective pragmas (for tests and diagnostics); walSync: the driver fsyncs the WAL before acknowledging. */
  pragmas(): { journalMode: string; synchronous: number; busyTimeout: number; foreignKeys: number; walSync: boolean } {
    const db = this.#open();
    return {
      walSync: this.#walPath !== undefined,
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: Number(db.pragma('synchronous', { simple: true })),
      busyTimeout: Number(db.pragma('busy_timeout', { simple: true })),
      foreignKeys: Number(db.pragma('foreign_keys', { simple: true })),
    };
  }

  #walHandle: FileHandle | undefined;

  /** fdatasync on libuv's thread pool; the first call also syncs the directory (the WAL's entry). */
  async #datasync(path: string): Promise<void> {
    if (!this.#walHandle) {
      const h = await open(path, 'r');
      const dir = await open(dirname(path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.#walHandle = h;
    }
    await this.#walHandle.datasync();
  }

  #open(): Database.Database {
    if (!this.#db) throw new StoreError('ERR_STORE_CLOSED', 'the store is closed');
    if (this.#broken) throw this.#broken;
    return this.#db;
  }

  async #exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#queue.tail;
    let release!: () => void;
    this.#queue.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#open().prepare(sql.replaceAll('{{FOR_UPDATE}}', '').replaceAll('{{SKIP_LOCKED}}', ''));
      this.#statements.set(sql, s);
    }
    return s;
  }

  readonly #exec: Executor = {
    all: async (sql: string, params: SqlValue[] = []): Promise<SqlRow[]> => this.#stmt(sql).all(...params) as SqlRow[],
    run: async (sql: string, params: SqlValue[] = []): Promise<number> => this.#stmt(sql).run(...params).changes,
  };

  all(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
    return this.#exclusive(() => {
      try {
        return this.#stmt(sql).all(...params) as SqlRow[];
      } catch (e) {
        throw asStoreError(e);
      }
    });
  }

  run(sql: string, params: SqlValue[] = []): Promise<number> {
    return this.#exclusive(() => {
      try {
        return this.#stmt(sql).run(...params).changes;
      } catch (e) {
        throw asStoreError(e);
      }
    });
  }

  /**
   * Group commit: write transactions requested while another batch is being written are run
   * together in one BEGIN IMMEDIATE … COMMIT, each inside its own SAVEPOINT (a failing one is rolled
   * back alone and rejected; the others are unaffected). One fsync then covers the whole batch, so
   * throughput under concurrent load is not bounded by the disk's fsync rate. Every promise still
   * settles only after COMMIT returned: nothing is acknowledged before it is durable.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#draining) {
        this.#draining = true;
        void this.#exclusive(() => this.#drain());
      }
    });
  }

  readonly #pending: PendingTx[] = [];
  #draining = false;
  readonly #stats = { transactions: 0, commits: 0 };

  /** Write transactions committed and the COMMITs that carried them (transactions / commits = batch size). */
  stats(): { transactions: number; commits: number } {
    return { ...this.#stats };
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        // Yield once so callers woken by the previous batch (and pending I/O) can join this one.
        await new Promise<void>((r) => setImmediate(r));
        const batch = this.#pending.splice(0, MAX_BATCH);
        if (batch.length === 0) return;
        await this.#runBatch(batch);
      }
    } finally {
      this.#draining = false;
    }
  }

  async #runBatch(batch: PendingTx[]): Promise<void> {
    let db: Database.Database;
    try {
      db = this.#open();
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      for (const item of batch) item.reject(asStoreError(e));
      return;
    }
    const done: Array<{ item: PendingTx; value: unknown }> = [];
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i];
      try {
        db.exec('SAVEPOINT catena_tx');
        const value = await item.fn(this.#exec);
        db.exec('RELEASE catena_tx');
        done.push({ item, value });
      } catch (e) {
        item.reject(asStoreError(e));
        let rolledBack = !db.inTransaction;
        if (!rolledBack) {
          try {
            db.exec('ROLLBACK TO catena_tx');
            db.exec('RELEASE catena_tx');
          } catch {
            rolledBack = true;
          }
        }
        if (rolledBack) {
          // SQLite abandoned the whole transaction (I/O error, disk full…): nothing of this batch
          // was committed or acknowledged, so the others simply run again in a later batch.
          if (db.inTransaction) db.exec('ROLLBACK');
          this.#pending.unshift(...done.map((d) => d.item), ...batch.slice(i + 1));
          return;
        }
      }
    }
    try {
      db.exec('COMMIT');
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      for (const d of done) d.item.reject(asStoreError(e));
      return;
    }
    if (this.#walPath && done.length > 0) {
      // Durable before acknowledged. Other requests run meanwhile and queue up for the next batch;
      // this batch still holds the queue, so reads in this process see only what is on disk.
      try {
        await this.#syncFile(this.#walPath);
      } catch (e) {
        this.#broken = new StoreError(
          'ERR_STORE_BACKEND',
          `fsync of the SQLite WAL failed (${(e as Error).message}): committed data may not be on disk; the store refuses further use until it is reopened`,
          { cause: e },
        );
        for (const d of done) d.item.reject(this.#broken);
        for (const p of this.#pending.splice(0)) p.reject(this.#broken);
        return;
      }
    }
    this.#stats.commits++;
    this.#stats.transactions += done.length;
    for (const d of done) d.item.resolve(d.value);
  }

  // SQLite has one writer at a time: BEGIN IMMEDIATE is already the migration lock.
  migrationTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  close(): Promise<void> {
    return this.#exclusive(async () => {
      if (!this.#db) return;
      await this.#walHandle?.close().catch(() => {});
      this.#walHandle = undefined;
      this.#db.close();
      this.#db = undefined;
      this.#statements.clear();
      if (--this.#queue.users === 0) queues.delete(this.#queueKey);
    });
  }
}
