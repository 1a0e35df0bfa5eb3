import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store, WebhookRow } from '../../../src/store/types.ts';
import { JobRunner } from '../../../src/server/jobs/runner.ts';
import { webhookFanout, webhookMatches } from '../../../src/server/webhooks/fanout.ts';
import { webhookSigner } from '../../../src/server/webhooks/sign.ts';

const hook = (chainId: string | null, events: string[] | null): WebhookRow => ({
  id: 'wh',
  url: 'http://127.0.0.1:1/',
  chainId,
  events,
  createdAt: new Date(0),
});

test('webhookMatches: the chain filter and the event-type filter both apply; null matches all', () => {
  const ev = { type: 'element.revoked', chain: 'c1', at: '2026-01-01T00:00:00.000Z' };
  assert.equal(webhookMatches(hook(null, null), ev), true);
  assert.equal(webhookMatches(hook('c1', null), ev), true);
  assert.equal(webhookMatches(hook('c2', null), ev), false);
  assert.equal(webhookMatches(hook('c1', ['element.revoked', 'chain.deleted']), ev), true);
  assert.equal(webhookMatches(hook('c1', ['chain.deleted']), ev), false);
  assert.equal(
    webhookMatches(hook('c1', null), { type: 'agent.status', at: ev.at }),
    false,
    'no chain: chain hooks skip it',
  );
});

async function withRunner(
  fn: (o: {
    store: Store;
    runner: JobRunner;
    fanout: ReturnType<typeof webhookFanout>;
    url: string;
    hanging: ServerResponse[];
    bodies: string[];
  }) => Promise<void>,
  // Generous unless the test is about the timeout: a loaded CI machine can take 100 ms to answer on loopback.
  timeoutMs = 10_000,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'catena-wh-'));
  const store = await openStore(join(dir, 'w.db'));
  const hanging: ServerResponse[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      if (req.url === '/hang') hanging.push(res);
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const key = generateP256();
  const runner = new JobRunner({ store, backoff: { baseMs: 1, maxMs: 1 } });
  const fanout = webhookFanout(runner, store, webhookSigner(key.privateKey, 'kid-1'), {
    timeoutMs,
    maxAttempts: 1,
  });
  try {
    await fn({
      store,
      runner,
      fanout,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      hanging,
      bodies,
    });
    // The signature is the manager key's.
    for (const b of bodies) {
      assert.equal(decodeProtectedHeader(b).kid, 'kid-1');
      await compactVerify(b, key.publicKey);
    }
  } finally {
    await runner.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const who = { actor: 'alice', at: new Date() };

test('fanout: one job per matching webhook; the same event id again adds nothing', async () => {
  await withRunner(async ({ store, fanout, runner, url }) => {
    await store.createWebhook({ id: 'a', url: `${url}/ok`, chainId: null, events: null, createdAt: new Date() }, who);
    await store.createWebhook(
      { id: 'b', url: `${url}/ok`, chainId: 'other', events: null, createdAt: new Date() },
      who,
    );
    const ev = { type: 'chain.created', chain: 'c1', at: new Date().toISOString() };
    const jobs = await fanout(ev, 'e1');
    assert.deepEqual(
      jobs.map((j) => [j.key, j.kind, j.chainId, j.maxAttempts]),
      [['webhook:a:e1', 'webhook.deliver', 'c1', 1]],
    );
    assert.deepEqual(
      (await fanout(ev, 'e1')).map((j) => j.id),
      [jobs[0].id],
    );
    assert.equal((await store.listJobs({ limit: 10 })).length, 1);
    await runner.runDue();
    assert.deepEqual((await store.getJob(jobs[0].id))?.result, { status: 200 });
  });
});

test('a receiver that does not answer in time fails the attempt (ERR_WEBHOOK_DELIVERY); a deleted webhook is not called', async () => {
  await withRunner(async ({ store, fanout, runner, url, hanging, bodies }) => {
    await store.createWebhook(
      { id: 'slow', url: `${url}/hang`, chainId: null, events: null, createdAt: new Date() },
      who,
    );
    await store.createWebhook(
      { id: 'gone', url: `${url}/ok`, chainId: null, events: null, createdAt: new Date() },
      who,
    );
    const jobs = await fanout({ type: 'chain.created', chain: 'c1', at: new Date().toISOString() }, 'e2');
    await store.deleteWebhook('gone', who);
    await runner.runDue();
    const slow = (await store.getJob(jobs.find((j) => j.key === 'webhook:slow:e2')!.id))!;
    assert.equal(slow.state, 'dead');
    assert.match(
      slow.lastError!,
      /^WebhookDeliveryError \(ERR_WEBHOOK_DELIVERY\): delivery to webhook slow failed: no answer within 100 ms/,
    );
    assert.equal(hanging.length, 1);
    const gone = (await store.getJob(jobs.find((j) => j.key === 'webhook:gone:e2')!.id))!;
    assert.deepEqual([gone.state, gone.result], ['done', { skipped: 'webhook deleted' }]);
    assert.equal(bodies.length, 1, 'only the slow receiver was called');
  }, 100);
});
