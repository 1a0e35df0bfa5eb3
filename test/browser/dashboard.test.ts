import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { ManagerFixture, elementId } from '../unit/server/fixture.ts';
import { listenUrl } from '../../src/server/net.ts';
import { buildPcsServer } from '../../src/sgx/manufacturer/pcs-server.ts';
import { defaultUiRoot } from '../../src/server/routes/ui.ts';
import { DEFAULT_FMSPC } from '../../src/sgx/platform.ts';
import { hex } from '../../src/bytes/util.ts';

/**
 * The dashboard in Debian's Chromium (playwright-core over CDP), against an in-process manager with a
 * built chain (2 platforms, local and remote links). Needs the built app (npm run build → dist/web) and
 * /usr/bin/chromium (CHROMIUM overrides): missing either is a failure, never a skip.
 */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = join(process.cwd(), 'test-results');
const POLICY = { acceptedTcbStatuses: ['UpToDate'] };

let f: ManagerFixture;
let url: string;
let chainId: string;
let browser: Browser;
let pcs: FastifyInstance | undefined;
const ids: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);
  assert.ok(defaultUiRoot(), 'the dashboard is not built (npm run build writes dist/web)');
  mkdirSync(OUT, { recursive: true });
  f = await ManagerFixture.create();
  // The manager watches the emulated PCS of its world (self-management; rounds run by the test).
  pcs = buildPcsServer({ manufacturer: f.world.manufacturer });
  await f.restart({ pcsUrl: await listenUrl(pcs, '127.0.0.1', 0), watchIntervalMs: 0 });
  chainId = await f.createChain(POLICY);
  const [e1, e2, e3, e4] = [await f.load(0), await f.load(0), await f.load(1), await f.load(1)];
  const append = async (body: object, cloud: string) => {
    const r = await f.req('POST', `/v1/chains/${chainId}/elements`, { ...body, cloud });
    assert.equal(r.statusCode, 201, r.body);
  };
  await append(await f.firstLink(chainId, e1), 'cloud-a');
  await append(await f.localLink(chainId, elementId(e1), e1, e2, POLICY, 2), 'cloud-a');
  await append(await f.remoteLink(chainId, elementId(e1), e1, e3, POLICY, 2), 'cloud-b');
  await append(await f.localLink(chainId, elementId(e3), e3, e4, POLICY, 3), 'cloud-b');
  const listed = (await f.req('GET', `/v1/chains/${chainId}/elements`, undefined, f.reader)).json();
  ids.push(...(listed.elements as { id: string }[]).map((e) => e.id));
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
  await pcs?.close();
});

/** A fresh context (own sessionStorage), with console errors and page errors collected. */
async function open(): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { ctx, page, errors };
}

