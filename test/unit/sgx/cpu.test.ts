import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aesCmac } from '../../../src/crypto/cmac.ts';
import { KEY_NAME, KEY_POLICY } from '../../../src/formats/keyrequest.ts';
import { parseReport } from '../../../src/formats/report.ts';
import { parseTargetInfo } from '../../../src/formats/targetinfo.ts';
import {
  DEBUG,
  einit,
  keyRequest,
  MODE64,
  newCpu,
  PROVISIONKEY,
  rejectsWithCode,
  reportKeyRequest,
} from './helpers.ts';

const rd = (b: number) => new Uint8Array(64).fill(b);

test('EREPORT: the MAC verifies under the target’s EGETKEY(REPORT) key and not under another enclave’s', () => {
  const cpu = newCpu();
  const a = einit(cpu);
  const b = einit(cpu);
  const c = einit(cpu);
  const report = parseReport(cpu.ereport(a, cpu.targetInfoOf(b), rd(7)));
  const kb = cpu.egetkey(b, reportKeyRequest(report.keyId));
  const kc = cpu.egetkey(c, reportKeyRequest(report.keyId));
  const ka = cpu.egetkey(a, reportKeyRequest(report.keyId));
  assert.deepEqual(aesCmac(kb, report.rawBody), report.mac);
  assert.notDeepEqual(aesCmac(kc, report.rawBody), report.mac);
  assert.notDeepEqual(aesCmac(ka, report.rawBody), report.mac, 'the reporter’s own key must not verify a report for B');
});

test('EREPORT: the body is the caller’s SECS, not anything the caller chose', () => {
  const cpu = newCpu(undefined, Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6]));
  const mrEnclave = new Uint8Array(32).fill(0x5a);
  const mrSigner = new Uint8Array(32).fill(0xc3);
  const a = einit(cpu, { mrEnclave, mrSigner, isvProdId: 0x1234, isvSvn: 0x42, flags: MODE64 | DEBUG });
  const b = einit(cpu);
  const r = parseReport(cpu.ereport(a, cpu.targetInfoOf(b), rd(1)));
  assert.deepEqual(r.body.mrEnclave, mrEnclave);
  assert.deepEqual(r.body.mrSigner, mrSigner);
  assert.equal(r.body.isvProdId, 0x1234);
  assert.equal(r.body.isvSvn, 0x42);
  assert.equal(r.body.attributes.flags, MODE64 | DEBUG | 1n, 'INIT is set after EINIT');
  assert.deepEqual(r.body.cpuSvn, cpu.cpuSvn);
  assert.deepEqual(r.body.reportData, rd(1));
  // TARGETINFO names the enclave by the same SECS values.
  const ti = parseTargetInfo(cpu.targetInfoOf(a));
  assert.deepEqual(ti.mrEnclave, mrEnclave);
  assert.equal(ti.attributes.flags, MODE64 | DEBUG | 1n);
});

test('EREPORT: any single flipped bit in the body or MAC fails verification', () => {
  const cpu = newCpu();
  const a = einit(cpu);
  const b = einit(cpu);
  const bytes = cpu.ereport(a, cpu.targetInfoOf(b), rd(3));
  const key = cpu.egetkey(b, reportKeyRequest(parseReport(bytes).keyId));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 384 + 16 - 1 }), fc.integer({ min: 0, max: 7 }), (i, bit) => {
      const t = bytes.slice();
      t[i < 384 ? i : 384 + 32 + (i - 384)] ^= 1 << bit;
      const r = parseReport(t);
      return !equalBytes(aesCmac(key, r.rawBody), r.mac);
    }),
    { numRuns: 300 },
  );
});

