import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { aesCmac } from '../../../src/crypto/cmac.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { KEY_NAME, KEY_POLICY, serializeKeyRequest } from '../../../src/formats/keyrequest.ts';
import { parseReport } from '../../../src/formats/report.ts';
import { signSigstruct, parseSigstruct } from '../../../src/formats/sigstruct.ts';
import { buildEnclave, type EnclaveImage } from '../../../src/sgx/build.ts';
import { Platform } from '../../../src/sgx/platform.ts';
import type { EnclaveHandle } from '../../../src/sgx/enclave.ts';
import { rejectsWithCode } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const src = (name: string) => readFileSync(join(ROOT, 'enclaves', name, `${name}.js`), 'utf8');
const vendorKey = generateVendorKey();
const hello = buildEnclave(src('hello'), { isvProdId: 1, isvSvn: 1 }, vendorKey, { date: '20250101' });
const sealer = buildEnclave(src('sealer'), { isvProdId: 2, isvSvn: 3 }, vendorKey, { date: '20250101' });
const attester = buildEnclave(src('attester'), { isvProdId: 3, isvSvn: 1 }, vendorKey, { date: '20250101' });
const tmp = mkdtempSync(join(tmpdir(), 'catena-platform-'));
const platforms: Platform[] = [];
async function open(opts: Parameters<typeof Platform.open>[0] = {}): Promise<Platform> {
  const p = await Platform.open(opts);
  platforms.push(p);
  return p;
}
after(async () => {
  await Promise.all(platforms.map((p) => p.close()));
  rmSync(tmp, { recursive: true, force: true });
});

const te = new TextEncoder();
const reportKeyRequest = (keyId: Uint8Array) =>
  serializeKeyRequest({
    keyName: KEY_NAME.REPORT,
    keyPolicy: 0,
    isvSvn: 0,
    cpuSvn: new Uint8Array(16),
    attributeMask: { flags: 0n, xfrm: 0n },
    keyId,
    miscMask: 0,
    configSvn: 0,
  });

test('the same image gets the same identity in both runtimes, fixed by the CPU from the measurement and SIGSTRUCT', async () => {
  const p = await open();
  const iso = await p.loadEnclave(hello, { runtime: 'isolated' });
  const inl = await p.loadEnclave(hello, { runtime: 'inline' });
  assert.deepEqual(iso.identity, inl.identity);
  assert.deepEqual(iso.identity.mrEnclave, hello.mrEnclave);
  assert.deepEqual(iso.identity.mrSigner, hello.mrSigner);
  assert.equal(iso.identity.isvProdId, 1);
  assert.equal(iso.identity.isvSvn, 1);
  assert.equal(iso.identity.attributes.flags, 0x5n, 'INIT | MODE64BIT');
  assert.deepEqual(iso.targetInfo(), inl.targetInfo());
  // What the enclave code sees of itself is the same too.
  assert.deepEqual(await iso.ecall('identity'), await inl.ecall('identity'));
  assert.equal(iso.platformId, p.identity.id);
});

test('the isolated runtime really runs in a worker thread; the inline one on the caller’s thread', async () => {
  const p = await open();
  const iso = await p.loadEnclave(hello, { runtime: 'isolated' });
  const inl = await p.loadEnclave(hello, { runtime: 'inline' });
  const wi = (await iso.ecall('whereAmI')) as { isMainThread: boolean; threadId: number; runtime: string };
  const wl = (await inl.ecall('whereAmI')) as { isMainThread: boolean; threadId: number; runtime: string };
  assert.equal(wi.isMainThread, false);
  assert.notEqual(wi.threadId, threadId);
  assert.equal(wi.runtime, 'isolated');
  assert.equal(wl.isMainThread, isMainThread);
  assert.equal(wl.threadId, threadId);
  const iso2 = await p.loadEnclave(hello, { runtime: 'isolated' });
  assert.notEqual(
    ((await iso2.ecall('whereAmI')) as { threadId: number }).threadId,
    wi.threadId,
    'one worker per enclave',
  );
  // Per-enclave state: each instance counts its own greetings.
  assert.match((await iso.ecall('hello', 'a')) as string, /greeting 1/);
  assert.match((await iso.ecall('hello', 'b')) as string, /greeting 2/);
  assert.match((await iso2.ecall('hello', 'c')) as string, /greeting 1/);
  assert.match((await inl.ecall('hello', 'd')) as string, /greeting 1/);
});

test('the module that runs is the measured one, not image.moduleSource', async () => {
  const p = await open();
  const forged: EnclaveImage = { ...hello, moduleSource: 'export default () => ({ whereAmI: () => "forged" });' };
  for (const runtime of ['inline', 'isolated'] as const) {
    const h = await p.loadEnclave(forged, { runtime });
    assert.notEqual(await h.ecall('whereAmI'), 'forged');
  }
});

