import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pcsCollateral } from '../../../src/attestation/collateral/from-pcs.ts';
import { verifyQuote } from '../../../src/attestation/dcap/verify-quote.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildEnclave } from '../../../src/sgx/build.ts';
import { buildPcsServer, Manufacturer, normalizeSerial } from '../../../src/sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC } from '../../../src/sgx/platform.ts';
import { crlContents, pemBlocks, sliceMember } from './manufacturer-helpers.ts';

/**
 * The emulated world changes on demand (issue 13 item 1): a TCB recovery staged at update=early, then
 * promoted to standard, through the PCS admin API; revocations through it; a platform taking the TCB
 * update. Catena's verifier reads the collateral from the PCS at each stage.
 */
const APP = `export default function app(ctx) { return { report: (ti, rd) => ctx.ereport(ti, rd) }; }\n`;
const TOKEN = 'test-admin-token-0123456789';
const FMSPC = Buffer.from(DEFAULT_FMSPC).toString('hex');
let manufacturer: Manufacturer;
let world: EmulatedWorld;
let app: FastifyInstance;
let base: string;
let image: ReturnType<typeof buildEnclave>;

before(async () => {
  manufacturer = await Manufacturer.create();
  world = await EmulatedWorld.create({ manufacturer });
  image = buildEnclave(APP, { isvProdId: 1, isvSvn: 1 }, generateVendorKey());
  app = buildPcsServer({ manufacturer, adminToken: TOKEN });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
after(async () => {
  await app?.close();
  await world?.close();
});

async function freshQuote(): Promise<Uint8Array> {
  const wp = world.platforms[0];
  const e = await wp.platform.loadEnclave(image, { runtime: 'inline' });
  try {
    return await wp.quoting.quote(
      (await e.ecall('report', wp.quoting.targetInfo(), new Uint8Array(64).fill(7))) as Uint8Array,
    );
  } finally {
    await e.destroy();
  }
}

const verifyAt = (quote: Uint8Array, update?: 'early' | 'standard') =>
  verifyQuote(quote, {
    collateral: pcsCollateral(base, update ? { update } : {}),
    at: new Date(),
    trustedRoots: [manufacturer.root],
    policy: { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] },
  });

const admin = (url: string, body: unknown, token: string | null = TOKEN) =>
  app.inject({
    method: 'POST',
    url,
    payload: body as object,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
const get = (url: string) => app.inject({ method: 'GET', url });
const tcbNumberOf = (body: string, key: 'tcbInfo' | 'enclaveIdentity') =>
  (JSON.parse(body) as Record<string, { tcbEvaluationDataNumber: number }>)[key].tcbEvaluationDataNumber;

test('the admin routes are declared admin, and refuse callers without the right token (401 ERR_UNAUTHENTICATED)', async () => {
  const routes = app.routeTable.filter((r) => r.url.startsWith('/admin/'));
  assert.deepEqual(routes.map((r) => [r.method, r.url, r.auth]).sort(), [
    ['POST', '/admin/v1/revocations', 'admin'],
    ['POST', '/admin/v1/tcb-recovery', 'admin'],
  ]);
  for (const token of [null, 'wrong-token', `${TOKEN}x`]) {
    const res = await admin('/admin/v1/tcb-recovery', { stage: 'early' }, token);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'ERR_UNAUTHENTICATED');
  }
  assert.equal(manufacturer.earlyTcbEvaluationDataNumber, manufacturer.tcbEvaluationDataNumber, 'nothing was staged');
  // Without an admin token configured there is no admin API at all.
  const plain = buildPcsServer({ manufacturer });
  assert.equal(
    (
      await plain.inject({
        method: 'POST',
        url: '/admin/v1/tcb-recovery',
        payload: { stage: 'early' },
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).statusCode,
    404,
  );
  await plain.close();
});

test('update and tcbEvaluationDataNumber together are refused (400 ERR_MALFORMED); unknown numbers are 404', async () => {
  for (const url of [
    `/sgx/certification/v4/tcb?fmspc=${FMSPC}&update=early&tcbEvaluationDataNumber=1`,
    '/sgx/certification/v4/qe/identity?update=standard&tcbEvaluationDataNumber=1',
  ]) {
    const res = await get(url);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'ERR_MALFORMED');
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
  }
  assert.equal((await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}&update=later`)).json().code, 'ERR_MALFORMED');
  const missing = await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}&tcbEvaluationDataNumber=999`);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'ERR_NOT_FOUND');
});

test('a staged recovery: early serves the next number with raised SVNs, standard stays; the verifier accepts both', async () => {
  const n = manufacturer.tcbEvaluationDataNumber;
  const quote = await freshQuote();
  const before = await verifyAt(quote);
  assert.equal(before.tcbStatus, 'UpToDate');

  const res = await admin('/admin/v1/tcb-recovery', { stage: 'early', fmspc: FMSPC.toUpperCase() });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { stage: 'early', tcbEvaluationDataNumber: n + 1, standard: n, early: n + 1 });

  const std = await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}`);
  const early = await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}&update=early`);
  assert.equal(tcbNumberOf(std.body, 'tcbInfo'), n);
  assert.equal(tcbNumberOf(early.body, 'tcbInfo'), n + 1);
  assert.equal(tcbNumberOf((await get('/sgx/certification/v4/qe/identity')).body, 'enclaveIdentity'), n);
  assert.equal(
    tcbNumberOf((await get('/sgx/certification/v4/qe/identity?update=early')).body, 'enclaveIdentity'),
    n + 1,
  );
  assert.equal(
    tcbNumberOf(
      (await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}&tcbEvaluationDataNumber=${n + 1}`)).body,
      'tcbInfo',
    ),
    n + 1,
  );
  // Raised thresholds: the early top level is above the standard top level.
  const top = (body: string) =>
    (
      JSON.parse(body) as {
        tcbInfo: { tcbLevels: Array<{ tcb: { sgxtcbcomponents: Array<{ svn: number }> }; tcbStatus: string }> };
      }
    ).tcbInfo.tcbLevels;
  const [eTop, sTop] = [top(early.body)[0], top(std.body)[0]];
  assert.ok(
    eTop.tcb.sgxtcbcomponents.every((c, i) => c.svn >= sTop.tcb.sgxtcbcomponents[i].svn) &&
      eTop.tcb.sgxtcbcomponents.some((c, i) => c.svn > sTop.tcb.sgxtcbcomponents[i].svn),
  );
  assert.equal(
    top(early.body)[1].tcbStatus,
    'OutOfDate',
    'the former UpToDate level is downgraded in the early release',
  );

  // Catena's verifier: standard unchanged, early verifies (signatures, chains) and predicts OutOfDate.
  const s = await verifyAt(quote, 'standard');
  assert.equal(s.tcbStatus, 'UpToDate');
  assert.equal(s.collateral?.tcbInfo?.tcbEvaluationDataNumber, n);
  const e = await verifyAt(quote, 'early');
  assert.equal(e.verdict, 'accepted', JSON.stringify(e.error));
  assert.equal(e.tcbStatus, 'OutOfDate');
  assert.equal(e.collateral?.tcbInfo?.tcbEvaluationDataNumber, n + 1);

  // A second early while one is staged: 409 ERR_CONFLICT.
  const again = await admin('/admin/v1/tcb-recovery', { stage: 'early' });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().code, 'ERR_CONFLICT');
  assert.throws(() => manufacturer.stageTcbRecovery(), { code: 'ERR_MANUFACTURER_STATE' });
});

test('the signed tcbevaluationdatanumbers list names both numbers with their dates, as Intel serves it', async () => {
  const res = await get('/sgx/certification/v4/tcbevaluationdatanumbers');
  assert.equal(res.statusCode, 200);
  const chain = pemBlocks(decodeURIComponent(res.headers['tcb-evaluation-data-numbers-issuer-chain'] as string));
  assert.deepEqual(chain, [manufacturer.tcbSigningCertificate, manufacturer.root]);
  const text = sliceMember(res.body, 'tcbEvaluationDataNumbers');
  const sig = Buffer.from((JSON.parse(res.body) as { signature: string }).signature, 'hex');
  assert.ok(
    nodeVerify(
      'sha256',
      Buffer.from(text),
      { key: new X509Certificate(chain[0]).publicKey, dsaEncoding: 'ieee-p1363' },
      sig,
    ),
  );
  const list = JSON.parse(text) as {
    id: string;
    version: number;
    issueDate: string;
    nextUpdate: string;
    tcbEvalNumbers: Array<{ tcbEvaluationDataNumber: number; tcbRecoveryEventDate: string; tcbDate: string }>;
  };
  assert.deepEqual(Object.keys(list), ['id', 'version', 'issueDate', 'nextUpdate', 'tcbEvalNumbers']);
  assert.equal(list.id, 'SGX');
  assert.equal(list.version, 1);
  const n = manufacturer.tcbEvaluationDataNumber;
  assert.deepEqual(
    list.tcbEvalNumbers.map((x) => x.tcbEvaluationDataNumber),
    [n + 1, n],
  );
  for (const x of list.tcbEvalNumbers) {
    assert.deepEqual(Object.keys(x), ['tcbEvaluationDataNumber', 'tcbRecoveryEventDate', 'tcbDate']);
    assert.match(x.tcbRecoveryEventDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(x.tcbDate, /^\d{4}-\d\d-\d\dT00:00:00Z$/);
  }
});

test('catena quote verify --collateral PCS --early-collateral PCS: tcbExplanation says UpToDate now, OutOfDate once promoted', async () => {
  const { execFile } = await import('node:child_process');
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'catena-early-'));
  try {
    await writeFile(path.join(dir, 'quote.dat'), await freshQuote());
    await writeFile(path.join(dir, 'root.der'), manufacturer.root);
    const root = path.resolve(import.meta.dirname, '..', '..', '..');
    const args = [
      'quote',
      'verify',
      path.join(dir, 'quote.dat'),
      '--collateral',
      base,
      '--early-collateral',
      base,
      '--root',
      path.join(dir, 'root.der'),
      '--at',
      String(Math.floor(Date.now() / 1000)),
      '--json',
    ];
    const out = await new Promise<string>((ok, fail) =>
      execFile(
        process.execPath,
        [path.join(root, 'bin', 'catena.js'), ...args],
        { cwd: root, timeout: 60_000 },
        (err, stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr}`)) : ok(stdout)),
      ),
    );
    const x = (
      JSON.parse(out) as {
        tcbExplanation: {
          tcbStatus: string;
          tcbEvaluationDataNumber: number;
          early: {
            tcbStatus: string;
            changed: boolean;
            tcbEvaluationDataNumber: number;
            next: { tcbStatus: string; shortfalls: unknown[] };
          };
        };
      }
    ).tcbExplanation;
    assert.equal(x.tcbStatus, 'UpToDate');
    assert.equal(x.tcbEvaluationDataNumber, manufacturer.tcbEvaluationDataNumber);
    assert.equal(x.early.tcbEvaluationDataNumber, manufacturer.earlyTcbEvaluationDataNumber);
    assert.equal(x.early.tcbStatus, 'OutOfDate');
    assert.equal(x.early.changed, true);
    assert.equal(x.early.next.tcbStatus, 'UpToDate');
    assert.ok(x.early.next.shortfalls.length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('standard promotes: the old TCB is OutOfDate under standard collateral, UpToDate again after the platform TCB update', async () => {
  const n = manufacturer.tcbEvaluationDataNumber;
  const oldQuote = await freshQuote();
  const res = await admin('/admin/v1/tcb-recovery', { stage: 'standard' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { stage: 'standard', tcbEvaluationDataNumber: n + 1, standard: n + 1, early: n + 1 });
  assert.equal(tcbNumberOf((await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}`)).body, 'tcbInfo'), n + 1);
  assert.equal(
    tcbNumberOf((await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}&update=early`)).body, 'tcbInfo'),
    n + 1,
  );
  // The superseded release stays available by number.
  assert.equal(
    tcbNumberOf((await get(`/sgx/certification/v4/tcb?fmspc=${FMSPC}&tcbEvaluationDataNumber=${n}`)).body, 'tcbInfo'),
    n,
  );

  const promoted = await verifyAt(oldQuote);
  assert.equal(promoted.tcbStatus, 'OutOfDate');
  assert.equal(promoted.collateral?.tcbInfo?.tcbEvaluationDataNumber, n + 1);

  const oldPck = world.platforms[0].quoting.pckChain[0];
  const upd = await world.updatePlatformTcb(0);
  assert.deepEqual(upd.tcbComponents, manufacturer.tcbLevels(DEFAULT_FMSPC)[0].components);
  assert.notDeepEqual(upd.pck, oldPck, 'a new PCK certificate');
  assert.deepEqual(world.platforms[0].platform.identity.tcbComponents, upd.tcbComponents);
  const fresh = await verifyAt(await freshQuote());
  assert.equal(fresh.verdict, 'accepted');
  assert.equal(fresh.tcbStatus, 'UpToDate');
  assert.deepEqual(fresh.platform?.tcbComponents, upd.tcbComponents);
  // A platform cannot go back down.
  await assert.rejects(world.updatePlatformTcb(0, { components: new Array(16).fill(0), pceSvn: 0 }), {
    code: 'ERR_ARGUMENT',
  });
});

