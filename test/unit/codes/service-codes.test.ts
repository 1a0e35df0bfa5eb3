import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Chain } from '../../../src/chain/chain.ts';
import { main } from '../../../src/cli/main.ts';
import { UsageError } from '../../../src/cli/io.ts';
import { CotBuilder, dcapRemoteVerifier, EmulatedWorld } from '../../../src/cot/index.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildManager } from '../../../src/server/manager.ts';
import { createToken } from '../../../src/server/tokens.ts';
import { openStore } from '../../../src/store/open-store.ts';

/**
 * Error codes of the store, the manager, the chain and the CLI that no other test provoked
 * (issue 11, item 7a): each test makes the documented failure happen and expects exactly its code.
 */
async function withTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'catena-codes-'));
  try {
    await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const who = () => ({ actor: 'test', at: new Date() });

test('SQLite: a write while another connection holds the write lock past the busy timeout is ERR_STORE_BUSY', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'busy.db');
    const store = await openStore(path, { busyTimeoutMs: 50 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      await assert.rejects(
        store.createChain({ id: 'c', name: 'n', policy: {}, anchor: null, createdAt: new Date() }, who()),
        (e: Error & { code?: string }) => e.code === 'ERR_STORE_BUSY',
      );
      other.exec('ROLLBACK');
      await store.createChain({ id: 'c', name: 'n', policy: {}, anchor: null, createdAt: new Date() }, who());
    } finally {
      other.close();
      await store.close();
    }
  });
});

test('manager: an unexpected error in a route is 500 ERR_INTERNAL; a closed store is 503 ERR_UNAVAILABLE (problem+json)', async () => {
  await withTempDir(async (dir) => {
    const store = await openStore(join(dir, 'm.db'));
    const admin = (await createToken(store, 'admin')).token;
    // The same store, but listing chains hits a bug (not a StoreError).
    const buggy = new Proxy(store, {
      get(t, k, r) {
        if (k === 'listChains')
          return async () => {
            throw new TypeError('a bug');
          };
        const v = Reflect.get(t, k, r) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const app = await buildManager({
      store: buggy,
      key: generateP256(),
      checkpointIntervalMs: 0,
      agentCheckIntervalMs: 0,
    });
    try {
      const headers = { authorization: `Bearer ${admin}` };
      const r500 = await app.inject({ method: 'GET', url: '/v1/chains', headers });
      assert.equal(r500.statusCode, 500);
      assert.match(String(r500.headers['content-type']), /application\/problem\+json/);
      assert.equal(r500.json().code, 'ERR_INTERNAL');
      await store.close();
      const r503 = await app.inject({ method: 'GET', url: '/v1/chains', headers });
      assert.equal(r503.statusCode, 503);
      assert.equal(r503.json().code, 'ERR_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });
});

test('chain: appending an element that is already in the chain is ERR_CHAIN_DUPLICATE', async () => {
  const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 1 });
  try {
    await world.collateralFor();
    const chain = Chain.create({
      name: 'dup',
      root: world.root,
      emulatedRoot: true,
      policy: {},
      owner: generateP256(),
      remote: dcapRemoteVerifier(world.root),
      now: new Date(),
    });
    const b = new CotBuilder(chain, world, world.root);
    const image = world.elementImage(generateVendorKey());
    const e1 = await b.appendFirst(await world.loadElement(0, image));
    const e2 = await b.appendLocal(e1.id, await world.loadElement(0, image));
    await assert.rejects(
      chain.append(chain.link(e2.id)!, { at: new Date() }),
      (e: Error & { code?: string }) => e.code === 'ERR_CHAIN_DUPLICATE',
    );
  } finally {
    await world.close();
  }
});

test('CLI: a missing required flag is a UsageError with ERR_USAGE, and the CLI exits 2', async (t) => {
  assert.equal(new UsageError('x').code, 'ERR_USAGE');
  let err = '';
  const write = t.mock.method(process.stderr, 'write', (s: string) => ((err += s), true));
  let rc: number;
  try {
    rc = await main(['node', 'catena', 'emulate', 'quote']);
  } finally {
    write.mock.restore();
  }
  assert.equal(rc, 2);
  assert.match(err, /--out <dir> is required/);
});