test('EREPORT across runtimes: the target verifies the MAC; a third enclave and another platform cannot', async () => {
  const p = await open();
  const q = await open();
  const reporter = await p.loadEnclave(attester, { runtime: 'isolated' });
  const target = await p.loadEnclave(attester, { runtime: 'inline' });
  const bystander = await p.loadEnclave(hello, { runtime: 'inline' });
  const rd = new Uint8Array(64).fill(0xa5);
  const report = (await reporter.ecall('report', target.targetInfo(), rd)) as Uint8Array;
  const v = (await target.ecall('verifyReport', report)) as {
    ok: boolean;
    mrEnclave: Uint8Array;
    reportData: Uint8Array;
  };
  assert.equal(v.ok, true);
  assert.deepEqual(v.mrEnclave, attester.mrEnclave);
  assert.deepEqual(v.reportData, rd);
  // Made for the target, not for the bystander (whose report key differs).
  const sealerOnP = await p.loadEnclave(sealer, { runtime: 'inline' });
  const r = parseReport(report);
  const k = (await sealerOnP.ecall('egetkey', reportKeyRequest(r.keyId))) as Uint8Array;
  assert.notDeepEqual(aesCmac(k, r.rawBody), r.mac);
  void bystander;
  // The same target image on another platform cannot verify it.
  const targetOnQ = await q.loadEnclave(attester, { runtime: 'inline' });
  assert.equal(((await targetOnQ.ecall('verifyReport', report)) as { ok: boolean }).ok, false);
  // A flipped body bit fails.
  const flipped = report.slice();
  flipped[100] ^= 4;
  assert.equal(((await target.ecall('verifyReport', flipped)) as { ok: boolean }).ok, false);
});

test('a platform persists its identity and root secrets: the same enclave unseals after a restart; nobody else can', async () => {
  const dir = join(tmp, 'p1');
  const p1 = await Platform.open({ dataDir: dir, name: 'alpha' });
  const e1 = await p1.loadEnclave(sealer, { runtime: 'isolated' });
  const blob = (await e1.ecall('seal', te.encode('sealed across reboots'), 'mrenclave')) as Uint8Array;
  const bySigner = (await e1.ecall('seal', te.encode('for the vendor'), 'mrsigner')) as Uint8Array;
  const id1 = p1.identity;
  await p1.close();
  assert.equal(statSync(join(dir, 'root-secrets.bin')).mode & 0o777, 0o600);
  const secrets = readFileSync(join(dir, 'root-secrets.bin'));
  assert.ok(!readFileSync(join(dir, 'platform.json'), 'utf8').includes(secrets.subarray(16, 32).toString('hex')));

  const p1again = await open({ dataDir: dir });
  assert.equal(p1again.identity.id, id1.id);
  assert.equal(p1again.identity.name, 'alpha');
  assert.deepEqual(p1again.identity.ppid, id1.ppid);
  const e1again = await p1again.loadEnclave(sealer, { runtime: 'inline' });
  assert.deepEqual(await e1again.ecall('unseal', blob), te.encode('sealed across reboots'));

  const p2 = await open({ dataDir: join(tmp, 'p2') });
  assert.notEqual(p2.identity.id, id1.id);
  assert.notDeepEqual(p2.identity.ppid, id1.ppid);
  const e2 = await p2.loadEnclave(sealer, { runtime: 'isolated' });
  await rejectsWithCode(e2.ecall('unseal', blob), 'ERR_UNSEAL_MAC');
  await rejectsWithCode(e2.ecall('unseal', bySigner), 'ERR_UNSEAL_MAC');

  // Another enclave on the same platform: a different module (MRENCLAVE policy) fails; the same
  // vendor's other enclave opens MRSIGNER-sealed data only if it is the same product (ISVPRODID).
  const other = buildEnclave(src('sealer') + '\n// v2\n', { isvProdId: 2, isvSvn: 3 }, vendorKey);
  const e3 = await p1again.loadEnclave(other, { runtime: 'isolated' });
  await rejectsWithCode(e3.ecall('unseal', blob), 'ERR_UNSEAL_MAC');
  assert.deepEqual(await e3.ecall('unseal', bySigner), te.encode('for the vendor'));
  const otherProduct = buildEnclave(src('sealer'), { isvProdId: 9, isvSvn: 3 }, vendorKey);
  const e4 = await p1again.loadEnclave(otherProduct, { runtime: 'inline' });
  await rejectsWithCode(e4.ecall('unseal', bySigner), 'ERR_UNSEAL_MAC');
});

