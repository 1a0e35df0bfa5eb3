import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { hex } from '../../src/bytes/util.ts';
import type { ChainPolicy, Link } from '../../src/chain/types.ts';
import { generateP256 } from '../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../src/cot/world.ts';
import { openStore, verifyAuditLog, type AuditRecord } from '../../src/store/index.ts';
import { buildManager } from '../../src/server/manager.ts';
import { checkpointVerifier } from '../../src/server/manager-key.ts';
import { LinkFactory, rekey } from '../../src/server/link-factory.ts';
import { createToken } from '../../src/server/tokens.ts';
import { PG_URL as URL, pgUnavailable as unavailable } from '../helpers/pg.ts';

/**
 * Two managers (replicas) on one PostgreSQL schema append to the same chain concurrently over HTTP
 * (app.inject): no acknowledged link is lost, none is stored twice, seqs have no holes, the audit
 * chain does not fork, and both replicas end with the same valid chain.
 */

test(
  'two managers on one PostgreSQL append to one chain concurrently without losing or forking a link',
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const schema = `catena_mgr_${process.pid}_${randomBytes(4).toString('hex')}`;
    const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
    const [s1, s2] = [
      await openStore(URL, { schema, maxConnections: 4 }),
      await openStore(URL, { schema, maxConnections: 4 }),
    ];
    const key = generateP256(); // replicas share the manager key
    const [a1, a2] = [
      await buildManager({
        store: s1,
        key,
        sharedStore: true,
        checkpointIntervalMs: 0,
        agentCheckIntervalMs: 0,
        checkpointEvery: 10,
      }),
      await buildManager({
        store: s2,
        key,
        sharedStore: true,
        checkpointIntervalMs: 0,
        agentCheckIntervalMs: 0,
        checkpointEvery: 10,
      }),
    ];
    try {
      await world.collateralFor();
      const admin = (await createToken(s1, 'admin')).token;
      const auth = { authorization: `Bearer ${admin}` };
      const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
      const chain = (
        await a1.inject({
          method: 'POST',
          url: '/v1/chains',
          headers: auth,
          payload: { name: 'pg', root: hex(world.root), emulatedRoot: true, policy },
        })
      ).json().id as string;
      const img = world.elementImage(generateVendorKey());
      const [parent, child] = await Promise.all([world.loadElement(0, img), world.loadElement(1, img)]);
      const links = new LinkFactory(world, world.root);
      // A challenge from one replica is answered at the other (stateless challenges, shared manager key).
      const nonce = (
        await a1.inject({ method: 'POST', url: `/v1/chains/${chain}/challenge`, headers: auth, payload: {} })
      ).json().nonce as string;
      const first = await a2.inject({
        method: 'POST',
        url: `/v1/chains/${chain}/elements`,
        headers: auth,
        payload: await links.first(chain, parent, nonce),
      });
      assert.equal(first.statusCode, 201, first.body);
      const firstId = first.json().element.id as string;
      const bodies: Array<{ link: Link }> = [];
      for (let i = 0; i < 40; i++)
        bodies.push({ link: (await links.remote(chain, firstId, parent, child, policy, 2, await rekey(child))).link });

      // Each body is sent to both replicas at once: exactly one may store it.
      const results = await Promise.all(
        bodies.flatMap((b) =>
          [a1, a2].map((app) =>
            app.inject({ method: 'POST', url: `/v1/chains/${chain}/elements`, headers: auth, payload: b }),
          ),
        ),
      );
      const acked = results.filter((r) => r.statusCode === 201).map((r) => r.json().element.id as string);
      for (const r of results) assert.ok(r.statusCode === 201 || r.statusCode === 409, `${r.statusCode} ${r.body}`);
      assert.equal(acked.length, bodies.length, 'every link stored exactly once');
      assert.equal(new Set(acked).size, bodies.length);

      const rows = await s2.listElements(chain);
      assert.equal(rows.length, bodies.length + 1);
      assert.deepEqual(
        rows.map((r) => r.seq),
        rows.map((_, i) => i + 1),
      );
      for (const app of [a1, a2]) {
        const v = (await app.inject({ method: 'GET', url: `/v1/chains/${chain}/verify`, headers: auth })).json();
        assert.equal(v.valid, true, JSON.stringify(v.failures));
        assert.equal(Object.keys(v.elements).length, bodies.length + 1);
      }
      await a1.checkpoint();
      await a2.checkpoint();
      const records: AuditRecord[] = await s1.listAudit({ afterSeq: 0, limit: 10000 });
      const r = verifyAuditLog(records, await s1.listCheckpoints(), checkpointVerifier(key.publicKey));
      assert.equal(r.ok, true, JSON.stringify(r));
    } finally {
      await a1.close();
      await a2.close();
      await s1.close();
      await s2.close();
      await world.close();
      const raw = new pg.Client({ connectionString: URL });
      await raw.connect();
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);