test('EREPORT: a report from another platform does not verify (different root secrets)', () => {
  const p1 = newCpu();
  const p2 = newCpu();
  const mrEnclave = new Uint8Array(32).fill(1);
  const a1 = einit(p1, { mrEnclave });
  const b1 = einit(p1);
  const b2 = einit(p2, { mrEnclave: p1.identityOf(b1).mrEnclave });
  // Same target identity on both platforms; a report made on p2 must not verify on p1.
  const fromP2 = parseReport(p2.ereport(einit(p2, { mrEnclave }), p2.targetInfoOf(b2), rd(2)));
  const k1 = p1.egetkey(b1, reportKeyRequest(fromP2.keyId));
  assert.notDeepEqual(aesCmac(k1, fromP2.rawBody), fromP2.mac);
  const fromP1 = parseReport(p1.ereport(a1, p1.targetInfoOf(b1), rd(2)));
  assert.deepEqual(aesCmac(p1.egetkey(b1, reportKeyRequest(fromP1.keyId)), fromP1.rawBody), fromP1.mac);
});

test('EREPORT: KEYID is per boot; a restarted CPU (same secrets) still verifies older reports', () => {
  const secrets = new Uint8Array(64).fill(0x77);
  const boot1 = newCpu(secrets);
  const mr = new Uint8Array(32).fill(4);
  const a = einit(boot1);
  const b = einit(boot1, { mrEnclave: mr });
  const r1 = parseReport(boot1.ereport(a, boot1.targetInfoOf(b), rd(0)));
  const r2 = parseReport(boot1.ereport(a, boot1.targetInfoOf(b), rd(0)));
  assert.deepEqual(r1.keyId, r2.keyId);
  const boot2 = newCpu(secrets);
  const b2 = einit(boot2, { mrEnclave: mr });
  const r3 = parseReport(boot2.ereport(einit(boot2), boot2.targetInfoOf(b2), rd(0)));
  assert.notDeepEqual(r3.keyId, r1.keyId);
  assert.deepEqual(aesCmac(boot2.egetkey(b2, reportKeyRequest(r1.keyId)), r1.rawBody), r1.mac);
});

test('EREPORT rejects wrong-length TARGETINFO and REPORTDATA', async () => {
  const cpu = newCpu();
  const a = einit(cpu);
  await rejectsWithCode(() => cpu.ereport(a, new Uint8Array(511), rd(0)), 'ERR_EREPORT_INPUT');
  await rejectsWithCode(() => cpu.ereport(a, cpu.targetInfoOf(a), new Uint8Array(63)), 'ERR_EREPORT_INPUT');
});

/** The documented derivation, written out independently of src/sgx/key-derivation.ts (offsets from docs). */
function expectedKey(
  root: Uint8Array,
  f: {
    keyName: number;
    isvProdId?: number;
    isvSvn?: number;
    ownerEpoch?: Uint8Array;
    flags?: bigint;
    xfrm?: bigint;
    maskFlags?: bigint;
    maskXfrm?: bigint;
    mrEnclave?: Uint8Array;
    mrSigner?: Uint8Array;
    keyId?: Uint8Array;
    cpuSvn?: Uint8Array;
    miscSelect?: number;
    miscMask?: number;
    keyPolicy?: number;
  },
): Uint8Array {
  const b = new Uint8Array(642);
  const v = new DataView(b.buffer);
  v.setUint16(0, f.keyName, true);
  v.setUint16(2, f.isvProdId ?? 0, true);
  v.setUint16(4, f.isvSvn ?? 0, true);
  if (f.ownerEpoch) b.set(f.ownerEpoch, 6);
  v.setBigUint64(22, f.flags ?? 0n, true);
  v.setBigUint64(30, f.xfrm ?? 0n, true);
  v.setBigUint64(38, f.maskFlags ?? 0n, true);
  v.setBigUint64(46, f.maskXfrm ?? 0n, true);
  if (f.mrEnclave) b.set(f.mrEnclave, 54);
  if (f.mrSigner) b.set(f.mrSigner, 86);
  if (f.keyId) b.set(f.keyId, 118);
  if (f.cpuSvn) b.set(f.cpuSvn, 166);
  v.setUint32(534, f.miscSelect ?? 0, true);
  v.setUint32(538, f.miscMask ?? 0, true);
  v.setUint16(542, f.keyPolicy ?? 0, true);
  return aesCmac(root, b);
}