test('reopening: FMSPC/PCE-ID are fixed; a TCB update raises CPUSVN, persists, and keeps old sealed data readable', async () => {
  const dir = join(tmp, 'p3');
  const comps = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const p = await Platform.open({ dataDir: dir, tcbComponents: comps });
  assert.deepEqual(p.identity.cpuSvn, Uint8Array.from(comps));
  const blob = (await (
    await p.loadEnclave(sealer, { runtime: 'inline' })
  ).ecall('seal', te.encode('v1'), 'mrsigner')) as Uint8Array;
  await p.close();
  await rejectsWithCode(Platform.open({ dataDir: dir, fmspc: new Uint8Array(6).fill(9) }), 'ERR_PLATFORM_DATA');
  await rejectsWithCode(Platform.open({ dataDir: dir, pceId: 7 }), 'ERR_PLATFORM_DATA');
  const newer = comps.map((c, i) => (i < 6 ? c + 1 : c));
  const up = await Platform.open({ dataDir: dir, tcbComponents: newer, pceSvn: 14 });
  assert.deepEqual(up.identity.cpuSvn, Uint8Array.from(newer));
  const e = await up.loadEnclave(sealer, { runtime: 'isolated' });
  assert.deepEqual(await e.ecall('unseal', blob), te.encode('v1'));
  const newBlob = (await e.ecall('seal', te.encode('v2'), 'mrsigner')) as Uint8Array;
  await up.close();
  const again = await open({ dataDir: dir });
  assert.equal(again.identity.pceSvn, 14);
  assert.deepEqual(again.identity.cpuSvn, Uint8Array.from(newer));
  // Rolled back to the old microcode, the platform cannot open data sealed under the newer CPUSVN.
  const rolledBack = await open({ dataDir: dir, tcbComponents: comps });
  const eOld = await rolledBack.loadEnclave(sealer, { runtime: 'inline' });
  await rejectsWithCode(eOld.ecall('unseal', newBlob), 'ERR_EGETKEY_CPUSVN');
});

test('EINIT refuses: bad signature, ENCLAVEHASH ≠ measurement, DEBUG mismatch, PROVISIONKEY outside the launch policy, bad image', async () => {
  const p = await open();
  for (const runtime of ['inline', 'isolated'] as const) {
    const badSig = hello.sigstruct.slice();
    badSig[1024] ^= 1; // ISVPRODID, inside the signed bytes
    await rejectsWithCode(p.loadEnclave({ ...hello, sigstruct: badSig }, { runtime }), 'ERR_EINIT_SIGNATURE');
    // A valid SIGSTRUCT for another enclave.
    await rejectsWithCode(
      p.loadEnclave({ sgxs: hello.sgxs, sigstruct: sealer.sigstruct }, { runtime }),
      'ERR_EINIT_ENCLAVEHASH',
    );
    // Production SIGSTRUCT, debug launch requested — and the converse.
    await rejectsWithCode(p.loadEnclave(hello, { runtime, debug: true }), 'ERR_EINIT_DEBUG');
    const dbg = buildEnclave(src('hello'), { isvProdId: 1, isvSvn: 1, debug: true }, vendorKey);
    await rejectsWithCode(p.loadEnclave(dbg, { runtime, debug: false }), 'ERR_EINIT_DEBUG');
    const h = await p.loadEnclave(dbg, { runtime });
    assert.equal(h.identity.attributes.flags & 0x2n, 0x2n);
    await rejectsWithCode(
      p.loadEnclave({ ...hello, sgxs: hello.sgxs.subarray(0, 1000) }, { runtime }),
      'ERR_EINIT_IMAGE',
    );
    await rejectsWithCode(
      p.loadEnclave({ ...hello, sigstruct: hello.sigstruct.subarray(1) }, { runtime }),
      'ERR_EINIT_SIGNATURE',
    );
  }
  // Attributes outside the SIGSTRUCT: re-sign the same measurement with other ATTRIBUTES but keep the old ones in the image? The
  // loader requests what SIGSTRUCT says, so an xfrm the mask pins but the CPU refuses is the reachable case: KSS (0x80).
  const s = parseSigstruct(hello.sigstruct);
  const kss = signSigstruct(
    { ...s, attributes: { flags: s.attributes.flags | 0x80n, xfrm: s.attributes.xfrm } },
    vendorKey,
  );
  await rejectsWithCode(
    p.loadEnclave({ sgxs: hello.sgxs, sigstruct: kss }, { runtime: 'inline' }),
    'ERR_EINIT_ATTRIBUTES',
  );

  const pce = buildEnclave(src('sealer'), { isvProdId: 5, isvSvn: 1, provisionKey: true }, vendorKey);
  await rejectsWithCode(p.loadEnclave(pce, { runtime: 'inline' }), 'ERR_EINIT_PROVISIONKEY');
  p.allowProvisionKey(pce.mrSigner);
  const e = await p.loadEnclave(pce, { runtime: 'isolated' });
  const prov = serializeKeyRequest({
    keyName: KEY_NAME.PROVISION,
    keyPolicy: 0,
    isvSvn: 1,
    cpuSvn: p.identity.cpuSvn,
    attributeMask: { flags: 0n, xfrm: 0n },
    keyId: new Uint8Array(32),
    miscMask: 0,
    configSvn: 0,
  });
  assert.equal(((await e.ecall('egetkey', prov)) as Uint8Array).length, 16);
  const plain = await p.loadEnclave(sealer, { runtime: 'isolated' });
  await rejectsWithCode(plain.ecall('egetkey', prov), 'ERR_EGETKEY_ATTRIBUTE');
});

