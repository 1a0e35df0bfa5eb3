import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/store/index.ts';
import { jobStoreContract } from '../../helpers/job-store-contract.ts';

/** Jobs and webhooks of the Store on SQLite: a fresh database file per test. */
jobStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'catena-jobs-'));
  return {
    open: () => openStore(`sqlite:${join(dir, 'catena.db')}`),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
