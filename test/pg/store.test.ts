import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import { storeContract, type StoreFixture } from '../helpers/store-contract.ts';

/**
 * The Store contract on a real PostgreSQL: CATENA_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
 * each test in its own fresh schema, dropped afterwards (the database itself is left alone).
 * Without a server the suite skips with the reason; CATENA_REQUIRE_PG=1 (.ci/run) makes that a failure.
 * scripts/ci-postgres.sh starts a local server.
 */
const URL = process.env.CATENA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | false> {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return false;
  } catch (e) {
    return `PostgreSQL not reachable at ${URL} (${(e as Error).message}); run scripts/ci-postgres.sh or set CATENA_PG_URL`;
  } finally {
    await c.end().catch(() => {});
  }
}

const unavailable = await probe();
if (unavailable && process.env.CATENA_REQUIRE_PG === '1') throw new Error(`CATENA_REQUIRE_PG=1: ${unavailable}`);
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
