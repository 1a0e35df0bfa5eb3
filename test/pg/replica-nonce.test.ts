import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { hex } from '../../src/bytes/util.ts';
import type { ChainPolicy } from '../../src/chain/types.ts';
import { generateP256 } from '../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../src/cot/world.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { buildManager } from '../../src/server/manager.ts';
import { LinkFactory, rekey } from '../../src/server/link-factory.ts';
import { createToken } from '../../src/server/tokens.ts';
import { PG_URL as URL, pgUnavailable as unavailable } from '../helpers/pg.ts';

/**
 * Link nonces are unique per chain in the database (store migration 6), not only in each replica's
 * memory: a link replaying a nonce that another replica committed is refused even by a replica whose
 * in-memory chain has not seen that link yet, with the same problem+json as a replay it knew of.
 */

/** The store as a lagging replica sees it: while `lag` is set, its catch-up reads answer what they answered last. */
function lagging(store: Store): { store: Store; lag: (on: boolean) => void } {
  let on = false;
  let last: Awaited<ReturnType<Store['elementsAfter']>> | undefined;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'elementsAfter')
        return async (chainId: string, afterSeq: number) => {
          if (on && last) return last;
          return (last = await target.elementsAfter(chainId, afterSeq));
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, lag: (v) => (on = v) };
}

const problem = (body: string) => {
  const p = JSON.parse(body) as Record<string, unknown>;
  return { type: p.type, title: p.title, status: p.status, code: p.code, check: p.check, detail: p.detail };
};

test(
  'a replayed link nonce is refused through a second replica by the database (ERR_LINK_REFUSED, check nonce-reuse), also when that replica lags',
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const schema = `catena_nonce_${process.pid}_${randomBytes(4).toString('hex')}`;
    const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
    const s1 = await openStore(URL, { schema, maxConnections: 4 });
    const lag2 = lagging(await openStore(URL, { schema, maxConnections: 4 }));
    const key = generateP256();
    const opts = { key, sharedStore: true, checkpointIntervalMs: 0, agentCheckIntervalMs: 0 };
    const a1 = await buildManager({ ...opts, store: s1 });
    const a2 = await buildManager({ ...opts, store: lag2.store });
    try {
      await world.collateralFor();
      const admin = (await createToken(s1, 'admin')).token;
      const headers = { authorization: `Bearer ${admin}` };
      const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
      const chain = (
        await a1.inject({
          method: 'POST',
          url: '/v1/chains',
          headers,
          payload: { name: 'nonce', root: hex(world.root), emulatedRoot: true, policy },
        })
      ).json().id as string;
      const img = world.elementImage(generateVendorKey());
      const [parent, child] = await Promise.all([world.loadElement(0, img), world.loadElement(1, img)]);
      const links = new LinkFactory(world, world.root);
      const { nonce: challenge } = (
        await a1.inject({ method: 'POST', url: `/v1/chains/${chain}/challenge`, headers, payload: {} })
      ).json();
      const url = `/v1/chains/${chain}/elements`;
      const first = await a1.inject({
        method: 'POST',
        url,
        headers,
        payload: await links.first(chain, parent, challenge),
      });
      assert.equal(first.statusCode, 201, first.body);
      const firstId = first.json().element.id as string;
      const remote = async (nonce?: string) =>
        ({
          link: (await links.remote(chain, firstId, parent, child, policy, 2, await rekey(child), undefined, nonce))
            .link,
        }) as const;
      const post = (app: typeof a1, payload: object) => app.inject({ method: 'POST', url, headers, payload });

      // Replica 2 has read the chain (first element), then lags: it will not see replica 1's next append.
      const warm = await post(a2, await remote());
      assert.equal(warm.statusCode, 201, warm.body);
      lag2.lag(true);
      const n = hex(randomBytes(32));
      const taken = await post(a1, await remote(n));
      assert.equal(taken.statusCode, 201, taken.body);
      const replay = await remote(n); // another element, the same nonce
      // Replica 1 knows the nonce (its memory refuses); replica 2 does not: the database refuses.
      const known = await post(a1, replay);
      const viaDb = await post(a2, replay);
      assert.equal(known.statusCode, 422, known.body);
      assert.equal(viaDb.statusCode, 422, viaDb.body);
      assert.equal(viaDb.headers['content-type'], known.headers['content-type']);
      assert.match(String(viaDb.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(problem(viaDb.body), problem(known.body));
      assert.equal(problem(viaDb.body).code, 'ERR_LINK_REFUSED');
      assert.equal(problem(viaDb.body).check, 'nonce-reuse');
      lag2.lag(false);

      // Both replicas at once, each pair of links sharing a nonce: exactly one of each pair is stored.
      const pairs = [];
      for (let i = 0; i < 6; i++) {
        const nonce = hex(randomBytes(32));
        pairs.push([await remote(nonce), await remote(nonce)]);
      }
      const answers = await Promise.all(pairs.map(([x, y]) => Promise.all([post(a1, x), post(a2, y)])));
      for (const [r1, r2] of answers) {
        const codes = [r1.statusCode, r2.statusCode].sort();
        assert.deepEqual(codes, [201, 422], `${r1.body} ${r2.body}`);
        const refused = r1.statusCode === 422 ? r1 : r2;
        assert.equal(problem(refused.body).check, 'nonce-reuse', refused.body);
      }
      const rows = await s1.listElements(chain);
      assert.equal(rows.length, 3 + pairs.length);
      const nonces = rows.map((r) => (r.record as { link: { nonce: string } }).link.nonce);
      assert.equal(new Set(nonces).size, nonces.length);
      for (const app of [a1, a2]) {
        const v = (await app.inject({ method: 'GET', url: `/v1/chains/${chain}/verify`, headers })).json();
        assert.equal(v.valid, true, JSON.stringify(v.failures));
      }
    } finally {
      await a1.close();
      await a2.close();
      await s1.close();
      await lag2.store.close();
      await world.close();
      const raw = new pg.Client({ connectionString: URL });
      await raw.connect();
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);
