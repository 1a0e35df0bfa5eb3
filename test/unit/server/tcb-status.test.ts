import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FMSPC } from '../../../src/sgx/platform.ts';
import { ManagerFixture } from './fixture.ts';

/**
 * GET /v1/platforms/:id/tcb-status (reader): the explanation of the newest quote a chain holds from
 * the platform, over the collateral that chain verified it with.
 */
let f: ManagerFixture;
before(async () => {
  f = await ManagerFixture.create();
});
after(() => f.close());

test('tcb-status: UpToDate at the top level; after a promoted recovery, a new quote explains OutOfDate with what is short', async () => {
  const [p0, p1] = f.world.platforms.map((p) => p.ppid) as [string, string];
  const route = f.app.routeTable.find((r) => r.url === '/v1/platforms/:id/tcb-status');
  assert.equal(route?.auth, 'reader');

  const none = await f.req('GET', `/v1/platforms/${p0}/tcb-status`, undefined, f.reader);
  assert.equal(none.statusCode, 404);
  assert.equal(none.json().code, 'ERR_NOT_FOUND');
  assert.equal((await f.req('GET', `/v1/platforms/${p0}/tcb-status`, undefined, null)).statusCode, 401);

  const chainId = await f.createChain({ acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] });
  const first = await f.load(0);
  const r1 = await f.req('POST', `/v1/chains/${chainId}/elements`, await f.firstLink(chainId, first));
  assert.equal(r1.statusCode, 201, r1.body);
  const s0 = await f.req('GET', `/v1/platforms/${p0.toUpperCase()}/tcb-status`, undefined, f.reader);
  assert.equal(s0.statusCode, 200, s0.body);
  const b0 = s0.json();
  assert.equal(b0.platform, p0);
  assert.equal(b0.chain, chainId);
  assert.equal(b0.linkTcbStatus, 'UpToDate');
  assert.equal(b0.pckCa, 'processor', "the emulated world's PCK certificates come from its Processor CA");
  assert.equal(b0.tcbExplanation.tcbStatus, 'UpToDate');
  assert.equal(b0.tcbExplanation.matched.index, 0);
  assert.equal(b0.tcbExplanation.next, null);
  assert.deepEqual(b0.tcbExplanation.platform.components, f.world.platforms[0].platform.identity.tcbComponents);

  // Intel promotes a recovery; a new element on platform 1 is admitted (OutOfDate accepted by this policy).
  f.world.manufacturer.publishTcbRecovery(DEFAULT_FMSPC, { advisoryId: 'CATENA-SA-07777' });
  f.world.refreshCollateral();
  await f.world.collateralFor();
  const second = await f.load(1);
  const r2 = await f.req(
    'POST',
    `/v1/chains/${chainId}/elements`,
    await f.remoteLink(
      chainId,
      r1.json().id ?? r1.json().element?.id,
      first,
      second,
      { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] },
      2,
    ),
  );
  assert.equal(r2.statusCode, 201, r2.body);
  const b1 = (await f.req('GET', `/v1/platforms/${p1}/tcb-status`, undefined, f.reader)).json();
  assert.equal(b1.linkTcbStatus, 'OutOfDate');
  assert.equal(b1.tcbExplanation.tcbStatus, 'OutOfDate');
  assert.ok(b1.tcbExplanation.advisoryIds.includes('CATENA-SA-07777'));
  assert.equal(b1.tcbExplanation.tcbEvaluationDataNumber, f.world.manufacturer.tcbEvaluationDataNumber);
  const top = f.world.manufacturer.tcbLevels(DEFAULT_FMSPC)[0];
  const have = f.world.platforms[1].platform.identity.tcbComponents;
  const want = top.components.flatMap((need, i) =>
    have[i] < need ? [{ component: 'sgx', index: i, have: have[i], need }] : [],
  );
  assert.equal(b1.tcbExplanation.next.tcbStatus, 'UpToDate');
  assert.deepEqual(b1.tcbExplanation.next.shortfalls, want);
  // Platform 0's explanation still rests on the collateral its own link was verified with.
  assert.equal(
    (await f.req('GET', `/v1/platforms/${p0}/tcb-status`, undefined, f.reader)).json().tcbExplanation.tcbStatus,
    'UpToDate',
  );
});

test('catena platform tcb-status ID --manager URL: --json is the route answer; exit 1 when not UpToDate; a reader token suffices', async () => {
  const { execFile } = await import('node:child_process');
  const path = await import('node:path');
  const { listenUrl } = await import('../../../src/server/net.ts');
  const root = path.resolve(import.meta.dirname, '..', '..', '..');
  const url = await listenUrl(f.app, '127.0.0.1', 0);
  const p1 = f.world.platforms[1].ppid;
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
      execFile(
        process.execPath,
        [path.join(root, 'bin', 'catena.js'), 'platform', 'tcb-status', ...args],
        { cwd: root, env: { ...process.env, CATENA_TOKEN: '', ...env }, timeout: 60_000 },
        (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
  const j = await run([p1, '--manager', url, '--json'], { CATENA_TOKEN: f.reader });
  assert.equal(j.code, 1, j.stderr);
  const expected = (await f.req('GET', `/v1/platforms/${p1}/tcb-status`, undefined, f.reader)).json();
  assert.deepEqual(JSON.parse(j.stdout), expected);
  const text = await run([p1, '--manager', url, '--token', f.reader]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^OutOfDate {2}platform /);
  assert.match(text.stdout, /next: level 0 \(UpToDate/);
  const p0 = await run([f.world.platforms[0].ppid, '--manager', url, '--token', f.reader]);
  assert.equal(p0.code, 0, p0.stderr);
  const missing = await run(['00'.repeat(16), '--manager', url, '--token', f.reader]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /HTTP 404 ERR_NOT_FOUND/);
  assert.equal((await run([p1, '--manager', url])).code, 2, 'no token');
});
