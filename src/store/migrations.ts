import { StoreError } from './errors.ts';
import type { Driver } from './driver.ts';
import { ZERO_HASH } from './audit-hash.ts';
import { APPEND_BATCH_FUNCTION, APPEND_BATCH_FUNCTION_6, APPEND_BATCH_FUNCTION_7 } from './pg-append-batch.ts';

type Dialect = Driver['dialect'];

export interface Migration {
  version: number;
  name: string;
  statements(d: Dialect): string[];
}

/**
 * The schema, as an ordered list of migrations. Never edit a released migration: append a new one.
 * Opaque JSON documents are TEXT (the exact JSON.stringify output), times are ISO 8601 UTC TEXT
 * (exact round trip of a Date, ordered as text), counters are 64-bit integers.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'chains, elements, agents, tokens, audit log, checkpoints',
    statements: (d) => {
      const int = d === 'postgres' ? 'BIGINT' : 'INTEGER';
      const appendOnly =
        d === 'postgres'
          ? [
              `CREATE FUNCTION catena_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'catena: % is append-only', TG_TABLE_NAME; END $$`,
              `CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION catena_append_only()`,
              `CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION catena_append_only()`,
              `CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION catena_append_only()`,
              `CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION catena_append_only()`,
            ]
          : [
              `CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'catena: audit is append-only'); END`,
              `CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'catena: audit is append-only'); END`,
              `CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'catena: checkpoints are append-only'); END`,
              `CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'catena: checkpoints are append-only'); END`,
            ];
      return [
        `CREATE TABLE chains (
           id TEXT PRIMARY KEY,
           name TEXT NOT NULL,
           policy TEXT NOT NULL,
           anchor TEXT NOT NULL,
           created_at TEXT NOT NULL,
           version ${int} NOT NULL,
           next_seq ${int} NOT NULL,
           deleted_at TEXT
         )`,
        `CREATE TABLE elements (
           chain_id TEXT NOT NULL REFERENCES chains(id),
           id TEXT NOT NULL,
           seq ${int} NOT NULL,
           parent_id TEXT,
           kind TEXT NOT NULL,
           status TEXT NOT NULL,
           record TEXT NOT NULL,
           evidence_hashes TEXT NOT NULL,
           created_at TEXT NOT NULL,
           updated_at TEXT NOT NULL,
           PRIMARY KEY (chain_id, id),
           UNIQUE (chain_id, seq)
         )`,
        `CREATE INDEX elements_parent ON elements (chain_id, parent_id)`,
        `CREATE TABLE agents (
           id TEXT PRIMARY KEY,
           cloud TEXT NOT NULL,
           url TEXT NOT NULL,
           status TEXT NOT NULL,
           info TEXT NOT NULL,
           last_seen TEXT NOT NULL,
           registered_at TEXT NOT NULL
         )`,
        `CREATE TABLE tokens (
           id TEXT PRIMARY KEY,
           hash TEXT NOT NULL UNIQUE,
           role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
           created_at TEXT NOT NULL,
           revoked_at TEXT
         )`,
        `CREATE TABLE audit (
           seq ${int} PRIMARY KEY,
           at TEXT NOT NULL,
           actor TEXT NOT NULL,
           action TEXT NOT NULL,
           subject TEXT NOT NULL,
           evidence_hashes TEXT NOT NULL,
           detail TEXT NOT NULL,
           prev_hash TEXT NOT NULL,
           hash TEXT NOT NULL
         )`,
        // The head of the audit hash chain: one row, locked by every write transaction.
        `CREATE TABLE audit_head (
           id INTEGER PRIMARY KEY CHECK (id = 1),
           seq ${int} NOT NULL,
           hash TEXT NOT NULL
         )`,
        `INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${ZERO_HASH}')`,
        `CREATE TABLE checkpoints (
           seq ${int} PRIMARY KEY REFERENCES audit(seq),
           hash TEXT NOT NULL,
           signature TEXT NOT NULL,
           key_id TEXT NOT NULL,
           at TEXT NOT NULL
         )`,
        ...appendOnly,
      ];
    },
  },
  {
    version: 2,
    name: 'tokens: reader role, expiry, agent binding',
    // Rebuilt rather than altered: SQLite cannot change a CHECK constraint in place. Tokens made before
    // this version keep no expiry (expires_at NULL); an operator revokes them (catena admin token revoke).
    statements: () => [
      `CREATE TABLE tokens_v2 (
         id TEXT PRIMARY KEY,
         hash TEXT NOT NULL UNIQUE,
         role TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'reader')),
         created_at TEXT NOT NULL,
         revoked_at TEXT,
         expires_at TEXT,
         agent_id TEXT
       )`,
      `INSERT INTO tokens_v2 (id, hash, role, created_at, revoked_at, expires_at, agent_id) SELECT id, hash, role, created_at, revoked_at, NULL, NULL FROM tokens`,
      `DROP TABLE tokens`,
      `ALTER TABLE tokens_v2 RENAME TO tokens`,
    ],
  },
  {
    version: 3,
    name: 'durable jobs, webhooks',
    statements: (d) => {
      const int = d === 'postgres' ? 'BIGINT' : 'INTEGER';
      return [
        // progress, payload and result are JSON text ('null' when there is none); job_key is the
        // idempotency key (unique: enqueueing it twice finds the first job).
        `CREATE TABLE jobs (
           id TEXT PRIMARY KEY,
           kind TEXT NOT NULL,
           job_key TEXT NOT NULL UNIQUE,
           chain_id TEXT,
           state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
           attempts ${int} NOT NULL,
           max_attempts ${int} NOT NULL,
           next_at TEXT NOT NULL,
           lease_owner TEXT,
           lease_until TEXT,
           payload TEXT NOT NULL,
           progress TEXT NOT NULL,
           result TEXT NOT NULL,
           last_error TEXT,
           created_at TEXT NOT NULL,
           updated_at TEXT NOT NULL
         )`,
        `CREATE INDEX jobs_due ON jobs (state, next_at)`,
        `CREATE INDEX jobs_chain ON jobs (chain_id)`,
        `CREATE INDEX jobs_kind ON jobs (kind, state)`,
        `CREATE TABLE webhooks (
           id TEXT PRIMARY KEY,
           url TEXT NOT NULL,
           chain_id TEXT,
           events TEXT,
           created_at TEXT NOT NULL
         )`,
      ];
    },
  },
  {
    version: 4,
    name: 'event acknowledgements',
    // One row per acknowledged manager event (its SSE id), with the event as it was sent (JSON text):
    // the acknowledgement stays meaningful after the manager restarted and its replay buffer is gone.
    statements: (d) => [
      `CREATE TABLE event_acks (
         event_id ${d === 'postgres' ? 'BIGINT' : 'INTEGER'} PRIMARY KEY,
         type TEXT NOT NULL,
         event TEXT NOT NULL,
         actor TEXT NOT NULL,
         note TEXT,
         at TEXT NOT NULL
       )`,
    ],
  },
  {
    version: 5,
    name: 'PostgreSQL: catena_append_batch (appends in one round trip, group commit)',
    // SQLite needs nothing: its driver batches transactions in-process (sqlite-driver.ts).
    statements: (d) =>
      d === 'postgres'
        ? [
            APPEND_BATCH_FUNCTION,
            // Element records (~10 KB of JSON each) are TOASTed: LZ4 costs the server far less CPU per
            // append than the default pglz. A server built without LZ4 keeps pglz.
            `DO $$ BEGIN ALTER TABLE elements ALTER COLUMN record SET COMPRESSION lz4;
             EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL; END $$`,
          ]
        : [],
  },
  {
    version: 6,
    name: 'link nonces unique per chain (elements.nonce, unique index elements_nonce)',
    // The database, not each replica's memory, refuses a replayed link nonce. Existing elements get
    // their link's nonce (the first element of a chain holding it, should an older replica have let a
    // replay through: the index must build). PostgreSQL: catena_append_batch takes and checks it.
    statements: (d) => {
      const first = (nonceOf: string) =>
        `UPDATE elements SET nonce = ${nonceOf} WHERE (chain_id, seq) IN (
           SELECT chain_id, MIN(seq) FROM elements WHERE ${nonceOf} IS NOT NULL GROUP BY chain_id, ${nonceOf})`;
      return d === 'postgres'
        ? [
            `ALTER TABLE elements ADD COLUMN nonce TEXT`,
            first(`(record::jsonb #>> '{link,nonce}')`),
            `CREATE UNIQUE INDEX elements_nonce ON elements (chain_id, nonce)`,
            `DROP FUNCTION catena_append_batch(text[], text[], text[], text[], text[], text[], text[], text[], text[], bigint[], text[], text[], text[], text[], text[])`,
            APPEND_BATCH_FUNCTION_6,
          ]
        : [
            `ALTER TABLE elements ADD COLUMN nonce TEXT`,
            first(`(CASE json_type(record, '$.link.nonce') WHEN 'text' THEN json_extract(record, '$.link.nonce') END)`),
            `CREATE UNIQUE INDEX elements_nonce ON elements (chain_id, nonce)`,
          ];
    },
  },
  {
    version: 7,
    name: 'PostgreSQL: catena_append_batch publishes each append event (NOTIFY) in its own call',
    statements: (d) =>
      d === 'postgres'
        ? [
            `DROP FUNCTION catena_append_batch(text[], text[], text[], text[], text[], text[], text[], text[], text[], bigint[], text[], text[], text[], text[], text[], text[])`,
            APPEND_BATCH_FUNCTION_7,
          ]
        : [],
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Applies every migration newer than the database's, each recorded in catena_migrations, all in one
 * transaction under the driver's migration lock. Refuses (ERR_STORE_SCHEMA) a database whose
 * version is newer than this code's: an older manager must not write into a newer schema.
 */
export async function migrate(driver: Driver): Promise<{ from: number; to: number }> {
  return driver.migrationTransaction(async (tx) => {
    await tx.run(
      `CREATE TABLE IF NOT EXISTS catena_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
    );
    const rows = await tx.all(`SELECT MAX(version) AS v FROM catena_migrations`);
    const from = rows[0]?.v == null ? 0 : Number(rows[0].v);
    if (from > SCHEMA_VERSION) {
      throw new StoreError(
        'ERR_STORE_SCHEMA',
        `the database is at schema version ${from}, newer than this Catena's ${SCHEMA_VERSION}`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      for (const s of m.statements(driver.dialect)) await tx.run(s);
      await tx.run(`INSERT INTO catena_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
    }
    return { from, to: SCHEMA_VERSION };
  });
}
