import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { hex } from '../../src/bytes/util.ts';
import type { ChainPolicy } from '../../src/chain/types.ts';
import { generateP256 } from '../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../src/cot/world.ts';
import { openStore } from '../../src/store/index.ts';
import { buildManager } from '../../src/server/manager.ts';
import { LinkFactory } from '../../src/server/link-factory.ts';
import { createToken } from '../../src/server/tokens.ts';
import { readEventsUntil } from '../helpers/read-events.ts';
import { PG_URL as URL, pgUnavailable as unavailable } from '../helpers/pg.ts';

/**
 * A replica that dies between its COMMIT and its NOTIFY: the other replicas' SSE streams still carry
 * the event, recovered from the audit log (src/server/replica-event-poll.ts), and an event that did
 * arrive by NOTIFY is not streamed a second time.
 */

test(
  'an append committed without its NOTIFY reaches the other replicas\u2019 SSE streams from the audit log, once',
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const schema = `catena_evpoll_${process.pid}_${randomBytes(4).toString('hex')}`;
    const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
    const s1 = await openStore(URL, { schema, maxConnections: 4 });
    const s2 = await openStore(URL, { schema, maxConnections: 4 });
    // The "dying replica": a store that commits and never notifies anyone.
    const silent = await openStore(URL, { schema, maxConnections: 2 });
    const key = generateP256();
    const opts = { key, sharedStore: true, checkpointIntervalMs: 0, agentCheckIntervalMs: 0 };
    const a1 = await buildManager({ ...opts, store: s1 });
    const a2 = await buildManager({ ...opts, store: s2 });
    try {
      const base = await a2.listen({ host: '127.0.0.1', port: 0 });
      await world.collateralFor();
      const admin = (await createToken(s1, 'admin')).token;
      const headers = { authorization: `Bearer ${admin}` };
      const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
      const chain = (
        await a1.inject({
          method: 'POST',
          url: '/v1/chains',
          headers,
          payload: { name: 'events', root: hex(world.root), emulatedRoot: true, policy },
        })
      ).json().id as string;
      const img = world.elementImage(generateVendorKey());
      const parent = await world.loadElement(0, img);
      const links = new LinkFactory(world, world.root);
      const { nonce } = (
        await a1.inject({ method: 'POST', url: `/v1/chains/${chain}/challenge`, headers, payload: {} })
      ).json();
      const body = await links.first(chain, parent, nonce);

      const stream = readEventsUntil(base, admin, {}, '"element":"lost-notify"');
      await new Promise((r) => setTimeout(r, 200)); // the stream is open
      // Through replica 1: arrives at replica 2 by NOTIFY.
      const first = await a1.inject({ method: 'POST', url: `/v1/chains/${chain}/elements`, headers, payload: body });
      assert.equal(first.statusCode, 201, first.body);
      const firstId = first.json().element.id as string;
      // Committed by a replica that then died: no NOTIFY was ever sent.
      await silent.appendElement(
        chain,
        {
          id: 'lost-notify',
          parentId: firstId,
          kind: 'enclave',
          status: 'active',
          record: { note: 'committed, never notified' },
          evidenceHashes: [],
          nonce: 'ee'.repeat(32),
        },
        'any',
        { actor: 'replica-that-died', at: new Date() },
      );
      const text = await stream;
      const appended = text
        .split('\n\n')
        .map((f) => /^data: (.*)$/m.exec(f)?.[1])
        .filter((d): d is string => d !== undefined)
        .map((d) => JSON.parse(d) as Record<string, unknown>)
        .filter((e) => e.type === 'element.appended' && e.chain === chain);
      const lost = appended.filter((e) => e.element === 'lost-notify');
      assert.equal(lost.length, 1, text);
      assert.equal(lost[0].recoveredFrom, 'audit');
      assert.equal(lost[0].parent, firstId);
      assert.equal(lost[0].seq, 2);
      // The append that was notified is streamed once, not again from the audit log.
      assert.equal(appended.filter((e) => e.element === firstId).length, 1, text);
      assert.equal(appended.find((e) => e.element === firstId)?.recoveredFrom, undefined);
    } finally {
      await a1.close();
      await a2.close();
      await s1.close();
      await s2.close();
      await silent.close();
      await world.close();
      const raw = new pg.Client({ connectionString: URL });
      await raw.connect();
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);