test('revocations through the admin API change the CRLs: a platform, a PCK, a CA', async () => {
  const ppid = world.platforms[0].ppid;
  const bad = await admin('/admin/v1/revocations', { platform: ppid, ca: 'processor' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'ERR_MALFORMED');
  assert.equal((await admin('/admin/v1/revocations', { platform: 'ab'.repeat(16) })).json().code, 'ERR_NOT_FOUND');

  const quote = await freshQuote();
  const res = await admin('/admin/v1/revocations', { platform: ppid });
  assert.equal(res.statusCode, 200, res.body);
  const serials = res.json<{ revoked: Array<{ list: string; serial: string }> }>().revoked;
  const issued = manufacturer.listPcks().filter((p) => Buffer.from(p.ppid).toString('hex') === ppid);
  assert.deepEqual(serials.map((s) => s.serial).sort(), issued.map((p) => p.serial).sort());
  const crl = crlContents(
    new Uint8Array((await get('/sgx/certification/v4/pckcrl?ca=processor&encoding=der')).rawPayload),
  );
  for (const p of issued)
    assert.ok(
      crl.revoked.some((r) => r.serial === p.serial),
      `serial ${p.serial} in the PCK CRL`,
    );
  const a = await verifyAt(quote);
  assert.equal(a.verdict, 'rejected');
  assert.equal(a.error?.check, 'pck.revocation');

  const other = await admin('/admin/v1/revocations', { pck: 'fedcba' });
  assert.equal(other.json().code, 'ERR_NOT_FOUND');

  const ca = await admin('/admin/v1/revocations', { ca: 'platform' });
  assert.equal(ca.statusCode, 200);
  const caSerial = normalizeSerial(new X509Certificate(manufacturer.caCertificate('platform')).serialNumber);
  assert.deepEqual(ca.json(), { revoked: [{ list: 'root', serial: caSerial }] });
  const root = crlContents(new Uint8Array((await get('/sgx/certification/v4/rootcacrl?encoding=der')).rawPayload));
  assert.ok(root.revoked.some((r) => r.serial === caSerial));
});
