import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '../../../src/bytes/util.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { DcapVerifier, collateralFromQvlJson } from '../../../src/attestation/index.ts';
import { parseQuote } from '../../../src/formats/quote.ts';
import { buildEnclave } from '../../../src/sgx/build.ts';
import { Platform } from '../../../src/sgx/platform.ts';
import { QuotingService } from '../../../src/sgx/qe/index.ts';

const APP = `export default function app(ctx) { return { report: (ti, rd) => ctx.ereport(ti, rd) }; }\n`;
const vendor = generateVendorKey();
let world: EmulatedWorld;
const dirs: string[] = [];

before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
});
after(async () => {
  await world.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function appOn(i: number, debug = false) {
  return world.platforms[i].platform.loadEnclave(buildEnclave(APP, { isvProdId: 4, isvSvn: 2, debug }, vendor), {
    runtime: 'inline',
  });
}

async function verify(quote: Uint8Array, policy = {}) {
  const collateral = collateralFromQvlJson(await world.collateralFor());
  return new DcapVerifier().verify(quote, { collateral, at: new Date(), trustedRoots: [world.root], policy });
}

test('a quote carries the application REPORT body unchanged and verifies under the emulated root only', async () => {
  const wp = world.platforms[0];
  const app = await appOn(0);
  const rd = new Uint8Array(64).map((_, i) => i);
  const quote = await wp.quoting.quote((await app.ecall('report', wp.quoting.targetInfo(), rd)) as Uint8Array);
  const q = parseQuote(quote);
  assert.equal(q.header.version, 3);
  assert.ok(q.body.kind === 'sgx');
  assert.deepEqual(q.body.report.reportData, rd);
  assert.deepEqual(q.body.report.mrEnclave, app.identity.mrEnclave);
  const a = await verify(quote);
  assert.equal(a.verdict, 'accepted', JSON.stringify(a.error));
  assert.equal(a.tcbStatus, 'UpToDate');
  assert.equal(a.platform?.ppid, wp.ppid);
  const intelOnly = await new DcapVerifier().verify(quote, {
    collateral: collateralFromQvlJson(await world.collateralFor()),
    at: new Date(),
  });
  assert.equal(intelOnly.verdict, 'rejected', 'without the emulated root passed explicitly, the quote is refused');
  await app.destroy();
});

test('the QE refuses to quote a REPORT made for another enclave or on another platform', async () => {
  const app0 = await appOn(0);
  const wp0 = world.platforms[0];
  const wp1 = world.platforms[1];
  const toOtherQe = (await app0.ecall('report', wp1.quoting.targetInfo(), new Uint8Array(64))) as Uint8Array;
  await assert.rejects(wp1.quoting.quote(toOtherQe), /MAC/); // made on platform 0 for platform 1's QE: other CPU keys
  const toSelf = (await app0.ecall('report', app0.targetInfo(), new Uint8Array(64))) as Uint8Array;
  await assert.rejects(wp0.quoting.quote(toSelf), /MAC/);
  await app0.destroy();
});

test('two platforms have different PCK keys and attestation keys; each quote names its own platform', async () => {
  const [a, b] = world.platforms;
  assert.notDeepEqual(a.quoting.attestationKey, b.quoting.attestationKey);
  assert.notDeepEqual(a.quoting.pckChain[0], b.quoting.pckChain[0]);
  const app1 = await appOn(1);
  const a1 = await verify(
    await b.quoting.quote((await app1.ecall('report', b.quoting.targetInfo(), new Uint8Array(64))) as Uint8Array),
  );
  assert.equal(a1.verdict, 'accepted');
  assert.equal(a1.platform?.ppid, b.ppid);
  await app1.destroy();
});

test('a DEBUG application enclave is quoted, and the default policy refuses it', async () => {
  const wp = world.platforms[0];
  const app = await appOn(0, true);
  const quote = await wp.quoting.quote(
    (await app.ecall('report', wp.quoting.targetInfo(), new Uint8Array(64))) as Uint8Array,
  );
  const refused = await verify(quote);
  assert.equal(refused.verdict, 'rejected');
  assert.equal(refused.error?.check, 'policy.debug');
  assert.equal((await verify(quote, { allowDebug: true })).verdict, 'accepted');
  await app.destroy();
});

test('the QE attestation key is sealed: a restarted platform with the same state keeps it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'catena-qe-'));
  dirs.push(dir);
  const issuer = world.manufacturer.pckIssuer('processor');
  const start = async () => {
    const p = await Platform.open({ dataDir: join(dir, 'platform') });
    const q = await QuotingService.start(p, { images: world.quotingImages, issuer, stateDir: join(dir, 'qe') });
    return { p, q };
  };
  const first = await start();
  const key1 = hex(first.q.attestationKey);
  await first.q.stop();
  await first.p.close();
  const second = await start();
  assert.equal(hex(second.q.attestationKey), key1);
  await second.q.stop();
  await second.p.close();
  const other = await Platform.open({});
  const q3 = await QuotingService.start(other, { images: world.quotingImages, issuer });
  assert.notEqual(hex(q3.attestationKey), key1);
  await q3.stop();
  await other.close();
});

test('a platform below the latest TCB level is reported as such (SWHardeningNeeded)', async () => {
  const low = await EmulatedWorld.create({ tcbLevel: 1 });
  try {
    const wp = low.platforms[0];
    const app = await wp.platform.loadEnclave(buildEnclave(APP, { isvProdId: 4, isvSvn: 2 }, vendor), {
      runtime: 'inline',
    });
    const quote = await wp.quoting.quote(
      (await app.ecall('report', wp.quoting.targetInfo(), new Uint8Array(64))) as Uint8Array,
    );
    const collateral = collateralFromQvlJson(await low.collateralFor());
    const a = await new DcapVerifier().verify(quote, { collateral, at: new Date(), trustedRoots: [low.root] });
    assert.equal(a.tcbStatus, 'SWHardeningNeeded');
    assert.equal(a.verdict, 'rejected', 'the default policy accepts UpToDate only');
    assert.equal(a.error?.check, 'policy.tcbStatus');
    await app.destroy();
  } finally {
    await low.close();
  }
});
