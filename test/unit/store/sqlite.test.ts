import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, openStore, parseStoreUrl, SqliteDriver, SqlStore, StoreError } from '../../../src/store/index.ts';

const who = { actor: 'test', at: new Date('2025-01-01T00:00:00Z') };

/** Runs `f` with a fresh temporary directory, removed afterwards whatever happens. */
async function withTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'catena-sqlite-'));
  try {
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SQLite runs with WAL (synced by the driver before acknowledging), a busy timeout and foreign keys; in memory: synchronous = FULL', async () => {
  await withTempDir(async (dir) => {
    const d = new SqliteDriver(join(dir, 'x.db'), { busyTimeoutMs: 1234 });
    assert.deepEqual(d.pragmas(), {
      journalMode: 'wal',
      synchronous: 1,
      busyTimeout: 1234,
      foreignKeys: 1,
      walSync: true,
    });
    await d.close();
    const m = new SqliteDriver(':memory:');
    assert.deepEqual(m.pragmas(), {
      journalMode: 'memory',
      synchronous: 2,
      busyTimeout: 5000,
      foreignKeys: 1,
      walSync: false,
    });
    await m.close();
  });
});

test('SQLite data and the audit chain persist across close and reopen', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'persist.db');
    const a = await openStore(path);
    await a.createChain({ id: 'c', name: 'n', policy: { p: 1 }, anchor: null, createdAt: who.at }, who);
    await a.appendElement(
      'c',
      { id: 'e', parentId: null, kind: 'enclave', status: 'valid', record: { r: 1 }, evidenceHashes: [] },
      'any',
      who,
    );
    const head = await a.getAuditHead();
    await a.close();
    const b = await openStore(`sqlite://${path}`);
    assert.deepEqual(
      (await b.listElements('c')).map((e) => e.id),
      ['e'],
    );
    assert.deepEqual(await b.getAuditHead(), head);
    await b.createChain({ id: 'd', name: 'n', policy: {}, anchor: {}, createdAt: who.at }, who);
    assert.equal((await b.listAudit({ limit: 10 }))[2].prevHash, head.hash);
    await b.close();
  });
});

test('openStore does not migrate when asked not to, and a file that is not SQLite is ERR_STORE_URL or ERR_STORE_BACKEND', async () => {
  await withTempDir(async (dir) => {
    const raw = await openStore(join(dir, 'fresh.db'), { migrate: false });
    await assert.rejects(raw.getChain('c'), (e: StoreError) => e.code === 'ERR_STORE_BACKEND');
    await raw.migrate();
    assert.equal(await raw.getChain('c'), undefined);
    await raw.close();
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text that is long enough to look like a header.......');
    await assert.rejects(
      openStore(junk),
      (e: StoreError) => e instanceof StoreError && ['ERR_STORE_URL', 'ERR_STORE_BACKEND'].includes(e.code),
    );
  });
});

test('an in-memory store works (sqlite::memory:) and is independent per open', async () => {
  const a = await openStore('sqlite::memory:');
  const b = await openStore('sqlite::memory:');
  await a.createChain({ id: 'c', name: 'n', policy: {}, anchor: {}, createdAt: who.at }, who);
  assert.equal(await b.getChain('c'), undefined);
  assert.ok(a instanceof SqlStore);
  await a.close();
  await b.close();
});

test('store URLs: SQLite paths and URLs, PostgreSQL with a schema, unknown schemes refused', () => {
  assert.deepEqual(parseStoreUrl(undefined), { kind: 'sqlite', path: 'catena.db' });
  assert.deepEqual(parseStoreUrl('', 'data/x.db'), { kind: 'sqlite', path: 'data/x.db' });
  assert.deepEqual(parseStoreUrl('var/catena.db'), { kind: 'sqlite', path: 'var/catena.db' });
  assert.deepEqual(parseStoreUrl('sqlite:var/catena.db'), { kind: 'sqlite', path: 'var/catena.db' });
  assert.deepEqual(parseStoreUrl('sqlite:///abs/catena.db'), { kind: 'sqlite', path: '/abs/catena.db' });
  assert.deepEqual(parseStoreUrl('sqlite::memory:'), { kind: 'sqlite', path: ':memory:' });
  assert.deepEqual(parseStoreUrl('file:///abs/c.db'), { kind: 'sqlite', path: '/abs/c.db' });
  assert.deepEqual(parseStoreUrl('postgres://u@h:5432/db'), { kind: 'postgres', url: 'postgres://u@h:5432/db' });
  assert.deepEqual(parseStoreUrl('postgresql://u@h/db?schema=cot&sslmode=disable'), {
    kind: 'postgres',
    url: 'postgresql://u@h/db?sslmode=disable',
    schema: 'cot',
  });
  for (const bad of ['mysql://h/db', 'sqlite:', 'http://x']) {
    assert.throws(
      () => parseStoreUrl(bad),
      (e: StoreError) => e.code === 'ERR_STORE_URL',
      bad,
    );
  }
});