async function seriousViolations(page: Page): Promise<string[]> {
  // Runtime evaluation over CDP is not subject to the page's CSP (which forbids injected scripts).
  await page.evaluate(axe.source);
  const r = await page.evaluate(async () => {
    const w = window as unknown as { axe: typeof axe };
    return (await w.axe.run(document)).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return r.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes})`);
}

const rows = (page: Page) => page.locator('tr[data-element-id]');

test('the link signs in: the token leaves the address bar, rows and graph nodes equal the API elements, keyboard, live revocation, views, no console error, no serious axe violation', async () => {
  const { ctx, page, errors } = await open();
  await page.goto(`${url}/ui/#token=${f.reader}`);
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length === n, ids.length);
  assert.equal(await rows(page).count(), ids.length);
  assert.deepEqual(
    (await rows(page).evaluateAll((trs) => trs.map((t) => t.getAttribute('data-element-id')))).sort(),
    [...ids].sort(),
  );
  assert.ok(!page.url().includes('token='), page.url());
  assert.equal(await page.evaluate(() => sessionStorage.getItem('catena.token')), f.reader);
  assert.ok(
    !(await page.evaluate(() => JSON.stringify(Object.entries(localStorage)) + document.cookie)).includes(f.reader),
  );
  await page.waitForFunction(() => document.querySelector('.graph')?.getAttribute('data-element-nodes') !== null);
  assert.equal(await page.locator('.graph').getAttribute('data-element-nodes'), String(ids.length));
  await page.screenshot({ path: join(OUT, 'chain.png'), fullPage: true });
  assert.deepEqual(await seriousViolations(page), [], 'chain view');

  // Keyboard: the first row takes focus, ArrowDown moves to the next row, Enter opens its details.
  await rows(page).first().focus();
  await page.keyboard.press('ArrowDown');
  const second = await rows(page).nth(1).getAttribute('data-element-id');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-element-id')), second);
  await page.keyboard.press('Enter');
  await page.locator('.details').waitFor();
  assert.ok((await page.locator('.details').innerText()).includes(second!));
  assert.deepEqual(await seriousViolations(page), [], 'chain view with details');

  // Live: a revocation through the API turns the row to revoked without a reload.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const leaf = ids[ids.length - 1];
  const r = await f.req('POST', `/v1/chains/${chainId}/elements/${leaf}/revoke`, { reason: 'browser test' });
  assert.equal(r.statusCode, 200, r.body);
  await page.waitForFunction(
    (id) => /revoked/.test(document.querySelector<HTMLElement>(`tr[data-element-id="${id}"]`)?.innerText ?? ''),
    leaf,
  );
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the page reloaded');

  // Self-management appraises the chain's stored evidence: its element.state events reach the timeline.
  await f.app.selfManager.tick();

  // Every other view renders, passes axe, and the timeline shows the revocation and the appraisal.
  for (const view of ['Overview', 'Platforms', 'Events', 'Audit', 'Benchmarks']) {
    await page.getByRole('button', { name: view, exact: true }).click();
    await page.locator(`h2:text-is("${view}")`).waitFor();
    if (view === 'Events') {
      await page.locator('[data-event-type="element.revoked"]').first().waitFor();
      await page.locator('[data-event-type="element.state"]').first().waitFor();
    }
    if (view === 'Overview') await page.locator('.card').first().waitFor();
    if (view === 'Benchmarks')
      assert.ok(
        await page.locator('img.plot').evaluate((i: HTMLImageElement) => i.decode().then(() => i.naturalWidth > 0)),
      );
    await page.screenshot({ path: join(OUT, `${view.toLowerCase()}.png`), fullPage: true });
    assert.deepEqual(await seriousViolations(page), [], `${view} view`);
  }
  // The audit log needs an admin token: a reader sees the problem (a 403 in the console is expected there).
  assert.deepEqual(
    errors.filter((e) => !/status of 403/.test(e)),
    [],
  );
  await ctx.close();
});

test('a wrong token shows a clear message and no element; a pasted token signs in', async () => {
  const { ctx, page } = await open();
  await page.goto(`${url}/ui/#token=catena_admin_x`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /invalid or expired token/i);
  assert.equal(await rows(page).count(), 0);
  assert.ok(!page.url().includes('token='));
  await page.screenshot({ path: join(OUT, 'signin-wrong-token.png') });
  assert.deepEqual(await seriousViolations(page), [], 'sign-in view');
  await page.getByLabel(/API token/).fill(f.reader);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length === n, ids.length);
  await ctx.close();
});

test('an admin revokes an element from its details after confirming; a reader is offered no action', async () => {
  const { ctx, page } = await open();
  await page.goto(`${url}/ui/#token=${f.admin}`);
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length === n, ids.length);
  const target = ids[1];
  await page.locator(`tr[data-element-id="${target}"]`).click();
  await page.getByRole('button', { name: 'Revoke…' }).click();
  await page.getByLabel('Reason').fill('dashboard test');
  await page.getByRole('button', { name: 'Confirm revocation' }).click();
  await page.waitForFunction(
    (id) => /revoked/.test(document.querySelector<HTMLElement>(`tr[data-element-id="${id}"]`)?.innerText ?? ''),
    target,
  );
  const el = (await f.req('GET', `/v1/chains/${chainId}/elements/${target}`)).json();
  assert.equal(el.status, 'revoked');
  await ctx.close();

  const reader = await open();
  await reader.page.goto(`${url}/ui/#token=${f.reader}`);
  await reader.page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length === n, ids.length);
  await reader.page.locator(`tr[data-element-id="${ids[0]}"]`).click();
  await reader.page.locator('.details').waitFor();
  assert.equal(await reader.page.getByRole('button', { name: 'Revoke…' }).count(), 0);
  await reader.ctx.close();
});

