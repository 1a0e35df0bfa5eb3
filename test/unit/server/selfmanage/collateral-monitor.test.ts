import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { dcapRemoteVerifier } from '../../../../src/cot/dcap-remote-verifier.ts';
import { EmulatedWorld } from '../../../../src/cot/world.ts';
import { generateVendorKey } from '../../../../src/crypto/rsa3072.ts';
import { buildEnclave } from '../../../../src/sgx/build.ts';
import { buildPcsServer, certificatePem, Manufacturer } from '../../../../src/sgx/manufacturer/index.ts';
import { collateralRequestOfQuote } from '../../../../src/server/pcs-collateral.ts';
import {
  CollateralMonitor,
  type CollateralKey,
  type MonitorEvent,
} from '../../../../src/server/selfmanage/collateral-monitor.ts';

/**
 * The collateral monitor (issue 13, item 2) against the emulated PCS in-process: a baseline, the
 * conditional round-trip, a TCB recovery staged early then promoted, a platform revocation; a fake PCS
 * in front of it serving bad documents (each refused, nothing held changes); the PCS gone (one
 * unreachable event, then stale once the held set's nextUpdate passes, on an injected clock).
 */
const TOKEN = 'monitor-test-admin-token-0123';
const APP = `export default function app(ctx) { return { report: (ti, rd) => ctx.ereport(ti, rd) }; }\n`;
const DAY = 86_400_000;

let offsetMs = 0; // the monitor's clock, moved past nextUpdate
const monitorNow = () => new Date(Date.now() + offsetMs);
let manufacturer: Manufacturer;
let world: EmulatedWorld;
let app: FastifyInstance;
let pcsUrl: string;
let quote: Uint8Array;
let key: CollateralKey;
let monitor: CollateralMonitor;
const tmp = mkdtempSync(join(tmpdir(), 'catena-monitor-'));
const answers: Array<{ status: number; url: string }> = [];

let fake: Server;
let fakeUrl: string;
/** What the fake PCS serves instead of the real answer for a path, when set. */
let override:
  | ((
      path: string,
    ) => Promise<{ status?: number; body: string | Buffer; headers: Record<string, string> } | 'hang' | undefined>)
  | undefined;

