import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createHttpApp, HttpError, parseJsonStrict, type Principal } from '../../../src/http/index.ts';

type Res = { statusCode: number; headers: Record<string, unknown>; body: string; json(): any };
function problem(r: Res, status: number, code: string): any {
  assert.equal(r.statusCode, status, `expected ${status} ${code}, got ${r.statusCode} ${r.body}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const p = r.json();
  assert.equal(p.status, status);
  assert.equal(p.code, code);
  return p;
}

/** A small app on the shared plumbing: tokens "r", "g", "a" are a reader, an agent and an admin. */
function app(
  o: { failures?: { max: number; windowMs: number }; writes?: { max: number; windowMs: number }; limits?: object } = {},
): FastifyInstance {
  const who: Record<string, Principal> = {
    r: { id: 'r', role: 'reader' },
    g: { id: 'g', role: 'agent' },
    a: { id: 'a', role: 'admin' },
  };
  const a = createHttpApp({
    service: 'test',
    ...(o.limits ? { limits: o.limits } : {}),
    auth: {
      async authenticate(req) {
        const h = req.headers.authorization;
        if (h === undefined) return null;
        const p = who[h.replace(/^Bearer /, '')];
        if (!p) throw new HttpError(401, 'ERR_UNAUTHENTICATED', 'unknown token');
        return p;
      },
      ...(o.failures ? { failures: o.failures } : {}),
      ...(o.writes ? { writes: o.writes } : {}),
    },
  });
  a.get('/open', { config: { auth: 'public' } }, async () => ({ ok: true }));
  a.get('/v1/read', { config: { auth: 'reader' } }, async (req) => ({ who: req.principal!.id }));
  a.post('/v1/write', { config: { auth: 'admin' } }, async (req) => ({ body: req.body }));
  a.post('/v1/agent', { config: { auth: 'agent' } }, async () => ({ ok: true }));
  a.get('/boom', { config: { auth: 'public' } }, async () => {
    throw new TypeError('a bug');
  });
  return a;
}
const get = (a: FastifyInstance, url: string, token?: string) =>
  a.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} }) as Promise<Res>;

test('a route without an authorization declaration makes the app fail to build (deny by default)', async () => {
  const a = createHttpApp({ service: 'test' });
  assert.throws(() => a.get('/undeclared', async () => ({})), /declares no authorization/);
  assert.throws(
    () => a.get('/wrong', { config: { auth: 'everyone' as 'public' } }, async () => ({})),
    /declares no authorization/,
  );
  await a.close();
});

test('authorization is decided on the matched route: roles rank reader < agent < admin; encoded spellings match the same route', async () => {
  const a = app();
  problem(await get(a, '/v1/read'), 401, 'ERR_UNAUTHENTICATED');
  problem(await get(a, '/%761/read'), 401, 'ERR_UNAUTHENTICATED');
  problem(await get(a, '/v%31/read'), 401, 'ERR_UNAUTHENTICATED');
  assert.equal((await get(a, '/v1/read', 'r')).json().who, 'r');
  problem(
    await a.inject({ method: 'POST', url: '/v1/write', headers: { authorization: 'Bearer r' }, payload: {} }),
    403,
    'ERR_FORBIDDEN',
  );
  problem(
    await a.inject({ method: 'POST', url: '/v1/agent', headers: { authorization: 'Bearer r' }, payload: {} }),
    403,
    'ERR_FORBIDDEN',
  );
  assert.equal(
    (await a.inject({ method: 'POST', url: '/v1/agent', headers: { authorization: 'Bearer g' }, payload: {} }))
      .statusCode,
    200,
  );
  assert.equal(
    (
      await a.inject({ method: 'POST', url: '/v1/write', headers: { authorization: 'Bearer a' }, payload: { x: 1 } })
    ).json().body.x,
    1,
  );
  assert.equal((await get(a, '/open')).statusCode, 200);
  await a.close();
});

test('request targets: encoded /, \\, . and NUL are 400 ERR_REQUEST_TARGET before routing; too long is 414 ERR_URI_TOO_LONG', async () => {
  const a = app({ limits: { maxUrlLength: 100 } });
  for (const u of ['/v1%2fread', '/v1%2Fread', '/v1/%2e%2e%2fread', '/v1%5cread', '/v1/read%00', '/open%2E'])
    problem(await get(a, u, 'a'), 400, 'ERR_REQUEST_TARGET');
  problem(await get(a, `/open?${'x'.repeat(200)}`), 414, 'ERR_URI_TOO_LONG');
  await a.close();
});

test('unknown paths 404, other methods 405 with Allow, non-JSON bodies 415, bad JSON 400, a 5xx hides its cause', async () => {
  const a = app();
  problem(await get(a, '/nothing'), 404, 'ERR_NOT_FOUND');
  const m = (await a.inject({ method: 'DELETE', url: '/v1/write' })) as Res;
  problem(m, 405, 'ERR_METHOD_NOT_ALLOWED');
  assert.equal(m.headers.allow, 'POST');
  problem(
    await a.inject({
      method: 'POST',
      url: '/v1/write',
      headers: { authorization: 'Bearer a', 'content-type': 'text/plain' },
      payload: 'hi',
    }),
    415,
    'ERR_UNSUPPORTED_MEDIA_TYPE',
  );
  problem(
    await a.inject({
      method: 'POST',
      url: '/v1/write',
      headers: { authorization: 'Bearer a', 'content-type': 'application/json' },
      payload: '{"a":',
    }),
    400,
    'ERR_MALFORMED',
  );
  problem(
    await a.inject({
      method: 'POST',
      url: '/v1/write',
      headers: { authorization: 'Bearer a', 'content-type': 'application/json' },
      payload: '{"__proto__":{"x":1}}',
    }),
    400,
    'ERR_MALFORMED',
  );
  const boom = problem(await get(a, '/boom'), 500, 'ERR_INTERNAL');
  assert.doesNotMatch(boom.detail, /a bug/);
  await a.close();
});

test('unsafe integers anywhere in a body are 400 ERR_UNSAFE_INTEGER; safe ones pass', async () => {
  const a = app();
  for (const payload of ['{"n":9007199254740993}', '{"a":[1,{"b":-9007199254740993}]}', '{"n":1e300}', '[1e400]']) {
    problem(
      await a.inject({
        method: 'POST',
        url: '/v1/write',
        headers: { authorization: 'Bearer a', 'content-type': 'application/json' },
        payload,
      }),
      400,
      'ERR_UNSAFE_INTEGER',
    );
  }
  const ok = await a.inject({
    method: 'POST',
    url: '/v1/write',
    headers: { authorization: 'Bearer a', 'content-type': 'application/json' },
    payload: '{"n":9007199254740991,"f":0.5}',
  });
  assert.deepEqual(ok.json().body, { n: 9007199254740991, f: 0.5 });
  assert.throws(
    () => parseJsonStrict('{"n":-9007199254740992}'),
    (e: HttpError) => e.code === 'ERR_UNSAFE_INTEGER',
  );
  await a.close();
});

test('failed authentications per client address and writes per principal are limited: 429 ERR_RATE_LIMITED with Retry-After', async () => {
  const a = app({ failures: { max: 3, windowMs: 60_000 }, writes: { max: 2, windowMs: 60_000 } });
  for (let i = 0; i < 3; i++) problem(await get(a, '/v1/read', 'forged'), 401, 'ERR_UNAUTHENTICATED');
  const limited = await get(a, '/v1/read', 'forged');
  problem(limited, 429, 'ERR_RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  // The address is blocked for authentication until the window ends, even with a good token.
  problem(await get(a, '/v1/read', 'r'), 429, 'ERR_RATE_LIMITED');
  // Writes: counted per principal, from another address.
  const w = () =>
    a.inject({
      method: 'POST',
      url: '/v1/write',
      remoteAddress: '10.0.0.9',
      headers: { authorization: 'Bearer a' },
      payload: {},
    }) as Promise<Res>;
  assert.equal((await w()).statusCode, 200);
  assert.equal((await w()).statusCode, 200);
  const third = await w();
  problem(third, 429, 'ERR_RATE_LIMITED');
  assert.ok(Number(third.headers['retry-after']) >= 1);
  // Reads are not writes.
  assert.equal(
    (
      await a.inject({
        method: 'GET',
        url: '/v1/read',
        remoteAddress: '10.0.0.9',
        headers: { authorization: 'Bearer a' },
      })
    ).statusCode,
    200,
  );
  await a.close();
});

/** One raw request on a real socket: what Node's parser refuses never reaches fastify. */
function raw(port: number, lines: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ connect }) => {
      const s = connect(port, '127.0.0.1', () => s.write(lines));
      let text = '';
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('end', () => {
        const [head, body = ''] = text.split('\r\n\r\n');
        resolve({
          status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]),
          type: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '',
          body,
        });
      });
      s.on('error', reject);
    }, reject);
  });
}

test('on a real socket: an absolute-form target is 400 ERR_REQUEST_TARGET, oversized headers 431 ERR_HEADERS_TOO_LARGE, server limits applied', async () => {
  const a = app({
    limits: {
      headersTimeoutMs: 4000,
      requestTimeoutMs: 9000,
      keepAliveTimeoutMs: 1500,
      maxConnections: 77,
      maxRequestsPerSocket: 5,
    },
  });
  await a.listen({ host: '127.0.0.1', port: 0 });
  try {
    assert.equal(a.server.headersTimeout, 4000);
    assert.equal(a.server.requestTimeout, 9000);
    assert.equal(a.server.keepAliveTimeout, 1500);
    assert.equal(a.server.maxConnections, 77);
    assert.equal(a.server.maxRequestsPerSocket, 5);
    const port = (a.server.address() as { port: number }).port;
    const abs = await raw(port, 'GET http://anything/v1/read HTTP/1.1\r\nHost: anything\r\nConnection: close\r\n\r\n');
    assert.equal(abs.status, 400);
    assert.match(abs.type, /^application\/problem\+json/);
    assert.equal(JSON.parse(abs.body).code, 'ERR_REQUEST_TARGET');
    const big = await raw(
      port,
      `GET /open HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(big.status, 431);
    assert.match(big.type, /^application\/problem\+json/);
    assert.equal(JSON.parse(big.body).code, 'ERR_HEADERS_TOO_LARGE');
  } finally {
    await a.close();
  }
});

test("Node's parser refusals are answered as problem+json: a request timeout is 408 ERR_REQUEST_TIMEOUT, garbage 400 ERR_MALFORMED", async () => {
  const { clientErrorHandler } = await import('../../../src/http/index.ts');
  const answer = (code: string) => {
    let written = '';
    const socket = { writable: true, end: (s: string) => (written = s), destroy: () => assert.fail('destroyed') };
    clientErrorHandler(Object.assign(new Error('x'), { code }), socket as never);
    const [head, body] = written.split('\r\n\r\n');
    assert.match(head, /content-type: application\/problem\+json/i);
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), code: JSON.parse(body).code };
  };
  assert.deepEqual(answer('ERR_HTTP_REQUEST_TIMEOUT'), { status: 408, code: 'ERR_REQUEST_TIMEOUT' });
  assert.deepEqual(answer('HPE_INVALID_METHOD'), { status: 400, code: 'ERR_MALFORMED' });
  assert.deepEqual(answer('HPE_HEADER_OVERFLOW'), { status: 431, code: 'ERR_HEADERS_TOO_LARGE' });
});
