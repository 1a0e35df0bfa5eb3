import pg from 'pg';

/**
 * The PostgreSQL the test/pg suites use: CATENA_PG_URL, default postgres://postgres@127.0.0.1:5432/test.
 * Without a server a suite skips with the reason (`pgUnavailable`); CATENA_REQUIRE_PG=1 (.ci/run) makes
 * that a failure at import, so CI never skips silently.
 */
export const PG_URL = process.env.CATENA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | false> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return false;
  } catch (e) {
    return `PostgreSQL not reachable at ${PG_URL} (${(e as Error).message}); run scripts/ci-postgres.sh or set CATENA_PG_URL`;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Why the suites skip (the server does not answer), or false. */
export const pgUnavailable = await probe();
if (pgUnavailable && process.env.CATENA_REQUIRE_PG === '1') throw new Error(`CATENA_REQUIRE_PG=1: ${pgUnavailable}`);