test('key derivation matches the documented KEYDEPENDENCIES layout (SEAL, REPORT, PROVISION)', () => {
  const epoch = new Uint8Array(16).fill(0x11);
  const reportRoot = new Uint8Array(16).fill(0x22);
  const sealRoot = new Uint8Array(16).fill(0x33);
  const provRoot = new Uint8Array(16).fill(0x44);
  const secrets = new Uint8Array([...epoch, ...reportRoot, ...sealRoot, ...provRoot]);
  const cpuSvn = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const cpu = newCpu(secrets, cpuSvn);
  const mrEnclave = new Uint8Array(32).fill(0xe1);
  const mrSigner = new Uint8Array(32).fill(0x51);
  const e = einit(cpu, { mrEnclave, mrSigner, isvProdId: 9, isvSvn: 4, flags: MODE64 | PROVISIONKEY }, true);
  const keyId = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const reqSvn = Uint8Array.from({ length: 16 }, (_, i) => i);
  const seal = cpu.egetkey(
    e,
    keyRequest({
      keyName: KEY_NAME.SEAL,
      keyPolicy: KEY_POLICY.MRENCLAVE,
      isvSvn: 3,
      cpuSvn: reqSvn,
      attributeMask: { flags: 0xff0000000000000bn, xfrm: 0n },
      keyId,
      miscMask: 0xf0000000,
    }),
  );
  assert.deepEqual(
    seal,
    expectedKey(sealRoot, {
      keyName: 4,
      isvProdId: 9,
      isvSvn: 3,
      ownerEpoch: epoch,
      flags: 0x1n /* INIT, masked (DEBUG 0) */,
      maskFlags: 0xff0000000000000bn,
      mrEnclave,
      keyId,
      cpuSvn: reqSvn,
      miscMask: 0xf0000000,
      keyPolicy: 1,
    }),
  );
  const report = cpu.egetkey(e, reportKeyRequest(keyId));
  assert.deepEqual(
    report,
    expectedKey(reportRoot, {
      keyName: 3,
      ownerEpoch: epoch,
      flags: MODE64 | PROVISIONKEY | 1n,
      xfrm: 3n,
      mrEnclave,
      keyId,
      cpuSvn,
    }),
  );
  const prov = cpu.egetkey(
    e,
    keyRequest({ keyName: KEY_NAME.PROVISION, isvSvn: 4, cpuSvn, attributeMask: { flags: 0xffn, xfrm: 0n } }),
  );
  assert.deepEqual(
    prov,
    expectedKey(provRoot, {
      keyName: 1,
      isvProdId: 9,
      isvSvn: 4,
      flags: (MODE64 | PROVISIONKEY | 1n) & 0xffn,
      maskFlags: 0xffn,
      mrSigner,
      cpuSvn,
    }),
  );
});

const sealReq = (
  o: { policy?: number; isvSvn?: number; cpuSvn?: Uint8Array; keyId?: Uint8Array; maskFlags?: bigint } = {},
) =>
  keyRequest({
    keyName: KEY_NAME.SEAL,
    keyPolicy: o.policy ?? KEY_POLICY.MRENCLAVE,
    isvSvn: o.isvSvn ?? 5,
    cpuSvn: o.cpuSvn ?? new Uint8Array(16).fill(2),
    keyId: o.keyId ?? new Uint8Array(32).fill(9),
    attributeMask: { flags: o.maskFlags ?? 0xff0000000000000bn, xfrm: 0n },
  });

test('EGETKEY(SEAL) refuses an ISVSVN or a CPUSVN above the caller’s, and accepts lower ones with different keys', async () => {
  const cpu = newCpu();
  const e = einit(cpu, { isvSvn: 5 });
  await rejectsWithCode(() => cpu.egetkey(e, sealReq({ isvSvn: 6 })), 'ERR_EGETKEY_ISVSVN');
  const higher = new Uint8Array(16).fill(2);
  higher[15] = 3;
  await rejectsWithCode(() => cpu.egetkey(e, sealReq({ cpuSvn: higher })), 'ERR_EGETKEY_CPUSVN');
  const k5 = cpu.egetkey(e, sealReq({ isvSvn: 5 }));
  const k4 = cpu.egetkey(e, sealReq({ isvSvn: 4 }));
  const lower = new Uint8Array(16).fill(2);
  lower[0] = 1;
  const kLowCpu = cpu.egetkey(e, sealReq({ cpuSvn: lower }));
  assert.notDeepEqual(k5, k4);
  assert.notDeepEqual(k5, kLowCpu);
  assert.deepEqual(cpu.egetkey(e, sealReq({ isvSvn: 5 })), k5, 'deterministic');
});