test('a PostgreSQL schema name that is not a plain identifier is refused before connecting', async () => {
  await assert.rejects(
    openStore('postgres://u@127.0.0.1:1/db', { schema: 'x; drop table y' }),
    (e: StoreError) => e.code === 'ERR_STORE_URL',
  );
});

test('group commit: concurrent writes share COMMITs; a failing one is rolled back alone', async () => {
  await withTempDir(async (dir) => {
    const driver = new SqliteDriver(join(dir, 'group.db'));
    const store = new SqlStore(driver);
    await store.migrate();
    await store.createChain({ id: 'c', name: 'n', policy: {}, anchor: {}, createdAt: who.at }, who);
    await store.appendElement(
      'c',
      { id: 'root', parentId: null, kind: 'enclave', status: 'valid', record: {}, evidenceHashes: [] },
      'any',
      who,
    );
    const before = driver.stats();
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        store.appendElement(
          'c',
          {
            id: `e${i}`,
            parentId: i % 3 === 2 ? 'ghost' : 'root',
            kind: 'enclave',
            status: 'valid',
            record: { i },
            evidenceHashes: [],
          },
          'any',
          who,
        ),
      ),
    );
    const after = driver.stats();
    results.forEach((r, i) => {
      if (i % 3 === 2) assert.equal(r.status === 'rejected' && (r.reason as StoreError).code, 'ERR_STORE_NO_PARENT');
      else assert.equal(r.status, 'fulfilled', `append ${i}`);
    });
    assert.equal(after.transactions - before.transactions, 20);
    assert.ok(
      after.commits - before.commits < 20,
      `expected batching, got ${after.commits - before.commits} commits for 20 writes`,
    );
    const seqs = (await store.listElements('c')).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
    await store.close();
  });
});

test("group commit: when SQLite abandons the whole transaction, the batch's other writes run again", async () => {
  await withTempDir(async (dir) => {
    const driver = new SqliteDriver(join(dir, 'abort.db'));
    await driver.run('CREATE TABLE t (v INTEGER)');
    const ok = (v: number) => driver.transaction(async (tx) => (await tx.run('INSERT INTO t (v) VALUES (?)', [v]), v));
    const results = await Promise.allSettled([
      ok(1),
      ok(2),
      driver.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (99)');
        await tx.run('ROLLBACK'); // what SQLite does by itself on e.g. SQLITE_FULL or an I/O error
        throw new Error('the transaction is gone');
      }),
      ok(3),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(
      (await driver.all('SELECT v FROM t ORDER BY v')).map((r) => r.v),
      [1, 2, 3],
    );
    await driver.close();
  });
});

test('group commit: nothing is acknowledged before the WAL fsync after its COMMIT returns; requests arriving meanwhile form the next batch', async () => {
  await withTempDir(async (dir) => {
    const syncs: Array<{ path: string; done: () => void }> = [];
    const driver = new SqliteDriver(join(dir, 'ack.db'), {
      syncFile: (path) => new Promise<void>((done) => syncs.push({ path, done })),
    });
    const created = driver.run('CREATE TABLE t (v INTEGER)');
    await created;
    const settled: number[] = [];
    const write = (v: number) =>
      driver
        .transaction(async (tx) => (await tx.run('INSERT INTO t (v) VALUES (?)', [v]), v))
        .then((x) => (settled.push(x), x));
    const first = [write(1), write(2)];
    while (syncs.length === 0) await new Promise((r) => setTimeout(r, 1));
    assert.equal(syncs[0].path, join(dir, 'ack.db') + '-wal');
    // Committed, not yet synced: not acknowledged. Writes arriving now wait for the next batch.
    const later = [write(3), write(4), write(5)];
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(settled, []);
    assert.equal(syncs.length, 1);
    syncs[0].done();
    assert.deepEqual(await Promise.all(first), [1, 2]);
    while (syncs.length === 1) await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(settled, [1, 2]);
    syncs[1].done();
    assert.deepEqual(await Promise.all(later), [3, 4, 5]);
    assert.deepEqual(driver.stats(), { transactions: 5, commits: 2 });
    assert.deepEqual(
      (await driver.all('SELECT v FROM t ORDER BY rowid')).map((r) => r.v),
      [1, 2, 3, 4, 5],
    );
    await driver.close();
  });
});

