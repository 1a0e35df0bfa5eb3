import type { Command } from 'commander';
import { openStore, parseStoreUrl } from '../../store/open-store.ts';
import { buildManager } from '../../server/manager.ts';
import { loadOrCreateManagerKey, managerKeyId } from '../../server/manager-key.ts';
import { managerPaths } from '../../server/data-dir.ts';
import { listenUrl, parseListen, untilSignal } from '../../server/net.ts';
import { intFlag, printJson, say, UsageError } from '../io.ts';
import { availableParallelism } from 'node:os';

/** `catena manager`: the CoT manager service (REST API under /v1, docs/api.md) until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('manager')
    .description('run the chain-of-trust manager (REST API, OpenAPI at /openapi.json)')
    .option('--listen <host:port>', 'address', '127.0.0.1:8080')
    .option('--data <dir>', 'data directory (SQLite database and manager key)', 'catena-data')
    .option('--db <url>', 'store: SQLite path / sqlite:PATH, or postgres://… (default DATA/catena.db)')
    .option('--key <pem>', 'manager key (P-256, created if missing; default DATA/manager-key.pem)')
    .option('--agent-check <ms>', 'agent health-check interval', '5000')
    .option('--pcs <url>', 'PCS/PCCS base URL (API v4): the manager fetches and caches collateral for remote appends itself')
    .option('--verify-threads <n>', 'worker threads verifying quotes (default: cores − 1; 0: in the event loop thread)')
    .option('--json', 'print one JSON document {url, keyId, db} once listening')
    .action(async (o: { listen: string; data: string; db?: string; key?: string; agentCheck: string; pcs?: string; verifyThreads?: string; json?: boolean }) => {
      let listen;
      try {
        listen = parseListen(o.listen);
      } catch (e) {
        throw new UsageError(`--listen: ${(e as Error).message}`);
      }
      if (o.pcs !== undefined && !/^https?:\/\/[^/]/.test(o.pcs)) throw new UsageError(`--pcs: not an http(s) URL: ${o.pcs}`);
      const verifierThreads = o.verifyThreads === undefined ? availableParallelism() - 1 : intFlag('verify-threads', o.verifyThreads, 0, 64);
      const paths = await managerPaths(o);
      const shared = parseStoreUrl(paths.db).kind === 'postgres';
      const store = await openStore(paths.db);
      const key = await loadOrCreateManagerKey(paths.key);
      const app = await buildManager({ store, key, sharedStore: shared, agentCheckIntervalMs: Number(o.agentCheck) || 0, verifierThreads, ...(o.pcs ? { pcsUrl: o.pcs } : {}) });
      try {
        const url = await listenUrl(app, listen.host, listen.port);
        const info = { url, keyId: managerKeyId(key.publicKey), db: shared ? 'postgres' : 'sqlite', data: paths.data, ...(o.pcs ? { pcs: o.pcs } : {}) };
        if (o.json) printJson(info);
        else say(false, `catena manager listening on ${url} (${info.db}, key ${info.keyId}); OpenAPI: ${url}/openapi.json`);
        await untilSignal();
      } finally {
        await app.close();
        await store.close();
      }
    });
}
