import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../../src/store/index.ts';
import { storeContract, type StoreFixture } from '../../helpers/store-contract.ts';

/** The Store contract on SQLite: a fresh database file in a temp directory per test. */
storeContract('SQLite', async (): Promise<StoreFixture> => {
  const dir = mkdtempSync(join(tmpdir(), 'catena-store-'));
  const path = join(dir, 'catena.db');
  let raw: Database.Database | undefined;
  const rawDb = () => (raw ??= new Database(path, { timeout: 5000 }));
  return {
    open: () => openStore(`sqlite:${path}`),
    async query(sql) {
      const st = rawDb().prepare(sql);
      if (st.reader) return st.all() as Record<string, unknown>[];
      st.run();
      return [];
    },
    async dropAppendOnlyGuards() {
      rawDb().exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    },
    async cleanup() {
      raw?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