test('an admin acknowledges an event after confirming: both dashboards show who and when; a refusal shows the problem', async () => {
  // Two admin dashboards; the second one's token is revoked later, so its acknowledgement is refused.
  const made = await f.req('POST', '/v1/tokens', { role: 'admin' });
  assert.equal(made.statusCode, 201, made.body);
  const second = made.json<{ id: string; token: string }>();
  const a = await open();
  const b = await open();
  for (const [p, token] of [
    [a.page, f.admin],
    [b.page, second.token],
  ] as const) {
    await p.goto(`${url}/ui/#token=${token}`);
    await p.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length >= n, ids.length);
    await p.getByRole('button', { name: 'Events', exact: true }).click();
    await p.locator('h2:text-is("Events")').waitFor();
  }
  const x1 = await f.createChain(POLICY);
  const x2 = await f.createChain(POLICY);
  const item = (p: Page, chain: string) =>
    p.locator('li[data-event-type="chain.created"]').filter({ hasText: chain.slice(0, 10) });
  for (const p of [a.page, b.page]) for (const c of [x1, x2]) await item(p, c).waitFor();

  await item(a.page, x1)
    .getByRole('button', { name: /Acknowledge/ })
    .click();
  await item(a.page, x1).getByLabel('Note').fill('expected: browser test');
  await item(a.page, x1).getByRole('button', { name: 'Confirm acknowledgement' }).click();
  const adminId = (await f.req('GET', '/v1/auth/whoami')).json().id as string;
  for (const p of [a.page, b.page]) {
    const acked = item(p, x1).locator('.acked');
    await acked.waitFor();
    assert.match(await acked.innerText(), new RegExp(`Acknowledged by ${adminId} at \\d{4}-.*expected: browser test`));
    assert.equal(
      await item(p, x1)
        .getByRole('button', { name: /Acknowledge/ })
        .count(),
      0,
    );
  }
  const eventId = Number(await item(a.page, x1).getAttribute('data-event-id'));
  const audit = (await f.req('GET', '/v1/audit?limit=1000')).json().records as { action: string; subject: string }[];
  assert.ok(audit.some((r) => r.action === 'event.ack' && r.subject === `event:${eventId}`));
  await a.page.screenshot({ path: join(OUT, 'events-acknowledged.png'), fullPage: true });
  assert.deepEqual(await seriousViolations(a.page), [], 'events view with an acknowledgement');

  // The second token is revoked: its dashboard's attempt is refused and the problem shown.
  assert.equal((await f.req('DELETE', `/v1/tokens/${second.id}`)).statusCode, 204);
  await item(b.page, x2)
    .getByRole('button', { name: /Acknowledge/ })
    .click();
  await item(b.page, x2).getByRole('button', { name: 'Confirm acknowledgement' }).click();
  const problem = item(b.page, x2).getByRole('alert');
  await problem.waitFor();
  assert.match(await problem.innerText(), /"status": 401[\s\S]*ERR_UNAUTHENTICATED/);
  assert.equal(await item(b.page, x2).locator('.acked').count(), 0);
  assert.deepEqual(a.errors, []);
  // A dashboard opened afterwards (a reader's) lists the acknowledgement made before it opened.
  const c = await open();
  await c.page.goto(`${url}/ui/#token=${f.reader}`);
  await c.page.getByRole('button', { name: 'Events', exact: true }).click();
  const earlier = c.page.locator(`li[data-acked-event-id="${eventId}"]`);
  await earlier.waitFor();
  assert.match(
    await earlier.innerText(),
    new RegExp(`event ${eventId} chain\\.created acknowledged by ${adminId} at \\d{4}-.*expected: browser test`),
  );
  assert.deepEqual(await seriousViolations(c.page), [], 'events view with earlier acknowledgements');
  assert.deepEqual(c.errors, []);
  await c.ctx.close();
  await a.ctx.close();
  await b.ctx.close();
  // The later tests open the newest live chain: the built one again.
  for (const c of [x1, x2]) assert.equal((await f.req('DELETE', `/v1/chains/${c}`)).statusCode, 204);
});

