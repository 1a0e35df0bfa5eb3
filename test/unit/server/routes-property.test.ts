import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { hex } from '../../../src/bytes/util.ts';
import { ManagerFixture } from './fixture.ts';

/**
 * Hostile input never gets a 5xx: generated bodies, paths and headers are sent through inject() to
 * every route the manager registered (walked from its route table), and every 4xx is problem+json
 * with a code. Responses to the few requests that succeed are checked against their schemas too
 * (the fixture's checkResponse turns a mismatch into a 500, which fails this property).
 */
let f: ManagerFixture;
let chainId: string;
before(async () => {
  // Failed authentications are many here: no 429s, so every request reaches its route's checks.
  f = await ManagerFixture.create({ rateLimits: { failures: { max: 1_000_000, windowMs: 60_000 } } });
  chainId = await f.createChain();
});
after(() => f.close());

const segment = fc.oneof(
  fc.constantFrom(
    'x',
    'e-1',
    '..',
    '.',
    '%2e',
    '%2f',
    '%00',
    '%',
    '%zz',
    '%C0%AF',
    '\u00e9',
    'a?b',
    'a#b',
    '*',
    ':id',
    '%761',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[0-9a-f]{1,80}$/),
);
/**
 * A JSON number a JS number cannot hold (±(2^53 + 1)): kept as its text, and written into the body as
 * that bare number by toJson, so the server receives exactly these digits.
 */
class RawNumber {
  constructor(readonly text: string) {}
}
/** JSON.stringify, with each RawNumber written as its bare digits. */
function toJson(v: unknown): string {
  const raw: string[] = [];
  const mark = randomUUID(); // a placeholder no generated string can equal
  const text = JSON.stringify(v, (_k, x: unknown) => (x instanceof RawNumber ? `${mark}:${raw.push(x.text) - 1}` : x));
  return text.replace(new RegExp(`"${mark}:(\\d+)"`, 'g'), (_m, n: string) => raw[Number(n)]);
}
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(
    new RawNumber('9007199254740993'),
    new RawNumber('-9007199254740993'),
    1e300,
    null,
    [],
    {},
    '',
    'ab',
    'abc',
  ),
);
function nearValid(): fc.Arbitrary<unknown> {
  const templates: Array<Record<string, unknown>> = [
    { name: 'p', root: hex(f.world.root), emulatedRoot: true, policy: {} },
    { acceptedTcbStatuses: ['UpToDate'], evidenceMaxAgeSeconds: 60, byDepth: { '1': { allowDebug: false } } },
    { id: 'agent-p', cloud: 'c', url: 'https://127.0.0.1:9', platforms: [{ index: 0, ppid: '00' }] },
    { role: 'reader', ttl: '1d' },
    { reason: 'because' },
    {
      link: {
        version: 1,
        chain: chainId,
        parent: null,
        child: 'e',
        type: 'remote',
        nonce: '00'.repeat(32),
        childKey: '11'.repeat(64),
        childIdentity: {
          mrEnclave: '22'.repeat(32),
          mrSigner: '33'.repeat(32),
          isvProdId: 1,
          isvSvn: 1,
          attributes: '00'.repeat(16),
          debug: false,
        },
        childPlatform: '44'.repeat(16),
        evidence: { kind: 'dcap-quote', quote: 'ab', collateral: '55'.repeat(32) },
        at: '2026-01-01T00:00:00Z',
        signature: '',
      },
    },
  ];
  return fc.tuple(fc.constantFrom(...templates), fc.string({ maxLength: 12 }), jsonish).map(([t, k, v]) => {
    const keys = Object.keys(t);
    const key = keys.includes(k) || k === '' ? k : keys[k.length % keys.length];
    return { ...t, [key || 'extra']: v };
  });
}

test(
  '≥ 2,000 generated requests to every registered route: no 5xx, every 4xx is problem+json with a code',
  { timeout: 300_000 },
  async () => {
    const routes = f.app.routeTable.filter((r) => r.url !== '/v1/events' && r.method !== 'HEAD');
    assert.ok(routes.length >= 25, `${routes.length} routes`);
    const seen = new Set<string>();
    const statuses = new Map<number, number>();
    const token = fc.constantFrom<string | null>(
      null,
      f.admin,
      f.agent,
      f.reader,
      'catena_admin_forged',
      '',
      'x'.repeat(600),
    );
    const request = fc.record({
      route: fc.constantFrom(...routes),
      method: fc.oneof(fc.constant(undefined), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')),
      params: fc.array(fc.oneof(segment, fc.constant(chainId)), { minLength: 2, maxLength: 2 }),
      query: fc.oneof(
        fc.constant(''),
        fc.string({ maxLength: 30 }).map((q) => `?${q}`),
        fc.constantFrom('?limit=0', '?limit=1001', '?after=%00', '?at=garbage', '?afterSeq=-1', '?limit=5&limit=6'),
      ),
      token,
      auth: fc.oneof(fc.constant(undefined), fc.constantFrom('Bearer', 'Basic abc', 'Bearer  a b', 'bearer x')),
      contentType: fc.constantFrom(
        undefined,
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'multipart/form-data',
      ),
      body: fc.oneof(
        fc.constant(undefined),
        jsonish.map((v) => toJson(v)),
        nearValid().map((v) => toJson(v)),
        fc.string({ maxLength: 200 }),
        fc.constantFrom('{"a":', '{"__proto__":{}}', '[', '\u0000', '{"n":1e999}'),
      ),
      extra: fc.dictionary(
        fc.constantFrom('x-forwarded-for', 'accept', 'content-length', 'transfer-encoding', 'x-request-id', 'host'),
        fc.string({ maxLength: 20 }),
        { maxKeys: 2 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let i = 0;
        const path = r.route.url.replace(/:[A-Za-z]+/g, () =>
          encodeURIComponent(r.params[i++] ?? 'x').replace(/%25/g, i % 2 ? '%' : '%25'),
        );
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.extra))
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'host') headers[k] = v;
        if (r.token !== null) headers.authorization = `Bearer ${r.token}`;
        if (r.auth !== undefined) headers.authorization = r.auth;
        if (r.contentType && r.body !== undefined) headers['content-type'] = r.contentType;
        const method = (r.method ?? r.route.method) as 'GET';
        const res = await f.app.inject({
          method,
          url: path + r.query,
          headers,
          ...(r.body !== undefined && method !== 'GET' ? { payload: r.body } : {}),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        seen.add(`${r.route.method} ${r.route.url}`);
        assert.ok(res.statusCode < 500, `${method} ${path}${r.query} → ${res.statusCode} ${res.body.slice(0, 300)}`);
        if (res.statusCode >= 400) {
          assert.match(
            String(res.headers['content-type']),
            /^application\/problem\+json/,
            `${method} ${path}: ${res.statusCode} ${String(res.headers['content-type'])}`,
          );
          const p = res.json<{ code?: unknown; status?: unknown }>();
          assert.equal(typeof p.code, 'string');
          assert.equal(p.status, res.statusCode);
        }
      }),
      { numRuns: 2500, seed: 20261203 },
    );
    // Every route was reached, and the run was not all 401s.
    assert.equal(
      seen.size,
      routes.length,
      `routes never generated: ${routes
        .filter((r) => !seen.has(`${r.method} ${r.url}`))
        .map((r) => r.url)
        .join(', ')}`,
    );
    assert.ok([...statuses.keys()].filter((s) => s >= 400).length >= 5, JSON.stringify([...statuses]));
    assert.ok(
      [...statuses.keys()].some((s) => s < 300),
      JSON.stringify([...statuses]),
    );
  },
);
