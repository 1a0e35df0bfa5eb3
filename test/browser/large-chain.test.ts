import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ManagerFixture } from '../unit/server/fixture.ts';

/**
 * A 10,000-element chain in the dashboard: the table lists every element and the graph groups them by
 * platform. The chain's API answers are synthetic (page.route) — the thing measured is the page's first
 * render, not the appends; the time is written to test-results/large-chain.json for docs/benchmarks.md,
 * never asserted.
 */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = join(process.cwd(), 'test-results');
const N = 10_000;
const PLATFORMS = 20;
const CLOUDS = ['cloud-a', 'cloud-b', 'cloud-c'];

let f: ManagerFixture;
let url: string;
let browser: Browser;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);
  mkdirSync(OUT, { recursive: true });
  f = await ManagerFixture.create();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(async () => {
  await browser?.close();
  await f?.close();
});

function synthetic() {
  const id = (i: number) => `e-${i.toString(16).padStart(24, '0')}`;
  const platform = (i: number) => `p${(i % PLATFORMS).toString(16).padStart(31, '0')}`;
  const elements = Array.from({ length: N }, (_, i) => {
    const parent = i === 0 ? null : Math.floor((i - 1) / 2);
    return {
      id: id(i),
      seq: i + 1,
      parent: parent === null ? null : id(parent),
      status: i % 997 === 5 ? 'revoked' : 'active',
      linkType: parent === null || platform(parent) !== platform(i) ? 'remote' : 'local',
      element: {
        id: id(i),
        kind: 'enclave',
        parent: parent === null ? null : id(parent),
        platform: platform(i),
        cloud: CLOUDS[(i % PLATFORMS) % CLOUDS.length],
      },
      createdAt: new Date().toISOString(),
    };
  });
  return elements;
}

test('a 10,000-element chain: every row in the table, the graph grouped by platform; first render recorded', async () => {
  const elements = synthetic();
  const chain = { id: 'big', name: 'big', createdAt: new Date().toISOString(), emulatedRoot: true };
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  // The answers are serialised once, before the clock starts: the synthetic API's own cost is not the page's.
  const json = (body: unknown) => {
    const text = JSON.stringify(body);
    return () => ({ status: 200, contentType: 'application/json', body: text });
  };
  const chains = json({ chains: [chain], next: null });
  const list = json({ elements });
  const verify = json({
    valid: false,
    size: N,
    links: { local: 0, remote: 0 },
    failures: [],
    elements: {},
    statuses: {},
  });
  await page.route(/\/v1\/chains(\?|$)/, (r) => r.fulfill(chains()));
  await page.route(/\/v1\/chains\/big\/elements/, (r) => r.fulfill(list()));
  await page.route(/\/v1\/chains\/big\/verify/, (r) => r.fulfill(verify()));
  const t0 = Date.now();
  await page.goto(`${url}/ui/#token=${f.reader}`);
  // First render: the graph and the first rows of the table; then every row (drawn in chunks).
  await page.waitForFunction(
    () =>
      document.querySelectorAll('tr[data-element-id]').length > 0 &&
      document.querySelector('.graph')?.getAttribute('data-element-nodes') !== null,
    undefined,
    { timeout: 120_000 },
  );
  const firstRenderMs = Date.now() - t0;
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length === n, N, {
    timeout: 120_000,
  });
  const allRowsMs = Date.now() - t0;
  const graphMs = Number(await page.locator('.graph').getAttribute('data-render-ms'));
  // Where the time went: the app's marks (web/src/marks.ts), ms since navigation start.
  // The API answers' timing (requestStart → responseEnd) tells the transfer from the page's own work.
  const marks = await page.evaluate(() => ({
    ...Object.fromEntries(
      performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('catena:'))
        .map((m) => [m.name.slice(7), Math.round(m.startTime)]),
    ),
    ...Object.fromEntries(
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((r) => /\/v1\/(auth|chains)/.test(r.name))
        .map((r) => [
          new URL(r.name).pathname.split('/').slice(-1)[0],
          `${Math.round(r.requestStart)}-${Math.round(r.responseEnd)}`,
        ]),
    ),
  }));
  // Grouped: no element node until a platform is expanded.
  assert.equal(await page.locator('.graph').getAttribute('data-element-nodes'), '0');
  assert.match(await page.locator('.verdict').innerText(), /platforms grouped/);
  await page.screenshot({ path: join(OUT, 'large-chain.png') });
  // Expanding a platform (its button: the keyboard's way in) draws its 500 elements in its box.
  const perPlatform = N / PLATFORMS;
  const expand = page.locator('.groups button').first();
  assert.equal(await page.locator('.groups button').count(), PLATFORMS);
  assert.match(await expand.innerText(), new RegExp(`\\(${perPlatform}\\)`));
  await expand.click();
  await page.waitForFunction(
    (n) => document.querySelector('.graph')?.getAttribute('data-element-nodes') === String(n),
    perPlatform,
  );
  assert.equal(await expand.getAttribute('aria-pressed'), 'true');
  const expandMs = Number(await page.locator('.graph').getAttribute('data-render-ms'));
  await page.screenshot({ path: join(OUT, 'large-chain-expanded.png') });
  const result = {
    elements: N,
    platforms: PLATFORMS,
    firstRenderMs,
    allRowsMs,
    graphMs,
    expandMs,
    marks,
    at: new Date().toISOString(),
  };
  writeFileSync(join(OUT, 'large-chain.json'), JSON.stringify(result, null, 1));
  process.stdout.write(`# large chain: ${JSON.stringify(result)}\n`);
  await ctx.close();
});
