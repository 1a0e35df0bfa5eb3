import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as x509 from '@peculiar/x509';
import { hex } from '../../../src/bytes/util.ts';
import { createToken } from '../../../src/server/tokens.ts';
import { ManagerFixture } from './fixture.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
async function selfSigned(namedCurve: 'P-256' | 'P-384', ca: boolean): Promise<Uint8Array> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, false, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=test',
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2035-01-01T00:00:00Z'),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.BasicConstraintsExtension(ca, undefined, true)],
  });
  return new Uint8Array(cert.rawData);
}

function problem(
  r: { statusCode: number; headers: Record<string, unknown>; json(): any; body: string },
  status: number,
  code: string,
): any {
  assert.equal(r.statusCode, status, `expected ${status} ${code}, got ${r.statusCode} ${r.body}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.equal(r.json().code, code);
  return r.json();
}

describe('manager hardening', () => {
  let f: ManagerFixture;
  let now = new Date('2026-06-01T00:00:00Z');
  before(async () => {
    f = await ManagerFixture.create({ clock: () => now });
  });
  after(() => f.close());

  test('reader tokens read and never write; expired and revoked tokens are refused at once', async () => {
    assert.equal((await f.req('GET', '/v1/chains', undefined, f.reader)).statusCode, 200);
    assert.equal((await f.req('GET', '/v1/auth/whoami', undefined, f.reader)).json().role, 'reader');
    problem(
      await f.req('POST', '/v1/chains', { name: 'r', root: hex(f.world.root), emulatedRoot: true }, f.reader),
      403,
      'ERR_FORBIDDEN',
    );
    problem(await f.req('POST', '/v1/chains/x/challenge', {}, f.reader), 403, 'ERR_FORBIDDEN');
    const t = await createToken(f.store, 'reader', 'test', { ttlMs: 60_000, now });
    assert.equal((await f.req('GET', '/v1/chains', undefined, t.token)).statusCode, 200);
    now = new Date(now.getTime() + 61_000);
    problem(await f.req('GET', '/v1/chains', undefined, t.token), 401, 'ERR_UNAUTHENTICATED');
    const created = await f.req('POST', '/v1/tokens', { role: 'reader', ttl: '1d' });
    assert.equal(created.statusCode, 201, created.body);
    const { id, token, expiresAt } = created.json();
    assert.equal(expiresAt, new Date(now.getTime() + 86_400_000).toISOString());
    assert.equal((await f.req('GET', '/v1/chains', undefined, token)).statusCode, 200);
    assert.equal((await f.req('DELETE', `/v1/tokens/${id}`)).statusCode, 204);
    problem(await f.req('GET', '/v1/chains', undefined, token), 401, 'ERR_UNAUTHENTICATED');
    const listed = (await f.req('GET', '/v1/tokens')).json().tokens;
    assert.ok(listed.some((x: { id: string; revokedAt: string | null }) => x.id === id && x.revokedAt));
    assert.ok(!JSON.stringify(listed).includes('hash'));
    // Only admin tokens may never expire.
    problem(await f.req('POST', '/v1/tokens', { role: 'agent', ttl: 'never' }), 400, 'ERR_MALFORMED');
    assert.equal((await f.req('POST', '/v1/tokens', { role: 'admin', ttl: 'never' })).json().expiresAt, null);
  });

  test('a chain root must be an X.509 CA certificate with a P-256 key (ERR_BAD_ROOT); odd-length hex is ERR_MALFORMED', async () => {
    problem(await f.req('POST', '/v1/chains', { name: 'e', root: '', emulatedRoot: true }), 400, 'ERR_BAD_ROOT');
    problem(
      await f.req('POST', '/v1/chains', { name: 'e', root: '3082'.repeat(60), emulatedRoot: true }),
      400,
      'ERR_BAD_ROOT',
    );
    problem(await f.req('POST', '/v1/chains', { name: 'e', root: 'abc', emulatedRoot: true }), 400, 'ERR_MALFORMED');
    // Certificates that parse, refused for what they are: a P-256 leaf (not a CA), a P-384 CA.
    const leaf = await selfSigned('P-256', false);
    assert.match(
      problem(
        await f.req('POST', '/v1/chains', { name: 'e', root: hex(leaf), emulatedRoot: true }),
        400,
        'ERR_BAD_ROOT',
      ).detail,
      /not a CA/,
    );
    const p384 = await selfSigned('P-384', true);
    assert.match(
      problem(
        await f.req('POST', '/v1/chains', { name: 'e', root: hex(p384), emulatedRoot: true }),
        400,
        'ERR_BAD_ROOT',
      ).detail,
      /not P-256/,
    );
    // The PCK CA is a P-256 CA: accepted as a root (whether it anchors anything is the chain's business).
    assert.equal(
      (
        await f.req('POST', '/v1/chains', {
          name: 'pck-ca',
          root: hex(f.world.manufacturer.pckIssuerChain('processor')[0]),
          emulatedRoot: true,
        })
      ).statusCode,
      201,
    );
    assert.equal(
      (await f.req('POST', '/v1/chains', { name: 'ok', root: hex(f.world.root), emulatedRoot: true })).statusCode,
      201,
    );
  });

  test('hostile bodies: unsafe integers, odd-length quote hex, unknown policy keys are 4xx problem+json', async () => {
    const id = await f.createChain();
    const r = await f.app.inject({
      method: 'PUT',
      url: `/v1/chains/${id}/policy`,
      headers: { authorization: `Bearer ${f.admin}`, 'content-type': 'application/json' },
      payload: '{"evidenceMaxAgeSeconds":9007199254740993}',
    });
    problem(r, 400, 'ERR_UNSAFE_INTEGER');
    problem(await f.req('PUT', `/v1/chains/${id}/policy`, { byDepth: { x: {} } }), 400, 'ERR_MALFORMED');
    problem(
      await f.req('PUT', `/v1/chains/${id}/policy`, { byDepth: { '1': { nonsense: true } } }),
      400,
      'ERR_MALFORMED',
    );
    const e = await f.load(0);
    const { link, collateral } = await f.firstLink(id, e);
    const odd = { ...link, evidence: { ...link.evidence, quote: 'abc' } };
    problem(await f.req('POST', `/v1/chains/${id}/elements`, { link: odd, collateral }), 400, 'ERR_MALFORMED');
  });

  test('agents are who their token says; agent URLs are https on an allowed host (ERR_AGENT_URL)', async () => {
    const reg = (body: object, token: string) =>
      f.req('POST', '/v1/agents', { cloud: 'c', platforms: [], ...body }, token);
    const bound = (await createToken(f.store, 'agent', 'test', { agentId: 'agent-b' })).token;
    problem(await reg({ id: 'agent-other', url: 'https://127.0.0.1:9' }, bound), 403, 'ERR_FORBIDDEN');
    assert.equal((await reg({ id: 'agent-b', url: 'https://127.0.0.1:9' }, bound)).statusCode, 201);
    // Same agent, same URL: fine (a restart); another URL needs admin.
    assert.equal((await reg({ id: 'agent-b', url: 'https://127.0.0.1:9' }, bound)).statusCode, 200);
    problem(await reg({ id: 'agent-b', url: 'https://127.0.0.1:10' }, bound), 403, 'ERR_FORBIDDEN');
    assert.equal((await reg({ id: 'agent-b', url: 'https://127.0.0.1:10' }, f.admin)).statusCode, 200);
    // An unbound agent token is bound to the first id it registers.
    const free = (await createToken(f.store, 'agent', 'test')).token;
    assert.equal((await reg({ id: 'agent-c', url: 'https://localhost:9' }, free)).statusCode, 201);
    problem(await reg({ id: 'agent-d', url: 'https://localhost:9' }, free), 403, 'ERR_FORBIDDEN');
    assert.equal((await f.req('GET', '/v1/auth/whoami', undefined, free)).json().agentId, 'agent-c');
    // Nor can it take over another agent's registration.
    problem(await reg({ id: 'agent-b', url: 'https://127.0.0.1:10' }, free), 403, 'ERR_FORBIDDEN');
    for (const url of [
      'http://127.0.0.1:9',
      'https://example.com:9',
      'https://10.0.0.1',
      'https://u:p@127.0.0.1:9',
      'https://127.0.0.1:9/x?y',
    ]) {
      problem(
        await reg({ id: 'agent-b', url }, f.admin),
        400,
        url.startsWith('http:') ? 'ERR_MALFORMED' : 'ERR_AGENT_URL',
      );
    }
  });

  test('agent hosts are configurable: *.suffix and exact names', async () => {
    const g = await ManagerFixture.create({ agentHosts: ['*.agents.example', 'a.example'] });
    try {
      const reg = (id: string, url: string) => g.req('POST', '/v1/agents', { id, cloud: 'c', url, platforms: [] });
      assert.equal((await reg('x1', 'https://x.agents.example:443')).statusCode, 201);
      assert.equal((await reg('x2', 'https://a.example')).statusCode, 201);
      problem(await reg('x3', 'https://127.0.0.1:9'), 400, 'ERR_AGENT_URL');
      problem(await reg('x4', 'https://agents.example.evil'), 400, 'ERR_AGENT_URL');
    } finally {
      await g.close();
    }
  });

  test('/readyz says ready or not, nothing more', async () => {
    assert.deepEqual((await f.req('GET', '/readyz', undefined, null)).json(), { ready: true });
  });
});

test('a closed store: API calls are 503 ERR_UNAVAILABLE and /readyz says not ready, without the reason', async () => {
  const g = await ManagerFixture.create();
  try {
    await g.store.close();
    const r = await g.req('GET', '/v1/chains/x');
    assert.equal(r.statusCode, 503, r.body);
    assert.equal(r.json().code, 'ERR_UNAVAILABLE');
    const ready = await g.req('GET', '/readyz', undefined, null);
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json(), { ready: false });
  } finally {
    await g.app.close();
    await g.world.close();
    await rm(g.dir, { recursive: true, force: true });
  }
});
