import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { X509Certificate } from 'node:crypto';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildEnclave } from '../../../src/sgx/build.ts';
import { collateralJson, Manufacturer, normalizeSerial } from '../../../src/sgx/manufacturer/index.ts';
import { DEFAULT_FMSPC } from '../../../src/sgx/platform.ts';

/**
 * A third-party DCAP verifier (@phala/dcap-qvl, newWithRootCa) on an emulated quote and the
 * manufacturer's collateral: accepted under the emulated root, and the manufacturer's TCB recovery and
 * revocation change its verdict the way Intel's would.
 */
const require = createRequire(import.meta.url);
const { QuoteVerifier, verify: verifyWithIntelRoot } = require('@phala/dcap-qvl') as {
  QuoteVerifier: {
    newWithRootCa(root: Buffer): {
      verify(q: Buffer, c: unknown, now: number): { status: string; advisory_ids: string[] };
    };
  };
  verify: (q: Buffer, c: unknown, now: number) => unknown;
};

const APP = `export default function app(ctx) { return { report: (ti, rd) => ctx.ereport(ti, rd) }; }\n`;
let manufacturer: Manufacturer;
let world: EmulatedWorld;
let quote: Buffer;

before(async () => {
  manufacturer = await Manufacturer.create({ clock: () => new Date(Date.now() - 3_600_000) });
  world = await EmulatedWorld.create({ manufacturer });
  const wp = world.platforms[0];
  const app = await wp.platform.loadEnclave(buildEnclave(APP, { isvProdId: 1, isvSvn: 1 }, generateVendorKey()), {
    runtime: 'inline',
  });
  quote = Buffer.from(
    await wp.quoting.quote(
      (await app.ecall('report', wp.quoting.targetInfo(), new Uint8Array(64).fill(0xab))) as Uint8Array,
    ),
  );
  await app.destroy();
});
after(async () => {
  await world?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const collateral = async () => collateralJson(await manufacturer.collateral(DEFAULT_FMSPC, 'processor'));
const qvl = () => QuoteVerifier.newWithRootCa(Buffer.from(manufacturer.root));

test('dcap-qvl accepts the emulated quote under the emulated root: UpToDate, no advisories', async () => {
  const r = qvl().verify(quote, await collateral(), now());
  assert.equal(r.status, 'UpToDate');
  assert.deepEqual(r.advisory_ids, []);
});

test("dcap-qvl refuses it under Intel's root, and under another emulated root", async () => {
  const c = await collateral();
  assert.throws(() => verifyWithIntelRoot(quote, c, now()));
  const other = await Manufacturer.create();
  assert.throws(() => QuoteVerifier.newWithRootCa(Buffer.from(other.root)).verify(quote, c, now()));
});

test('dcap-qvl refuses it once the collateral has expired', async () => {
  const c = await collateral();
  const nextUpdate = Date.parse(JSON.parse(c.tcb_info).nextUpdate) / 1000;
  assert.throws(() => qvl().verify(quote, c, nextUpdate + 60), /expired/i);
});

test('after a TCB recovery the same platform is OutOfDate with the new advisory', async () => {
  const { tcbEvaluationDataNumber } = manufacturer.publishTcbRecovery(DEFAULT_FMSPC, { advisoryId: 'CATENA-SA-09999' });
  const c = await collateral();
  assert.equal(JSON.parse(c.tcb_info).tcbEvaluationDataNumber, tcbEvaluationDataNumber);
  const r = qvl().verify(quote, c, now());
  assert.equal(r.status, 'OutOfDate');
  assert.ok(r.advisory_ids.includes('CATENA-SA-09999'));
});

test('after the PCK is revoked dcap-qvl refuses the quote', async () => {
  const pck = world.platforms[0].quoting.pckChain[0];
  manufacturer.revokePck(pck);
  assert.ok(
    manufacturer.revoked('processor').some((e) => e.serial === normalizeSerial(new X509Certificate(pck).serialNumber)),
  );
  const c = await collateral();
  assert.throws(() => qvl().verify(quote, c, now()), /revoked/i);
});