test('EGETKEY(SEAL): MRENCLAVE policy separates enclaves; MRSIGNER policy shares a key across one signer’s product', () => {
  const cpu = newCpu();
  const signer = new Uint8Array(32).fill(0x99);
  const v1 = einit(cpu, { mrSigner: signer, isvProdId: 1, isvSvn: 5 });
  const v2 = einit(cpu, { mrSigner: signer, isvProdId: 1, isvSvn: 5 });
  const other = einit(cpu, { mrSigner: new Uint8Array(32).fill(0x98), isvProdId: 1, isvSvn: 5 });
  const otherProd = einit(cpu, { mrSigner: signer, isvProdId: 2, isvSvn: 5 });
  assert.notDeepEqual(cpu.egetkey(v1, sealReq()), cpu.egetkey(v2, sealReq()));
  const s = sealReq({ policy: KEY_POLICY.MRSIGNER });
  assert.deepEqual(cpu.egetkey(v1, s), cpu.egetkey(v2, s));
  assert.notDeepEqual(cpu.egetkey(v1, s), cpu.egetkey(other, s));
  assert.notDeepEqual(cpu.egetkey(v1, s), cpu.egetkey(otherProd, s));
  assert.notDeepEqual(
    cpu.egetkey(v1, s),
    cpu.egetkey(v1, sealReq({ policy: KEY_POLICY.MRSIGNER, keyId: new Uint8Array(32) })),
    'key id matters',
  );
});

test('EGETKEY: DEBUG is always in the attribute mask, so a debug twin cannot derive production seal keys', () => {
  const cpu = newCpu();
  const signer = new Uint8Array(32).fill(0x42);
  const prod = einit(cpu, { mrSigner: signer });
  const dbg = einit(cpu, { mrSigner: signer, flags: MODE64 | DEBUG });
  const req = sealReq({ policy: KEY_POLICY.MRSIGNER, maskFlags: 0n });
  assert.notDeepEqual(cpu.egetkey(prod, req), cpu.egetkey(dbg, req));
});

test('EGETKEY refuses PROVISION keys without PROVISIONKEY, EINITTOKEN keys, KSS policies, reserved bytes and bad lengths', async () => {
  const cpu = newCpu();
  const plain = einit(cpu);
  const prov = einit(cpu, { flags: MODE64 | PROVISIONKEY }, true);
  const pr = keyRequest({ keyName: KEY_NAME.PROVISION });
  await rejectsWithCode(() => cpu.egetkey(plain, pr), 'ERR_EGETKEY_ATTRIBUTE');
  await rejectsWithCode(
    () => cpu.egetkey(plain, keyRequest({ keyName: KEY_NAME.PROVISION_SEAL })),
    'ERR_EGETKEY_ATTRIBUTE',
  );
  assert.equal(cpu.egetkey(prov, pr).length, 16);
  assert.equal(cpu.egetkey(prov, keyRequest({ keyName: KEY_NAME.PROVISION_SEAL })).length, 16);
  await rejectsWithCode(() => cpu.egetkey(prov, keyRequest({ keyName: KEY_NAME.EINITTOKEN })), 'ERR_EGETKEY_ATTRIBUTE');
  await rejectsWithCode(() => cpu.egetkey(plain, keyRequest({ keyName: 9 })), 'ERR_EGETKEY_KEYREQUEST');
  await rejectsWithCode(
    () => cpu.egetkey(plain, keyRequest({ keyName: KEY_NAME.SEAL, keyPolicy: KEY_POLICY.ISVFAMILYID })),
    'ERR_EGETKEY_KEYREQUEST',
  );
  const reserved = sealReq();
  reserved[300] = 1;
  await rejectsWithCode(() => cpu.egetkey(plain, reserved), 'ERR_EGETKEY_KEYREQUEST');
  await rejectsWithCode(() => cpu.egetkey(plain, new Uint8Array(511)), 'ERR_EGETKEY_KEYREQUEST');
});