test('group commit: a failed WAL fsync fails every request of its batch and the driver refuses further use', async () => {
  await withTempDir(async (dir) => {
    let fail = false;
    const driver = new SqliteDriver(join(dir, 'eio.db'), {
      syncFile: async () => {
        if (fail) throw new Error('EIO');
      },
    });
    await driver.run('CREATE TABLE t (v INTEGER)');
    fail = true;
    const results = await Promise.allSettled(
      [1, 2, 3].map((v) => driver.transaction(async (tx) => tx.run('INSERT INTO t (v) VALUES (?)', [v]))),
    );
    for (const r of results)
      assert.equal(r.status === 'rejected' && (r.reason as StoreError).code, 'ERR_STORE_BACKEND');
    await assert.rejects(
      driver.transaction(async (tx) => tx.run('INSERT INTO t (v) VALUES (4)')),
      (e: StoreError) => e.code === 'ERR_STORE_BACKEND' && /fsync/.test(e.message),
    );
    await assert.rejects(driver.all('SELECT v FROM t'), (e: StoreError) => e.code === 'ERR_STORE_BACKEND');
    await driver.close();
  });
});

test('group commit: a COMMIT that fails fails every request in its group and writes nothing', async () => {
  await withTempDir(async (dir) => {
    const driver = new SqliteDriver(join(dir, 'commit.db'));
    // A deferred foreign key is checked at COMMIT: one bad row makes the whole COMMIT fail.
    await driver.run('CREATE TABLE p (id INTEGER PRIMARY KEY)');
    await driver.run('CREATE TABLE c (v INTEGER, p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)');
    await driver.run('INSERT INTO p (id) VALUES (1)');
    const results = await Promise.allSettled(
      [1, 1, 99, 1].map((parent, i) =>
        driver.transaction(async (tx) => tx.run('INSERT INTO c (v, p) VALUES (?, ?)', [i, parent])),
      ),
    );
    for (const r of results) assert.equal(r.status, 'rejected');
    assert.deepEqual(await driver.all('SELECT v FROM c'), []);
    // The driver goes on: a good batch commits.
    await driver.transaction(async (tx) => tx.run('INSERT INTO c (v, p) VALUES (7, 1)'));
    assert.deepEqual(
      (await driver.all('SELECT v FROM c')).map((r) => r.v),
      [7],
    );
    await driver.close();
  });
});

test('migration 6 gives existing elements their link nonce (the first holder of a replayed one) and then refuses it (ERR_STORE_NONCE_USED)', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'v5.db');
    // A database as Catena left it at schema version 5.
    const d = new SqliteDriver(path);
    await d.run(
      `CREATE TABLE catena_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
    );
    for (const m of MIGRATIONS.filter((x) => x.version <= 5)) {
      for (const s of m.statements('sqlite')) await d.run(s);
      await d.run(`INSERT INTO catena_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [
        m.version,
        m.name,
        'x',
      ]);
    }
    const n1 = 'aa'.repeat(32);
    const n2 = 'bb'.repeat(32);
    await d.run(`INSERT INTO chains VALUES ('c', 'n', '{}', '{}', 'x', 5, 5, NULL)`);
    const rows: Array<[string, number, unknown]> = [
      ['e1', 1, { link: { nonce: n1 } }],
      ['e2', 2, { link: { nonce: n2 } }],
      ['p', 3, { element: { id: 'p' } }],
      ['e3', 4, { link: { nonce: n1 } }], // a replay an older replica let through
    ];
    for (const [id, seq, record] of rows)
      await d.run(`INSERT INTO elements VALUES ('c', ?, ?, NULL, 'enclave', 'active', ?, '[]', 'x', 'x')`, [
        id,
        seq,
        JSON.stringify(record),
      ]);
    await d.close();
    const store = await openStore(path);
    const check = new SqliteDriver(path);
    assert.deepEqual(
      (await check.all(`SELECT id, nonce FROM elements ORDER BY seq`)).map((r) => [r.id, r.nonce]),
      [
        ['e1', n1],
        ['e2', n2],
        ['p', null],
        ['e3', null],
      ],
    );
    await check.close();
    await assert.rejects(
      store.appendElement(
        'c',
        { id: 'e4', parentId: null, kind: 'enclave', status: 'active', record: {}, evidenceHashes: [], nonce: n2 },
        'any',
        who,
      ),
      (e: StoreError) => e.code === 'ERR_STORE_NONCE_USED',
    );
    await store.close();
  });
});
