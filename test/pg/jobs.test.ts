import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import { jobStoreContract } from '../helpers/job-store-contract.ts';
import { PG_URL as URL, pgUnavailable as unavailable } from '../helpers/pg.ts';

/**
 * Jobs and webhooks of the Store on a real PostgreSQL (CATENA_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/test), each test in its own schema, dropped afterwards. Without a
 * server the suite skips with the reason; CATENA_REQUIRE_PG=1 makes that a failure.
 */
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