test('EINIT refusals (CPU level): signature, ENCLAVEHASH, DEBUG, attributes, MISCSELECT, PROVISIONKEY launch policy', async () => {
  const cpu = newCpu();
  const mr = new Uint8Array(32).fill(3);
  const base = {
    mrEnclave: mr,
    attributes: { flags: MODE64, xfrm: 3n },
    miscSelect: 0,
    sigstruct: {
      enclaveHash: mr,
      attributes: { flags: MODE64, xfrm: 3n },
      attributeMask: { flags: 0xffffffffffffffffn, xfrm: 0xffffffffffffff1bn },
      miscSelect: 0,
      miscMask: 0xffffffff,
      isvProdId: 1,
      isvSvn: 1,
    },
    signatureOk: true,
    signatureFailures: [],
    mrSigner: new Uint8Array(32),
  };
  const no = () => false;
  assert.ok(cpu.einit(base, no).ref);
  await rejectsWithCode(
    () => cpu.einit({ ...base, signatureOk: false, signatureFailures: ['signature'] }, no),
    'ERR_EINIT_SIGNATURE',
  );
  await rejectsWithCode(
    () => cpu.einit({ ...base, mrEnclave: new Uint8Array(32).fill(4) }, no),
    'ERR_EINIT_ENCLAVEHASH',
  );
  await rejectsWithCode(
    () => cpu.einit({ ...base, attributes: { flags: MODE64 | DEBUG, xfrm: 3n } }, no),
    'ERR_EINIT_DEBUG',
  );
  await rejectsWithCode(
    () => cpu.einit({ ...base, attributes: { flags: MODE64, xfrm: 0x13n } }, no),
    'ERR_EINIT_ATTRIBUTES',
  );
  await rejectsWithCode(
    () => cpu.einit({ ...base, attributes: { flags: MODE64 | 0x20n, xfrm: 3n } }, no),
    'ERR_EINIT_ATTRIBUTES',
  );
  await rejectsWithCode(() => cpu.einit({ ...base, miscSelect: 1 }, no), 'ERR_EINIT_MISCSELECT');
  const provSig = { ...base.sigstruct, attributes: { flags: MODE64 | PROVISIONKEY, xfrm: 3n } };
  const provReq = { ...base, attributes: { flags: MODE64 | PROVISIONKEY, xfrm: 3n }, sigstruct: provSig };
  await rejectsWithCode(() => cpu.einit(provReq, no), 'ERR_EINIT_PROVISIONKEY');
  assert.ok(cpu.einit(provReq, () => true).ref);
  // A SIGSTRUCT that masks DEBUG out admits both a debug and a production launch.
  const loose = {
    ...base.sigstruct,
    attributeMask: { flags: ~DEBUG & 0xffffffffffffffffn, xfrm: 0xffffffffffffff1bn },
  };
  assert.ok(cpu.einit({ ...base, sigstruct: loose, attributes: { flags: MODE64 | DEBUG, xfrm: 3n } }, no).ref);
});

test('a destroyed enclave’s ref stops working; a halted CPU refuses everything', async () => {
  const cpu = newCpu();
  const a = einit(cpu);
  const b = einit(cpu);
  cpu.eremove(a);
  await rejectsWithCode(() => cpu.ereport(a, cpu.targetInfoOf(b), rd(0)), 'ERR_ENCLAVE_DESTROYED');
  const other = newCpu();
  await rejectsWithCode(() => other.egetkey(b, sealReq()), 'ERR_ENCLAVE_DESTROYED');
  cpu.halt();
  await rejectsWithCode(() => cpu.egetkey(b, sealReq()), 'ERR_PLATFORM_CLOSED');
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
