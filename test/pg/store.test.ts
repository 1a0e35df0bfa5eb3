import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MIGRATIONS, openStore } from '../../src/store/index.ts';
import { GROWN_FIRST } from '../../src/store/pg-append-batch.ts';
import { storeContract, type StoreFixture } from '../helpers/store-contract.ts';
import { PG_URL as URL, pgUnavailable as unavailable } from '../helpers/pg.ts';

/**
 * The Store contract on a real PostgreSQL: CATENA_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
 * each test in its own fresh schema, dropped afterwards (the database itself is left alone).
 * Without a server the suite skips with the reason; CATENA_REQUIRE_PG=1 (.ci/run) makes that a failure.
 * scripts/ci-postgres.sh starts a local server.
 */
if (unavailable) console.error(`# skipping the PostgreSQL store suite: ${unavailable}`);

storeContract(
  'PostgreSQL',
  async (): Promise<StoreFixture> => {
    const schema = `catena_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const raw = new pg.Client({ connectionString: URL, options: `-c search_path=${schema}` });
    await raw.connect();
    return {
      open: () => openStore(URL, { schema, maxConnections: 5 }),
      async query(sql) {
        return (await raw.query(sql)).rows;
      },
      async dropAppendOnlyGuards() {
        await raw.query('DROP TRIGGER audit_append_only ON audit');
      },
      async cleanup() {
        await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await raw.end();
      },
    };
  },
  { skip: unavailable },
);

test(
  'PostgreSQL: migration 6 gives existing elements their link nonce (the first holder of a replayed one), then the batch refuses it (ERR_STORE_NONCE_USED)',
  { skip: unavailable },
  async () => {
    const schema = `catena_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const raw = new pg.Client({ connectionString: URL });
    await raw.connect();
    try {
      // A schema as Catena left it at version 5.
      await raw.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`);
      await raw.query(
        `CREATE TABLE catena_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
      );
      for (const m of MIGRATIONS.filter((x) => x.version <= 5)) {
        for (const s of m.statements('postgres')) await raw.query(s);
        await raw.query(`INSERT INTO catena_migrations VALUES ($1, $2, 'x')`, [m.version, m.name]);
      }
      const n1 = 'aa'.repeat(32);
      const n2 = 'bb'.repeat(32);
      await raw.query(`INSERT INTO chains VALUES ('c', 'n', '{}', '{}', 'x', 5, 5, NULL)`);
      const rows: Array<[string, number, unknown]> = [
        ['e1', 1, { link: { nonce: n1 } }],
        ['e2', 2, { link: { nonce: n2 } }],
        ['p', 3, { element: { id: 'p' } }],
        ['e3', 4, { link: { nonce: n1 } }], // a replay an older replica let through
      ];
      for (const [id, seq, record] of rows)
        await raw.query(`INSERT INTO elements VALUES ('c', $1, $2, NULL, 'enclave', 'active', $3, '[]', 'x', 'x')`, [
          id,
          seq,
          JSON.stringify(record),
        ]);
      const store = await openStore(URL, { schema, maxConnections: 2 });
      try {
        assert.deepEqual(
          (await raw.query(`SELECT id, nonce FROM elements ORDER BY seq`)).rows.map((r) => [r.id, r.nonce]),
          [
            ['e1', n1],
            ['e2', n2],
            ['p', null],
            ['e3', null],
          ],
        );
        const add = (id: string, nonce: string) =>
          store.appendElement(
            'c',
            { id, parentId: null, kind: 'enclave', status: 'active', record: {}, evidenceHashes: [], nonce },
            'any',
            { actor: 't', at: new Date() },
          );
        await assert.rejects(add('e4', n2), (e: { code?: string }) => e.code === 'ERR_STORE_NONCE_USED');
        assert.equal((await add('e5', 'cc'.repeat(32))).element.seq, 5);
      } finally {
        await store.close();
      }
    } finally {
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);

test(
  'PostgreSQL: at GROWN_FIRST appends, then 4 times more, the store analyzes the tables autovacuum has not',
  { skip: unavailable },
  async () => {
    const schema = `catena_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const raw = new pg.Client({ connectionString: URL });
    await raw.connect();
    const store = await openStore(URL, { schema, maxConnections: 4 });
    try {
      // Only an explicit ANALYZE counts (autovacuum's are counted apart, in autoanalyze_count).
      const analyses = async () =>
        (
          await raw.query<{ relname: string; n: string }>(
            `SELECT relname, analyze_count AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname IN ('elements', 'audit', 'chains') ORDER BY relname`,
            [schema],
          )
        ).rows.map((r) => `${r.relname}:${r.n}`);
      const waitFor = async (n: number) => {
        // ANALYZE runs after the append that reaches the mark, not awaited by it.
        for (let i = 0; i < 300 && (await analyses()).some((x) => !x.endsWith(`:${n}`)); i++)
          await new Promise((r) => setTimeout(r, 100));
        return analyses();
      };
      const who = { actor: 't', at: new Date() };
      await store.createChain({ id: 'c', name: 'c', policy: {}, anchor: {}, createdAt: new Date() }, who);
      let added = 0;
      const addUpTo = (n: number) =>
        Promise.all(
          Array.from({ length: n - added }, () => {
            const id = `e${added++}`;
            return store.appendElement(
              'c',
              {
                id,
                parentId: null,
                kind: 'enclave',
                status: 'active',
                record: { id },
                evidenceHashes: [],
                nonce: null,
              },
              'any',
              who,
            );
          }),
        );
      await addUpTo(GROWN_FIRST - 1);
      assert.deepEqual(await analyses(), ['audit:0', 'chains:0', 'elements:0']);
      await addUpTo(GROWN_FIRST);
      assert.deepEqual(await waitFor(1), ['audit:1', 'chains:1', 'elements:1']);
      await addUpTo(4 * GROWN_FIRST - 1);
      assert.deepEqual(await analyses(), ['audit:1', 'chains:1', 'elements:1']);
      await addUpTo(4 * GROWN_FIRST);
      assert.deepEqual(await waitFor(2), ['audit:2', 'chains:2', 'elements:2']);
    } finally {
      await store.close();
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);

test(
  'PostgreSQL: an append announced with NOTIFY is published by its own transaction, with its seq; a refused one is not',
  { skip: unavailable },
  async () => {
    const schema = `catena_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const channel = `catena_test_${randomBytes(6).toString('hex')}`;
    const listener = new pg.Client({ connectionString: URL });
    await listener.connect();
    const got: string[] = [];
    listener.on('notification', (n) => got.push(String(n.payload)));
    await listener.query(`LISTEN ${channel}`);
    const store = await openStore(URL, { schema, maxConnections: 4 });
    try {
      const who = { actor: 't', at: new Date() };
      await store.createChain({ id: 'c', name: 'c', policy: {}, anchor: {}, createdAt: new Date() }, who);
      const add = (id: string) =>
        store.appendElement(
          'c',
          {
            id,
            parentId: null,
            kind: 'enclave',
            status: 'active',
            record: { id },
            evidenceHashes: [],
            nonce: null,
            announce: { channel, before: `{"id":"${id}","seq":`, after: '}' },
          },
          'any',
          who,
        );
      const [a, b] = await Promise.all([add('a'), add('b')]);
      await assert.rejects(add('a'), (e: { code?: string }) => e.code === 'ERR_STORE_DUPLICATE');
      await listener.query('SELECT 1'); // notifications sent before this round trip have arrived
      assert.deepEqual(
        got.map((p) => JSON.parse(p) as unknown),
        [
          { id: 'a', seq: a.element.seq },
          { id: 'b', seq: b.element.seq },
        ],
      );
    } finally {
      await store.close();
      await listener.end();
      const raw = new pg.Client({ connectionString: URL });
      await raw.connect();
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);
