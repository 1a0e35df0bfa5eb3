import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hex } from '../../src/bytes/util.ts';
import type { ChainPolicy, Link } from '../../src/chain/types.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { EmulatedWorld } from '../../src/cot/world.ts';
import { callJson } from '../../src/server/http-json.ts';
import { LinkFactory, rekey } from '../../src/server/link-factory.ts';
import { createToken } from '../../src/server/tokens.ts';
import { openStore } from '../../src/store/open-store.ts';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));

function startManager(data: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'manager', '--data', data, '--listen', '127.0.0.1:0', '--agent-check', '0', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        resolve({ child, url: (JSON.parse(out) as { url: string }).url });
      } catch {
        /* incomplete */
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (c) => reject(new Error(`manager exited ${c}: ${err.slice(-500)}`)));
  });
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.on('exit', (code) => resolve({ code, stdout }));
  });
}

test(
  'SIGKILL mid-load: after restart every acknowledged element is there and the audit chain is intact',
  { timeout: 170_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'catena-crash-'));
    const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
    let m: { child: ChildProcess; url: string } | undefined;
    try {
      await world.collateralFor();
      const store = await openStore(join(dir, 'catena.db'));
      const admin = (await createToken(store, 'admin', 'test')).token;
      await store.close();
      m = await startManager(dir);
      const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
      const chain = await callJson<{ id: string }>(`${m.url}/v1/chains`, {
        body: { name: 'crash', root: hex(world.root), emulatedRoot: true, policy },
        token: admin,
      });
      const img = world.elementImage(generateVendorKey());
      const [parent, child] = await Promise.all([world.loadElement(0, img), world.loadElement(1, img)]);
      const links = new LinkFactory(world, world.root);
      const { nonce } = await callJson<{ nonce: string }>(`${m.url}/v1/chains/${chain.id}/challenge`, {
        method: 'POST',
        body: {},
        token: admin,
      });
      const first = await callJson<{ element: { id: string } }>(`${m.url}/v1/chains/${chain.id}/elements`, {
        body: await links.first(chain.id, parent, nonce),
        token: admin,
      });
      const TOTAL = 400;
      const bodies: Array<{ link: Link }> = [];
      for (let i = 0; i < TOTAL; i++)
        bodies.push({
          link: (await links.remote(chain.id, first.element.id, parent, child, policy, 2, await rekey(child))).link,
        });

      const acked: string[] = [first.element.id];
      const killAfter = 60 + Math.floor(Math.random() * 120);
      let next = 0;
      let killed = false;
      const url = m.url;
      const victim = m.child;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (!killed && next < bodies.length) {
            const b = bodies[next++];
            try {
              const r = await callJson<{ element: { id: string } }>(`${url}/v1/chains/${chain.id}/elements`, {
                body: b,
                token: admin,
                timeoutMs: 10_000,
              });
              acked.push(r.element.id);
              if (acked.length >= killAfter && !killed) {
                killed = true;
                victim.kill('SIGKILL');
              }
            } catch {
              // In flight when the manager died: not acknowledged, may or may not be stored.
            }
          }
        }),
      );
      assert.ok(killed, 'the manager was killed mid-load');
      await new Promise((r) =>
        victim.exitCode !== null || victim.signalCode !== null ? r(null) : victim.once('exit', r),
      );
      assert.ok(next < bodies.length, 'appends were still coming when the manager died');

      m = await startManager(dir);
      const els = (
        await callJson<{ elements: Array<{ id: string; seq: number }> }>(`${m.url}/v1/chains/${chain.id}/elements`, {
          token: admin,
        })
      ).elements;
      const have = new Set(els.map((e) => e.id));
      for (const id of acked) assert.ok(have.has(id), `acknowledged element ${id} lost`);
      assert.deepEqual(
        els.map((e) => e.seq),
        els.map((_, i) => i + 1),
        'seqs 1..n without holes',
      );
      const v = await callJson<{ valid: boolean; size: number }>(`${m.url}/v1/chains/${chain.id}/verify`, {
        token: admin,
        timeoutMs: 60_000,
      });
      assert.equal(v.valid, true);
      // The restarted manager keeps appending.
      const more = bodies.find((b) => !have.has(b.link.child))!;
      await callJson(`${m.url}/v1/chains/${chain.id}/elements`, { body: more, token: admin });
      await new Promise((r) => {
        m!.child.once('exit', r);
        m!.child.kill('SIGTERM');
      });
      m = undefined;
      const audit = await cli(['audit', 'verify', '--data', dir, '--json']);
      assert.equal(audit.code, 0, audit.stdout);
      const a = JSON.parse(audit.stdout);
      assert.equal(a.ok, true);
      assert.ok(a.count >= acked.length + 3 && a.checkpoints >= 1, JSON.stringify(a));
    } finally {
      if (m && m.child.exitCode === null) m.child.kill('SIGKILL');
      await world.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