before(async () => {
  manufacturer = await Manufacturer.create();
  world = await EmulatedWorld.create({ manufacturer });
  const wp = world.platforms[0];
  const image = buildEnclave(APP, { isvProdId: 1, isvSvn: 1 }, generateVendorKey());
  const e = await wp.platform.loadEnclave(image, { runtime: 'inline' });
  try {
    quote = await wp.quoting.quote(
      (await e.ecall('report', wp.quoting.targetInfo(), new Uint8Array(64).fill(7))) as Uint8Array,
    );
  } finally {
    await e.destroy();
  }
  // Describing the QE (on first use) reissues every document: done before the monitor's baseline.
  manufacturer.qeIdentity();
  const req = collateralRequestOfQuote(quote);
  key = { teeType: req.teeType, fmspc: req.fmspc, pckCa: req.pckCa };
  app = buildPcsServer({ manufacturer, adminToken: TOKEN });
  app.addHook('onResponse', async (rq, reply) => {
    answers.push({ status: reply.statusCode, url: rq.url });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  pcsUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  monitor = new CollateralMonitor({ pcsUrl, roots: () => [manufacturer.root], clock: monitorNow });
  monitor.watch(key);

  // The fake PCS: the real one's answers (through inject), but for what `override` replaces.
  fake = createServer((rq, rs) => {
    void (async () => {
      const path = rq.url ?? '/';
      const replaced = await override?.(path);
      if (replaced === 'hang') return; // never answers
      if (replaced) {
        rs.writeHead(replaced.status ?? 200, replaced.headers).end(replaced.body);
        return;
      }
      const inm = rq.headers['if-none-match'];
      const real = await app.inject({ method: 'GET', url: path, headers: inm ? { 'if-none-match': inm } : {} });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(real.headers))
        if (typeof v === 'string' && !['content-length', 'connection', 'transfer-encoding'].includes(k)) headers[k] = v;
      rs.writeHead(real.statusCode, headers).end(real.rawPayload);
    })();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});

after(async () => {
  await monitor?.stop();
  fake?.closeAllConnections();
  await new Promise((r) => fake?.close(r));
  await app?.close();
  await world?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const admin = async (url: string, body: object) => {
  const res = await app.inject({ method: 'POST', url, payload: body, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.statusCode, 200, res.body);
};
const brief = (ev: MonitorEvent[]) => ev.map((e) => `${e.type} ${e.kind}${e.update ? ` ${e.update}` : ''}`).sort();
const verifyWith = (update: 'standard' | 'early') => {
  const held = monitor.held(key, update);
  assert.ok(held, `a ${update} set is held`);
  return dcapRemoteVerifier(manufacturer.root).verify(quote, held.blob, new Date());
};

test('the baseline poll is no change: every document is held, the early release is the standard one', async () => {
  assert.equal(monitor.held(key, 'standard'), undefined, 'nothing before the first poll');
  assert.equal(monitor.stale(key, monitorNow()), true, 'nothing held is stale (fail closed)');
  assert.deepEqual(await monitor.poll(), []);
  const held = monitor.held(key, 'standard')!;
  assert.equal(held.tcbEvaluationDataNumber, manufacturer.tcbEvaluationDataNumber);
  assert.equal(monitor.held(key, 'early'), undefined);
  assert.equal(monitor.stale(key, monitorNow()), false);
  assert.equal(monitor.held(key, 'standard'), held, 'the same object while nothing changes');
  const v = await verifyWith('standard');
  assert.ok(v.ok, v.ok ? '' : v.message);
  assert.equal(v.ok && v.tcbStatus, 'UpToDate');
});

test('an unchanged PCS answers every conditional request of the next poll 304', async () => {
  answers.length = 0;
  assert.deepEqual(await monitor.poll(), []);
  const urls = answers.map((a) => a.url).sort();
  assert.equal(urls.length, 7, urls.join('\n')); // eval numbers, TCB info ×2, QE identity ×2, PCK CRL, root CA CRL
  assert.equal(new Set(urls).size, 7, 'each URL once');
  assert.deepEqual(
    answers.filter((a) => a.status !== 304),
    [],
  );
});

test('a TCB recovery staged early: only the early TCB info and QE identity change; held(early) has the new number', async () => {
  const before = monitor.held(key, 'standard')!;
  await admin('/admin/v1/tcb-recovery', { stage: 'early' });
  const ev = await monitor.poll();
  assert.deepEqual(brief(ev), ['collateral.changed qe-identity early', 'collateral.changed tcb-info early']);
  const tcb = ev.find((e) => e.kind === 'tcb-info')!;
  assert.equal(tcb.fmspc, key.fmspc);
  assert.equal(tcb.previousTcbEvaluationDataNumber, before.tcbEvaluationDataNumber);
  assert.equal(tcb.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber + 1);
  assert.equal(tcb.tcbEvaluationDataNumber, manufacturer.earlyTcbEvaluationDataNumber);
  const listed = (
    JSON.parse(manufacturer.tcbEvaluationDataNumbers().text) as {
      tcbEvalNumbers: Array<{ tcbEvaluationDataNumber: number; tcbRecoveryEventDate: string }>;
    }
  ).tcbEvalNumbers.find((n) => n.tcbEvaluationDataNumber === tcb.tcbEvaluationDataNumber)!;
  assert.equal(tcb.tcbRecoveryEventDate, listed.tcbRecoveryEventDate);
  assert.match(tcb.publishedAt!, /^\d{4}-\d\d-\d\dT/);
  const early = monitor.held(key, 'early')!;
  assert.equal(early.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber + 1);
  assert.equal(early.tcbRecoveryEventDate, listed.tcbRecoveryEventDate);
  assert.equal(monitor.held(key, 'standard')!.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber);
  // The verifier reads both: the platform is UpToDate now, OutOfDate under the early release.
  const std = await verifyWith('standard');
  const pre = await verifyWith('early');
  assert.equal(std.ok && std.tcbStatus, 'UpToDate');
  assert.equal(pre.ok && pre.tcbStatus, 'OutOfDate');
});

test('the recovery promoted: the standard TCB info and QE identity change, the early release is standard again', async () => {
  const before = monitor.held(key, 'standard')!;
  await admin('/admin/v1/tcb-recovery', { stage: 'standard' });
  const ev = await monitor.poll();
  assert.deepEqual(brief(ev), ['collateral.changed qe-identity standard', 'collateral.changed tcb-info standard']);
  assert.deepEqual(
    ev.map((e) => [e.previousTcbEvaluationDataNumber, e.tcbEvaluationDataNumber]),
    [
      [before.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber + 1],
      [before.tcbEvaluationDataNumber, before.tcbEvaluationDataNumber + 1],
    ],
  );
  assert.equal(monitor.held(key, 'standard')!.tcbEvaluationDataNumber, manufacturer.tcbEvaluationDataNumber);
  assert.equal(monitor.held(key, 'early'), undefined);
  const std = await verifyWith('standard');
  assert.equal(std.ok && std.tcbStatus, 'OutOfDate');
});

test('a platform revoked: the PCK CRL of its CA changes, and the held set revokes the quote', async () => {
  await admin('/admin/v1/revocations', { platform: world.platforms[0].ppid });
  const ev = await monitor.poll();
  assert.deepEqual(brief(ev), ['collateral.changed pck-crl']);
  assert.equal(ev[0].ca, key.pckCa);
  assert.match(ev[0].publishedAt!, /^\d{4}-\d\d-\d\dT/);
  const v = await verifyWith('standard');
  assert.equal(v.ok, false);
  assert.equal(!v.ok && v.check, 'pck.revocation');
});

test('start() polls at once and on its timer; stop() waits for the running poll', async () => {
  const m = new CollateralMonitor({
    pcsUrl,
    roots: () => [manufacturer.root],
    clock: monitorNow,
    intervalMs: 3_600_000,
  });
  m.watch(key);
  m.watch({ ...key, fmspc: key.fmspc.toUpperCase() }); // idempotent, FMSPC case-insensitive
  const got: MonitorEvent[][] = [];
  answers.length = 0;
  m.start((e) => got.push(e));
  await m.stop();
  assert.equal(answers.length, 7, 'one round of the seven documents');
  assert.deepEqual(got, [], 'a baseline is no event');
  assert.ok(m.held(key, 'standard'));
  assert.throws(() => m.watch({ ...key, fmspc: 'xyz' }), { code: 'ERR_ARGUMENT' });
});

/** The standard TCB info of the watched FMSPC (what the fake replaces), genuine, from the real PCS. */
const tcbPath = (p: string) => p.startsWith('/sgx/certification/v4/tcb?') && p.includes('update=standard');
async function genuine(url: string): Promise<{ body: string; headers: Record<string, string> }> {
  const res = await app.inject({ method: 'GET', url });
  assert.equal(res.statusCode, 200);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (typeof v === 'string' && !['content-length', 'connection', 'etag'].includes(k)) headers[k] = v;
  return { body: res.body, headers };
}
const tcbUrl = () => `/sgx/certification/v4/tcb?fmspc=${key.fmspc.toUpperCase()}`;

test('a fake PCS serving bad documents: each is refused with the failing check, once, and nothing held changes', async () => {
  const m = new CollateralMonitor({ pcsUrl: fakeUrl, roots: () => [manufacturer.root], clock: monitorNow });
  m.watch(key);
  assert.deepEqual(await m.poll(), [], 'baseline through the fake');
  const held = m.held(key, 'standard')!;
  const heldBlob = structuredClone(held.blob);
  const other = await Manufacturer.create();
  other.ensureFmspc(key.fmspc, { components: Array(16).fill(1), pceSvn: 1 });
  const cases: Array<{
    name: string;
    reason: string;
    serve: () => Promise<{ body: string | Buffer; headers: Record<string, string> }>;
    path?: (p: string) => boolean;
  }> = [
    {
      name: 'tampered signature',
      reason: 'ERR_TCB_INFO',
      serve: async () => {
        const g = await genuine(tcbUrl());
        const at = g.body.indexOf('"signature":"') + '"signature":"'.length;
        const body = g.body.slice(0, at) + (g.body[at] === '0' ? '1' : '0') + g.body.slice(at + 1);
        assert.notEqual(body, g.body);
        return { ...g, body };
      },
    },
    {
      name: 'another manufacturer (wrong root)',
      reason: 'ERR_TCB_SIGNING_CHAIN',
      serve: async () => {
        const chain = encodeURIComponent(other.tcbSigningChain().map(certificatePem).join(''));
        return {
          body: other.tcbInfo(key.fmspc).body,
          headers: { 'content-type': 'application/json', 'tcb-info-issuer-chain': chain },
        };
      },
    },
    {
      name: 'an older tcbEvaluationDataNumber',
      reason: 'ERR_COLLATERAL_ROLLBACK',
      serve: () => genuine(`${tcbUrl()}&tcbEvaluationDataNumber=${held.tcbEvaluationDataNumber - 1}`),
    },
    {
      name: 'garbage',
      reason: 'ERR_COLLATERAL_FORMAT',
      serve: async () => ({ ...(await genuine(tcbUrl())), body: '<html>Service Temporarily Moved</html>' }),
    },
    {
      name: 'expired',
      reason: 'ERR_COLLATERAL_EXPIRED',
      serve: async () => {
        // The same manufacturer (keys, TCB levels) reopened with a clock 40 days back: it signs TCB info
        // whose nextUpdate (30 days of validity) has passed.
        const dir = join(tmp, 'expired');
        await manufacturer.save(dir);
        const past = await Manufacturer.load(dir, { clock: () => new Date(Date.now() - 40 * DAY) });
        const g = await genuine(tcbUrl());
        return { ...g, body: past.tcbInfo(key.fmspc).body };
      },
    },
    {
      name: 'a PCK CRL with a broken signature',
      reason: 'ERR_PCK_CRL',
      path: (p) => p.startsWith('/sgx/certification/v4/pckcrl'),
      serve: async () => {
        const res = await app.inject({
          method: 'GET',
          url: `/sgx/certification/v4/pckcrl?ca=${key.pckCa}&encoding=der`,
        });
        const der = Buffer.from(res.rawPayload);
        der[der.length - 1] ^= 1;
        return {
          body: der,
          headers: { 'sgx-pck-crl-issuer-chain': res.headers['sgx-pck-crl-issuer-chain'] as string },
        };
      },
    },
  ];
  for (const c of cases) {
    const doc = await c.serve();
    const match = c.path ?? tcbPath;
    override = async (p) => (match(p) ? doc : undefined);
    try {
      const ev = await m.poll();
      assert.equal(ev.length, 1, `${c.name}: ${JSON.stringify(ev)}`);
      assert.equal(ev[0].type, 'collateral.refused', c.name);
      assert.equal(ev[0].reason, c.reason, `${c.name}: ${ev[0].detail}`);
      assert.equal(ev[0].kind, c.path ? 'pck-crl' : 'tcb-info', c.name);
      if (!c.path) assert.equal(ev[0].update, 'standard', c.name);
      assert.equal(m.held(key, 'standard'), held, `${c.name}: the held set is the same`);
      assert.deepEqual(m.held(key, 'standard')!.blob, heldBlob, c.name);
      if (c.reason === 'ERR_COLLATERAL_ROLLBACK') {
        assert.equal(ev[0].tcbEvaluationDataNumber, held.tcbEvaluationDataNumber - 1);
        assert.equal(ev[0].previousTcbEvaluationDataNumber, held.tcbEvaluationDataNumber);
      }
      assert.deepEqual(await m.poll(), [], `${c.name}: the same refusal is reported once`);
    } finally {
      override = undefined;
    }
  }
  assert.deepEqual(await m.poll(), [], 'the genuine documents again: the held ones, no change');
  assert.equal(m.held(key, 'standard'), held);
});

test('each outage is one unreachable event: a 5xx, then (after recovery) a PCS that does not answer in time', async () => {
  const m = new CollateralMonitor({
    pcsUrl: fakeUrl,
    roots: () => [manufacturer.root],
    clock: monitorNow,
    timeoutMs: 300,
  });
  m.watch(key);
  assert.deepEqual(await m.poll(), []);
  const held = m.held(key, 'standard');
  try {
    override = async (p) => (p.includes('/pckcrl') ? { status: 503, body: 'busy', headers: {} } : undefined);
    const down = await m.poll();
    assert.deepEqual(brief(down), ['collateral.unreachable pck-crl']);
    assert.equal(down[0].reason, 'ERR_COLLATERAL_UNAVAILABLE');
    assert.match(down[0].detail!, /HTTP 503/);
    assert.deepEqual(await m.poll(), [], 'the same outage');
    override = undefined;
    assert.deepEqual(await m.poll(), [], 'recovered: nothing changed');
    override = async (p) => (p.includes('/tcb?') ? 'hang' : undefined);
    const again = await m.poll();
    assert.deepEqual(brief(again), ['collateral.unreachable tcb-info standard']);
    assert.match(again[0].detail!, /no answer within 300 ms/);
    assert.equal(m.held(key, 'standard'), held, 'the last good set stays');
  } finally {
    override = undefined;
    fake.closeAllConnections();
  }
});

test('the PCS gone: one unreachable event per outage, the last good set stays; past its nextUpdate, stale once', async () => {
  const held = monitor.held(key, 'standard')!;
  await app.close();
  const ev = await monitor.poll();
  assert.equal(ev.length, 1, JSON.stringify(ev));
  assert.equal(ev[0].type, 'collateral.unreachable');
  assert.equal(ev[0].reason, 'ERR_COLLATERAL_UNAVAILABLE');
  assert.deepEqual(await monitor.poll(), [], 'the same outage: no second event');
  assert.equal(monitor.held(key, 'standard'), held);
  assert.equal(monitor.stale(key, monitorNow()), false);

  offsetMs = held.nextUpdate.getTime() - Date.now() + 1_000;
  assert.equal(monitor.stale(key, monitorNow()), true);
  const late = await monitor.poll();
  assert.equal(late.length, 1, JSON.stringify(late));
  assert.equal(late[0].type, 'collateral.stale');
  assert.equal(late[0].update, 'standard');
  assert.equal(late[0].fmspc, key.fmspc);
  assert.equal(late[0].ca, key.pckCa);
  assert.deepEqual(await monitor.poll(), [], 'stale is reported once');
  assert.equal(monitor.held(key, 'standard'), held, 'the last good set is still what is held');
});
