import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store } from '../../../src/store/types.ts';
import { buildManager } from '../../../src/server/manager.ts';
import { buildMetricsServer } from '../../../src/server/metrics-server.ts';
import { createToken } from '../../../src/server/tokens.ts';

/** A store whose listChains and getAuditHead throw a plain Error (not a StoreError) while `broken` is set. */
function breakable(store: Store): { store: Store; set(b: boolean): void } {
  let broken = false;
  const proxy = new Proxy(store, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r) as unknown;
      if (broken && (k === 'listChains' || k === 'getAuditHead'))
        return async () => {
          throw new Error('disk on fire');
        };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { store: proxy, set: (b) => (broken = b) };
}

test('logs: one JSON line per request (method, route, status, time, request id), never a token or a body; 5xx and failed jobs with their cause', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-logs-'));
  const real = await openStore(join(dir, 'm.db'));
  const b = breakable(real);
  const lines: Array<Record<string, unknown>> = [];
  const app = await buildManager({
    store: b.store,
    key: generateP256(),
    agentCheckIntervalMs: 0,
    checkpointIntervalMs: 30,
    logLevel: 'info',
    logStream: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  try {
    const admin = (await createToken(real, 'admin')).token;
    const secret = 'body-secret-7f3a';
    const r = await app.inject({
      method: 'POST',
      url: '/v1/chains?x=1',
      headers: { authorization: `Bearer ${admin}` },
      payload: { name: secret, root: '', emulatedRoot: true },
    });
    assert.equal(r.statusCode, 400);
    await app.inject({ method: 'GET', url: '/v1/chains', headers: { authorization: `Bearer ${admin}` } });
    const reqLines = lines.filter((l) => l.msg === 'request');
    assert.equal(reqLines.length, 2);
    assert.deepEqual(
      reqLines.map((l) => [l.method, l.route, l.status, typeof l.ms, typeof l.reqId, l.service]),
      [
        ['POST', '/v1/chains', 400, 'number', 'string', 'manager'],
        ['GET', '/v1/chains', 200, 'number', 'string', 'manager'],
      ],
    );
    const all = JSON.stringify(lines);
    assert.ok(!all.includes(admin) && !all.includes(admin.slice(-20)), 'a token in the logs');
    assert.ok(!all.includes(secret), 'a body in the logs');

    // A 5xx: logged with its error, stack and request id; the answer says nothing of the cause.
    b.set(true);
    const boom = await app.inject({ method: 'GET', url: '/v1/chains', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(boom.statusCode, 500);
    assert.doesNotMatch(boom.body, /disk on fire/);
    const err = lines.find(
      (l) =>
        l.level === 50 &&
        (l.err as { message?: string } | undefined)?.message === 'disk on fire' &&
        l.msg === 'internal error',
    );
    assert.ok(err, JSON.stringify(lines.slice(-3)));
    assert.match(String((err.err as { stack: string }).stack), /disk on fire\n\s+at /);
    assert.equal(err.reqId, lines.filter((l) => l.msg === 'request').at(-1)!.reqId);

    // A background job that fails (the checkpoint timer): logged with its cause and counted.
    await app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { authorization: `Bearer ${admin}` },
      payload: { role: 'reader' },
    });
    const deadline = Date.now() + 5000;
    while (!lines.some((l) => l.job === 'checkpoint') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const job = lines.find((l) => l.job === 'checkpoint');
    assert.ok(job, 'no log line for the failed checkpoint job');
    assert.equal(job.level, 50);
    assert.equal((job.err as { message: string }).message, 'disk on fire');
    b.set(false);
    assert.match(await app.metricsText(), /catena_background_job_failures_total\{job="checkpoint"\} [1-9]/);
  } finally {
    b.set(false);
    await app.close();
    await real.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('--metrics-listen: /metrics on its own address needs no token; the API /metrics does', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-metrics-'));
  const store = await openStore(join(dir, 'm.db'));
  const app = await buildManager({ store, key: generateP256(), agentCheckIntervalMs: 0, checkpointIntervalMs: 0 });
  const m = buildMetricsServer(app);
  try {
    const open = await m.inject({ method: 'GET', url: '/metrics' });
    assert.equal(open.statusCode, 200);
    assert.match(open.body, /catena_http_requests_total|catena_agents/);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await m.inject({ method: 'GET', url: '/v1/chains' })).statusCode, 404);
  } finally {
    await m.close();
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