test('EGETKEY from enclave code: typed refusals cross the worker boundary with their codes', async () => {
  const p = await open();
  for (const runtime of ['inline', 'isolated'] as const) {
    const e = await p.loadEnclave(sealer, { runtime });
    const req = (isvSvn: number, cpuSvn: Uint8Array) =>
      serializeKeyRequest({
        keyName: KEY_NAME.SEAL,
        keyPolicy: KEY_POLICY.MRENCLAVE,
        isvSvn,
        cpuSvn,
        attributeMask: { flags: 0n, xfrm: 0n },
        keyId: new Uint8Array(32),
        miscMask: 0,
        configSvn: 0,
      });
    await rejectsWithCode(e.ecall('egetkey', req(4, p.identity.cpuSvn)), 'ERR_EGETKEY_ISVSVN');
    const above = p.identity.cpuSvn.slice();
    above[3] += 1;
    await rejectsWithCode(e.ecall('egetkey', req(3, above)), 'ERR_EGETKEY_CPUSVN');
    const k3 = (await e.ecall('egetkey', req(3, p.identity.cpuSvn))) as Uint8Array;
    const k2 = (await e.ecall('egetkey', req(2, p.identity.cpuSvn))) as Uint8Array;
    assert.equal(k3.length, 16);
    assert.notDeepEqual(k3, k2);
  }
});

test('ECALL/OCALL plumbing: unknown names, host callbacks, destroy and close', async () => {
  const p = await open();
  const ocalls = { answer: (q: string) => `42 for ${q}` };
  const handles: EnclaveHandle[] = [];
  for (const runtime of ['inline', 'isolated'] as const) {
    const h = await p.loadEnclave(hello, { runtime, ocalls });
    handles.push(h);
    assert.equal(await h.ecall('askHost', 'life'), '42 for life');
    await rejectsWithCode(h.ecall('nope'), 'ERR_ECALL_UNKNOWN');
    await rejectsWithCode(h.ecall('constructor'), 'ERR_ECALL_UNKNOWN');
    const bare = await p.loadEnclave(hello, { runtime });
    await rejectsWithCode(bare.ecall('askHost', 'x'), 'ERR_OCALL_UNKNOWN');
    await bare.destroy();
    await rejectsWithCode(bare.ecall('hello', 'x'), 'ERR_ENCLAVE_DESTROYED');
    await bare.destroy(); // idempotent
  }
  const before = p.enclaveCount;
  assert.ok(before >= 2);
  await p.close();
  assert.equal(p.enclaveCount, 0);
  for (const h of handles) await rejectsWithCode(h.ecall('hello', 'x'), 'ERR_ENCLAVE_DESTROYED');
  await rejectsWithCode(p.loadEnclave(hello), 'ERR_PLATFORM_CLOSED');
});

test('a module without a factory, or one that throws while loading, is refused (ERR_ENCLAVE_MODULE)', async () => {
  const p = await open();
  const noFactory = buildEnclave('export const x = 1;\n', { isvProdId: 1, isvSvn: 1 }, vendorKey);
  const throws = buildEnclave('throw new Error("boom");\n', { isvProdId: 1, isvSvn: 1 }, vendorKey);
  for (const runtime of ['inline', 'isolated'] as const) {
    await rejectsWithCode(p.loadEnclave(noFactory, { runtime }), 'ERR_ENCLAVE_MODULE');
    await rejectsWithCode(p.loadEnclave(throws, { runtime }), 'ERR_ENCLAVE_MODULE');
  }
  assert.equal(p.enclaveCount, 0);
});

test('an isolated enclave whose module never finishes loading is refused after the launch timeout, not waited for', async () => {
  const p = await open();
  const stalls = buildEnclave(
    'await new Promise(() => setInterval(() => {}, 1000));\nexport default () => ({});\n',
    { isvProdId: 1, isvSvn: 1 },
    vendorKey,
  );
  const t0 = Date.now();
  await rejectsWithCode(p.loadEnclave(stalls, { runtime: 'isolated', launchTimeoutMs: 1500 }), 'ERR_ENCLAVE_MODULE');
  assert.ok(Date.now() - t0 < 30_000);
  assert.equal(p.enclaveCount, 0);
  await p.close();
});
