import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { verifyAuditLog } from '../../../src/store/index.ts';
import { WebhookDeliveryError } from '../../../src/server/webhooks/errors.ts';
import { ManagerFixture } from './fixture.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on 127.0.0.1:0: /ok answers 204, /fail 500 (until told to accept), /hang never answers, /redirect 302 → /ok. */
class Receiver {
  readonly received: Received[] = [];
  readonly hanging: ServerResponse[] = [];
  failing = true;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const r: Receiver = new Receiver(createServer((req, res) => r.handle(req, res)));
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '';
      this.received.push({ path, headers: req.headers, body });
      if (path === '/hang') this.hanging.push(res);
      else if (path === '/redirect') res.writeHead(302, { location: this.url('/ok') }).end();
      else if (path === '/fail' && this.failing) res.writeHead(500).end('no');
      else res.writeHead(204).end();
    });
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('webhooks', () => {
  let f: ManagerFixture;
  let rx: Receiver;
  before(async () => {
    rx = await Receiver.start();
    f = await ManagerFixture.create({
      jobPollMs: 20,
      webhookTimeoutMs: 60_000,
      webhookMaxAttempts: 2,
      webhookBackoff: { baseMs: 10, maxMs: 20 },
    });
  });
  after(async () => {
    await rx.close();
    await f.close();
  });

  const deliveries = async () => f.store.listJobs({ kind: 'webhook.deliver', limit: 1000 });
  const deleteAll = async () => {
    for (const w of (await f.req('GET', '/v1/webhooks')).json().webhooks as { id: string }[])
      assert.equal((await f.req('DELETE', `/v1/webhooks/${w.id}`)).statusCode, 204);
  };

  test('create, list and delete; only http(s) URLs (ERR_MALFORMED), a known chain, admin only', async () => {
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'not a url']) {
      const r = await f.req('POST', '/v1/webhooks', { url });
      assert.equal(r.statusCode, 400, url);
      assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(r.json().code, 'ERR_MALFORMED');
    }
    assert.equal(
      (await f.req('POST', '/v1/webhooks', { url: rx.url('/ok'), chain: 'nope' })).json().code,
      'ERR_NOT_FOUND',
    );
    assert.equal((await f.req('POST', '/v1/webhooks', { url: rx.url('/ok') }, f.reader)).statusCode, 403);
    assert.equal((await f.req('GET', '/v1/webhooks', undefined, f.agent)).statusCode, 403);
    const chain = await f.createChain();
    const r = await f.req('POST', '/v1/webhooks', { url: rx.url('/ok'), chain, events: ['element.revoked'] });
    assert.equal(r.statusCode, 201);
    const w = r.json();
    assert.deepEqual(
      { ...w, id: undefined, createdAt: undefined },
      {
        id: undefined,
        url: rx.url('/ok'),
        chain,
        events: ['element.revoked'],
        createdAt: undefined,
      },
    );
    assert.deepEqual((await f.req('GET', '/v1/webhooks')).json(), { webhooks: [w] });
    assert.equal((await f.req('DELETE', `/v1/webhooks/${w.id}`)).statusCode, 204);
    assert.equal((await f.req('DELETE', `/v1/webhooks/${w.id}`)).json().code, 'ERR_NOT_FOUND');
    assert.deepEqual((await f.req('GET', '/v1/webhooks')).json(), { webhooks: [] });
    const actions = (await f.store.listAudit({ limit: 10_000 })).map((a) => a.action);
    assert.deepEqual(
      actions.filter((a) => a.startsWith('webhook.')),
      ['webhook.create', 'webhook.delete'],
    );
  });

  test('matching events are delivered as a JWS verifiable with the manager JWKS, with idempotency key and event type', async () => {
    const chainX = await f.createChain();
    const all = (await f.req('POST', '/v1/webhooks', { url: rx.url('/ok'), events: ['chain.created'] })).json();
    const onX = (await f.req('POST', '/v1/webhooks', { url: rx.url('/ok'), chain: chainX })).json();
    const before = rx.at('/ok').length;
    const chainY = await f.createChain(); // chain.created of Y: `all` only (onX is for chain X)
    assert.equal((await f.req('DELETE', `/v1/chains/${chainX}`)).statusCode, 204); // chain.deleted of X: onX only
    await waitFor('two deliveries', () => rx.at('/ok').length === before + 2);
    const jwksJson = (await f.req('GET', '/.well-known/jwks.json', undefined, null)).json<JSONWebKeySet>();
    const jwks = createLocalJWKSet(jwksJson);

    const got = [];
    for (const m of rx.at('/ok').slice(before)) {
      assert.equal(m.headers['content-type'], 'application/jose');
      const header = decodeProtectedHeader(m.body);
      assert.equal(header.alg, 'ES256');
      assert.equal(header.kid, jwksJson.keys[0].kid, 'signed with the manager key named in its JWKS');
      const { payload } = await compactVerify(m.body, jwks);
      const ev = JSON.parse(new TextDecoder().decode(payload)) as Record<string, string>;
      assert.equal(m.headers['idempotency-key'], `webhook:${ev.webhook}:${ev.eventId}`);
      assert.equal(m.headers['catena-event'], ev.type);
      assert.match(ev.at, /^\d{4}-\d\d-\d\dT/);
      got.push([ev.webhook, ev.type, ev.chain]);
    }
    assert.deepEqual(
      got.sort(),
      [
        [all.id, 'chain.created', chainY],
        [onX.id, 'chain.deleted', chainX],
      ].sort(),
    );
    await waitFor('the jobs done', async () => (await deliveries()).filter((j) => j.state === 'done').length === 2);
    const metrics = await f.app.metricsText();
    assert.match(metrics, /catena_webhook_deliveries_total\{outcome="delivered"\} 2\n/);
    assert.match(metrics, /catena_jobs\{state="done"\} 2\n/);
    const audit = await f.store.listAudit({ limit: 10_000 });
    assert.equal(audit.filter((a) => a.action === 'job.done').length, 2);
    assert.equal(verifyAuditLog(audit, [], () => true).ok, true);
    await deleteAll();
  });

  test('a failing receiver (and a redirect, not followed) ends in the dead letters; retry re-queues', async () => {
    const failing = (await f.req('POST', '/v1/webhooks', { url: rx.url('/fail'), events: ['chain.created'] })).json();
    const redirect = (
      await f.req('POST', '/v1/webhooks', { url: rx.url('/redirect'), events: ['chain.created'] })
    ).json();
    const okBefore = rx.at('/ok').length;
    const chain = await f.createChain();
    const dead = async () =>
      (await f.req('GET', '/v1/webhooks/dead-letters')).json().deadLetters as Record<string, unknown>[];
    await waitFor('two dead letters', async () => (await dead()).length === 2);
    const letters = await dead();
    assert.deepEqual(
      letters.map((d) => [d.webhook, d.attempts, (d.event as { type: string; chain: string }).type]).sort(),
      [
        [failing.id, 2, 'chain.created'],
        [redirect.id, 2, 'chain.created'],
      ].sort(),
    );
    const failed = letters.find((d) => d.webhook === failing.id)!;
    assert.match(String(failed.lastError), /answered 500/);
    assert.match(String(letters.find((d) => d.webhook === redirect.id)!.lastError), /answered 302/);
    assert.equal((failed.event as { chain: string }).chain, chain);
    assert.equal(rx.at('/ok').length, okBefore, 'the redirect was not followed');
    // Both attempts carried the same idempotency key.
    const keys = new Set(rx.at('/fail').map((m) => m.headers['idempotency-key']));
    assert.equal(rx.at('/fail').length, 2);
    assert.equal(keys.size, 1);
    const metrics = await f.app.metricsText();
    assert.match(metrics, /catena_webhook_deliveries_total\{outcome="failed"\} 4\n/);
    assert.match(metrics, /catena_webhook_deliveries_total\{outcome="dead"\} 2\n/);
    assert.match(metrics, /catena_jobs\{state="dead"\} 2\n/);
    assert.equal(new WebhookDeliveryError('x').code, 'ERR_WEBHOOK_DELIVERY');

    // The receiver is fixed: a retry delivers the dead letter.
    rx.failing = false;
    const r = await f.req('POST', `/v1/webhooks/dead-letters/${String(failed.id)}/retry`);
    assert.equal(r.statusCode, 202);
    assert.equal(r.json().state, 'pending');
    await waitFor('the retried delivery', async () => (await f.store.getJob(String(failed.id)))?.state === 'done');
    assert.equal(rx.at('/fail').length, 3);
    assert.deepEqual(
      (await dead()).map((d) => d.webhook),
      [redirect.id],
    );
    assert.equal(
      (await f.req('POST', `/v1/webhooks/dead-letters/${String(failed.id)}/retry`)).json().code,
      'ERR_CONFLICT',
    );
    assert.equal((await f.req('POST', '/v1/webhooks/dead-letters/nope/retry')).json().code, 'ERR_NOT_FOUND');
    assert.equal((await f.req('GET', '/v1/webhooks/dead-letters', undefined, f.reader)).statusCode, 403);
    await deleteAll();
  });

  test('a hanging receiver neither delays the caller nor another webhook’s delivery', async () => {
    const hang = (await f.req('POST', '/v1/webhooks', { url: rx.url('/hang'), events: ['chain.created'] })).json();
    const ok = (await f.req('POST', '/v1/webhooks', { url: rx.url('/ok'), events: ['chain.created'] })).json();
    // The caller's request completes although one receiver never answers (fanout only enqueues).
    const chain = await f.createChain();
    await waitFor('the hanging delivery to be in flight', () => rx.hanging.length === 1);
    const jobs = async () => (await deliveries()).filter((j) => j.chainId === chain);
    await waitFor('the other delivery done', async () =>
      (await jobs()).some((j) => (j.payload as { webhook: string }).webhook === ok.id && j.state === 'done'),
    );
    const hung = (await jobs()).find((j) => (j.payload as { webhook: string }).webhook === hang.id)!;
    assert.equal(hung.state, 'running', 'still waiting on the hanging receiver');
    assert.equal(rx.hanging.length, 1);
    await deleteAll();
  });
});