test('a lost event stream shows a banner, reconnects by itself and catches up with what happened meanwhile', async () => {
  const { ctx, page } = await open();
  await page.goto(`${url}/ui/#token=${f.reader}`);
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length === n, ids.length);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
  // Offline emulation refuses new requests but keeps open ones: the manager's side drops the stream.
  await ctx.setOffline(true);
  f.app.server.closeAllConnections();
  await page.getByText('Connection to the live event stream lost').waitFor();
  const target = ids[0];
  const r = await f.req('POST', `/v1/chains/${chainId}/elements/${target}/revoke`, { reason: 'while offline' });
  assert.equal(r.statusCode, 200, r.body);
  assert.doesNotMatch((await page.locator(`tr[data-element-id="${target}"]`).innerText()).toLowerCase(), /revoked/);
  await ctx.setOffline(false);
  await page.getByText('Connection to the live event stream lost').waitFor({ state: 'detached' });
  await page.waitForFunction(
    (id) => /revoked/.test(document.querySelector<HTMLElement>(`tr[data-element-id="${id}"]`)?.innerText ?? ''),
    target,
  );
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 7, 'the page reloaded');
  await ctx.close();
});

test('platforms: FMSPC, CA, status, advisories, short components and the status predicted under early collateral', async () => {
  // The agent hosting the world's platforms registers them (the platform list is the agents').
  const reg = await f.req(
    'POST',
    '/v1/agents',
    {
      id: 'agent-browser',
      cloud: 'cloud-a',
      url: 'https://127.0.0.1:9',
      platforms: f.world.platforms.map((p, index) => ({ index, ppid: p.ppid })),
    },
    f.agent,
  );
  assert.equal(reg.statusCode, 201, reg.body);
  // Intel stages a TCB recovery early; a self-management round fetches it (the manager watches the PCS).
  f.world.manufacturer.stageTcbRecovery(DEFAULT_FMSPC);
  await f.app.selfManager.tick();
  const { ctx, page, errors } = await open();
  await page.goto(`${url}/ui/#token=${f.reader}`);
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-element-id]').length >= n, ids.length);
  await page.getByRole('button', { name: 'Platforms', exact: true }).click();
  await page.locator('h2:text-is("Platforms")').waitFor();
  const headers = await page.locator('table.platforms thead th').allInnerTexts();
  assert.deepEqual(headers, [
    'PPID',
    'Cloud',
    'Agent status',
    'FMSPC',
    'CA',
    'TCB status',
    'Advisories',
    'Components',
    'Predicted (early)',
    'Why',
  ]);
  for (const [i, p] of f.world.platforms.entries()) {
    const api = (await f.req('GET', `/v1/platforms/${p.ppid}/tcb-status`, undefined, f.reader)).json();
    assert.equal(api.tcbExplanation.early?.tcbStatus, 'OutOfDate', 'the staged recovery downgrades the platform');
    const row = page.locator(`tr[data-ppid="${p.ppid}"]`);
    await row.locator('td').nth(6).filter({ hasText: /^SGX / }).waitFor();
    const cells = await row.locator('td').allInnerTexts();
    const comps = p.platform.identity.tcbComponents;
    let n = comps.length;
    while (n > 0 && comps[n - 1] === 0) n--;
    assert.equal(cells[2].toLowerCase(), hex(DEFAULT_FMSPC).toLowerCase(), `platform ${i} FMSPC`);
    assert.equal(cells[3], 'processor');
    assert.equal(cells[4], api.tcbExplanation.tcbStatus);
    assert.equal(cells[5], api.tcbExplanation.advisoryIds.join(', ') || 'none');
    assert.match(cells[6], new RegExp(`^SGX ${comps.slice(0, n).join('\\.')}( \\+${comps.length - n}×0)?, PCE \\d+$`));
    assert.equal(cells[7], 'OutOfDate (changes)');
    await row.getByRole('button', { name: /Why/ }).click();
    const why = await row.locator('.explain').innerText();
    assert.match(why, /matches level \d+ \(UpToDate/);
    assert.match(why, /under early collateral \(TCB evaluation \d+\): OutOfDate — changes/);
    assert.match(why, /short of level 0 \(UpToDate[^)]*\): (SGX #\d+|PCESVN)[^\n]* → /);
    assert.doesNotMatch(why, /[{}"]/, 'words, not JSON');
  }
  await page.screenshot({ path: join(OUT, 'platforms-early.png'), fullPage: true });
  assert.deepEqual(await seriousViolations(page), [], 'platforms view with explanations');
  assert.deepEqual(errors, []);
  await ctx.close();
});
