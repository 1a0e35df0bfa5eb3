import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagerFixture } from './fixture.ts';

/** /ui/: the built dashboard, public, every answer with the strict CSP and X-Frame-Options DENY. */
let f: ManagerFixture;
const root = mkdtempSync(join(tmpdir(), 'catena-ui-'));
before(async () => {
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>ui</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'export {};');
  f = await ManagerFixture.create({ uiRoot: root });
});
after(async () => {
  await f.close();
  rmSync(root, { recursive: true, force: true });
});

const strict = (h: Record<string, unknown>) => {
  const csp = String(h['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(h['x-frame-options'], 'DENY');
};

test('GET /ui/ without a token: the app, with a strict CSP and X-Frame-Options DENY', async () => {
  const r = await f.req('GET', '/ui/', undefined, null);
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /<title>ui<\/title>/);
  strict(r.headers);
});

test('assets are served from the root; a view path answers the app; /ui redirects to /ui/', async () => {
  const a = await f.req('GET', '/ui/assets/app.js', undefined, null);
  assert.equal(a.statusCode, 200);
  assert.equal(a.body, 'export {};');
  strict(a.headers);
  const v = await f.req('GET', '/ui/chains/x', undefined, null);
  assert.equal(v.statusCode, 200);
  assert.match(v.body, /<title>ui<\/title>/);
  const red = await f.req('GET', '/ui', undefined, null);
  assert.equal(red.statusCode, 302);
  assert.equal(red.headers.location, '/ui/');
});

test('nothing outside the root, and a missing asset is 404', async () => {
  assert.equal((await f.req('GET', '/ui/assets/none.js', undefined, null)).statusCode, 404);
  const t = await f.req('GET', '/ui/..%2f..%2fetc%2fpasswd.txt', undefined, null);
  assert.ok([400, 403, 404].includes(t.statusCode), `${t.statusCode}`);
  assert.doesNotMatch(t.body, /root:/);
});

test('the API stays token-guarded: GET /v1/chains without a token is 401', async () => {
  assert.equal((await f.req('GET', '/v1/chains', undefined, null)).statusCode, 401);
});
