import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import { jobStoreContract } from '../helpers/job-store-contract.ts';

/**
 * Jobs and webhooks of the Store on a real PostgreSQL (CATENA_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/test), each test in its own schema, dropped afterwards. Without a
 * server the suite skips with the reason; CATENA_REQUIRE_PG=1 makes that a failure.
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
if (unavailable) console.error(`# skipping the PostgreSQL jobs suite: ${unavailable}`);

jobStoreContract(
  'PostgreSQL',
  async () => {
    const schema = `catena_jobs_${process.pid}_${randomBytes(4).toString('hex')}`;
    return {
      open: () => openStore(URL, { schema, maxConnections: 5 }),
      async cleanup() {
        const raw = new pg.Client({ connectionString: URL });
        await raw.connect();
        try {
          await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await raw.end();
        }
      },
    };
  },
  { skip: unavailable },
);
