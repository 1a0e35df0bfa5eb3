import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { hex } from '../../src/bytes/util.ts';
import type { ChainPolicy, Link } from '../../src/chain/types.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../src/cot/world.ts';
import { openStore } from '../../src/store/index.ts';
import { LinkFactory, rekey } from '../../src/server/link-factory.ts';
import { loadOrCreateManagerKey } from '../../src/server/manager-key.ts';
import { createToken } from '../../src/server/tokens.ts';
import { startManager } from '../../src/cli/commands/bench-manager-spawn.ts';
import { readBack } from '../../src/cli/commands/bench-manager-readback.ts';
import { AppendedEvents } from '../../src/cli/commands/bench-manager-sse.ts';
import { PG_URL as URL, pgUnavailable as unavailable } from '../helpers/pg.ts';

/**
 * Two `catena manager` processes (dist/, as `npm run test:pg` builds it) on one PostgreSQL schema
 * append to one chain concurrently; one is killed with SIGKILL mid-load. Read back from PostgreSQL:
 * every acknowledged append is stored once, seqs have no holes or duplicates, the audit log (with
 * the replicas' signed checkpoints) verifies, the surviving replica's chain verifies and holds the
 * dead replica's appends, and while both ran, each one's SSE stream carried the other's appends.
 */

/** POST one append; undefined when the replica did not answer (killed, refused the connection). */
async function post(url: string, token: string, path: string, body: unknown): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

test(
  'two manager processes on one PostgreSQL, one killed with SIGKILL mid-load: no acknowledged append lost, nothing forked, the chain and the audit log verify',
  { skip: unavailable, timeout: 240_000 },
  async () => {
    const schema = `catena_kill_${process.pid}_${randomBytes(4).toString('hex')}`;
    const db = `${URL}${URL.includes('?') ? '&' : '?'}schema=${schema}`;
    const tmp = await mkdtemp(join(tmpdir(), 'catena-kill-'));
    const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
    const store = await openStore(db);
    const managers: ChildProcess[] = [];
    const streams: AppendedEvents[] = [];
    try {
      await world.collateralFor();
      const admin = (await createToken(store, 'admin', 'test')).token;
      const keyFile = join(tmp, 'manager-key.pem');
      const key = await loadOrCreateManagerKey(keyFile);
      const urls: string[] = [];
      for (const name of ['a', 'b']) {
        await mkdir(join(tmp, name));
        const m = await startManager(db, keyFile, join(tmp, name));
        managers.push(m.child);
        urls.push(m.url);
      }
      const [a, b] = urls;
      const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
      const created = await fetch(`${a}/v1/chains`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'kill', root: hex(world.root), emulatedRoot: true, policy }),
      });
      assert.equal(created.status, 201);
      const chain = ((await created.json()) as { id: string }).id;
      const img = world.elementImage(generateVendorKey());
      const [parent, child] = await Promise.all([world.loadElement(0, img), world.loadElement(1, img)]);
      const links = new LinkFactory(world, world.root);
      const nonceRes = await fetch(`${a}/v1/chains/${chain}/challenge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const { nonce } = (await nonceRes.json()) as { nonce: string };
      const path = `/v1/chains/${chain}/elements`;
      const firstBody = await links.first(chain, parent, nonce);
      assert.equal(await post(b, admin, path, firstBody), 201);
      const firstId = firstBody.link.child;
      streams.push(await AppendedEvents.open(a, admin, chain), await AppendedEvents.open(b, admin, chain));

      const bodies: Array<{ link: Link }> = [];
      for (let i = 0; i < 60; i++)
        bodies.push({ link: (await links.remote(chain, firstId, parent, child, policy, 2, await rekey(child))).link });
      const acked = new Map<string, number>([[firstId, 1]]);
      const ackedBy: string[][] = [[], []];
      const send = async (i: number, r: number): Promise<void> => {
        const status = await post(urls[r], admin, path, bodies[i]);
        if (status === 201) {
          acked.set(bodies[i].link.child, (acked.get(bodies[i].link.child) ?? 0) + 1);
          ackedBy[r].push(bodies[i].link.child);
        } else if (r === 0) assert.ok(status === 409, `replica a answered ${status}`);
      };

      // Phase 1, both alive: 20 links alternating, 4 in flight; each replica's stream shows all of them.
      for (let i = 0; i < 20; i += 4) await Promise.all([0, 1, 2, 3].map((k) => send(i + k, (i + k) % 2)));
      assert.equal(acked.size, 21);
      for (const s of streams)
        assert.equal(await s.missing(ackedBy.flat(), 10_000), 0, 'an SSE stream missed an append');

      // Phase 2: 40 links, 8 in flight, alternating; b is killed once it acknowledged 5 more.
      let killed = false;
      const bBefore = ackedBy[1].length;
      let next = 20;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (;;) {
            const i = next++;
            if (i >= bodies.length) return;
            await send(i, i % 2);
            if (!killed && ackedBy[1].length >= bBefore + 5) {
              killed = true;
              managers[1].kill('SIGKILL');
            }
          }
        }),
      );
      assert.ok(killed, 'replica b was killed mid-load');
      assert.ok(ackedBy[0].length >= 20, `replica a kept appending (${ackedBy[0].length})`);

      const back = await readBack(store, chain, acked, key.publicKey);
      assert.equal(back.lost, 0, JSON.stringify(back));
      assert.equal(back.forks, 0, JSON.stringify(back));
      assert.equal(back.detail.auditValid, true);
      // The survivor's chain: every stored element (the dead replica's included), and it verifies.
      const v = (await (
        await fetch(`${a}/v1/chains/${chain}/verify`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as { valid: boolean; elements: Record<string, unknown> };
      assert.equal(v.valid, true);
      for (const id of acked.keys()) assert.ok(id in v.elements, `the survivor's chain lacks ${id}`);
      // One more append at the survivor after the kill goes through.
      const extra = (await links.remote(chain, firstId, parent, child, policy, 2, await rekey(child))).link;
      assert.equal(await post(a, admin, path, { link: extra }), 201);
    } finally {
      for (const s of streams) s.close();
      const alive = managers.filter((m) => m.exitCode === null && m.signalCode === null);
      const exited = alive.map((m) => new Promise((r) => m.once('exit', r)));
      for (const m of alive) m.kill('SIGTERM');
      await Promise.all(exited);
      await store.close();
      await world.close();
      await rm(tmp, { recursive: true, force: true });
      const raw = new pg.Client({ connectionString: URL });
      await raw.connect();
      await raw.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await raw.end();
    }
  },
);
