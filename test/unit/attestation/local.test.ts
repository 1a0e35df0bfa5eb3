import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hex } from '../../../src/bytes/util.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildEnclave, Platform, type EnclaveContext } from '../../../src/sgx/index.ts';
import {
  LocalAttestationInitiator,
  LocalAttestationResponder,
  LocalAttestationError,
  verifyLocalReport,
  type LocalAttester,
} from '../../../src/attestation/local/index.ts';
import type { IdentityPolicy } from '../../../src/attestation/identity-policy.ts';

const source = readFileSync(new URL('../../fixtures/enclaves/context.js', import.meta.url), 'utf8');
const vendor = generateVendorKey();
let p1: Platform;
let p2: Platform;
let A: EnclaveContext; // ISVPRODID 1 on p1
let B: EnclaveContext; // ISVPRODID 2 on p1
let C: EnclaveContext; // ISVPRODID 3 on p1, another MRENCLAVE
let Bdebug: EnclaveContext; // ISVPRODID 2, DEBUG, on p1
let Bother: EnclaveContext; // same image as B, on p2
let signer: string;

async function ctxOf(p: Platform, isvProdId: number, debug = false, heapSize?: number): Promise<EnclaveContext> {
  const img = buildEnclave(source, { isvProdId, isvSvn: 2, debug, ...(heapSize ? { heapSize } : {}) }, vendor);
  signer = hex(img.mrSigner);
  const h = await p.loadEnclave(img, { runtime: 'inline' });
  return (await h.ecall('context')) as EnclaveContext;
}

before(async () => {
  p1 = await Platform.open({ name: 'p1' });
  p2 = await Platform.open({ name: 'p2' });
  A = await ctxOf(p1, 1);
  B = await ctxOf(p1, 2);
  // REPORT keys depend on the target's MRENCLAVE, not its ISVPRODID (as on hardware): C gets another layout.
  C = await ctxOf(p1, 3, false, 256 * 1024);
  Bdebug = await ctxOf(p1, 2, true);
  Bother = await ctxOf(p2, 2);
});
after(async () => {
  await p1.close();
  await p2.close();
});

const expect = (isvProdId: number, extra: Partial<IdentityPolicy> = {}): IdentityPolicy => ({
  mrSigner: signer,
  isvProdId,
  minIsvSvn: 1,
  ...extra,
});

async function handshake(i: LocalAttester, r: LocalAttester, iPolicy = expect(2), rPolicy = expect(1)) {
  const ini = new LocalAttestationInitiator(i, iPolicy);
  const res = new LocalAttestationResponder(r, rPolicy);
  const msg1 = ini.start();
  const msg2 = await res.respond(msg1);
  const { msg3, session: si } = await ini.finish(msg2);
  const sr = await res.finish(msg3);
  return { si, sr, msg1, msg2, msg3 };
}

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LocalAttestationError, `expected LocalAttestationError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

test('mutual attestation opens a session both ways and each side learns the other identity', async () => {
  const { si, sr } = await handshake(A, B);
  assert.equal(si.peer.isvProdId, 2);
  assert.equal(sr.peer.isvProdId, 1);
  assert.equal(hex(si.peer.mrSigner), signer);
  const m = new TextEncoder().encode('hello');
  assert.deepEqual(sr.open(si.seal(m)), m);
  assert.deepEqual(si.open(sr.seal(m)), m);
});

test('refused: a REPORT MACed for another target (C instead of A)', async () => {
  const misdirected: LocalAttester = {
    ...B,
    selfTargetInfo: () => B.selfTargetInfo(),
    egetkey: (k) => B.egetkey(k),
    ereport: (_t, rd) => B.ereport(C.selfTargetInfo(), rd),
  };
  const ini = new LocalAttestationInitiator(A, expect(2));
  const res = new LocalAttestationResponder(misdirected, expect(1));
  const msg2 = await res.respond(ini.start());
  await refused(ini.finish(msg2), 'ERR_LA_REPORT_MAC');
});

test('refused: a REPORT from another platform (same enclave image on p2)', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const res = new LocalAttestationResponder(Bother, expect(1));
  // p2's B reports to A's TARGETINFO, but p2's CPU derives another REPORT key.
  const msg2 = await res.respond(ini.start());
  await refused(ini.finish(msg2), 'ERR_LA_REPORT_MAC');
});

test('refused: every single-bit flip anywhere in a REPORT (body, KEYID, MAC)', async () => {
  const rd = new Uint8Array(64).fill(7);
  const report = await B.ereport(A.selfTargetInfo(), rd);
  const pol = expect(2);
  await verifyLocalReport(A, report, rd, pol); // the unflipped report verifies
  for (let bit = 0; bit < report.length * 8; bit++) {
    const r = report.slice();
    r[bit >> 3] ^= 1 << (bit & 7);
    await refused(verifyLocalReport(A, r, rd, pol), 'ERR_LA_REPORT_MAC');
  }
});

test('refused: a replayed MSG2 from an earlier handshake (REPORTDATA binds the fresh nonces)', async () => {
  const first = await handshake(A, B);
  assert.ok(first.si);
  const ini = new LocalAttestationInitiator(A, expect(2));
  ini.start();
  await refused(ini.finish(first.msg2), 'ERR_LA_BINDING');
});

test('refused: a replayed MSG3 to a new responder session', async () => {
  const first = await handshake(A, B);
  const ini = new LocalAttestationInitiator(A, expect(2));
  const res = new LocalAttestationResponder(B, expect(1));
  await res.respond(ini.start());
  await refused(res.finish(first.msg3), 'ERR_LA_BINDING');
});

test('refused: reordered or repeated handshake messages', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const res = new LocalAttestationResponder(B, expect(1));
  await refused(res.finish(new Uint8Array(434)), 'ERR_LA_STATE'); // MSG3 before MSG1
  const msg1 = ini.start();
  assert.throws(
    () => ini.start(),
    (e: unknown) => e instanceof LocalAttestationError && e.code === 'ERR_LA_STATE',
  );
  const msg2 = await res.respond(msg1);
  await refused(res.respond(msg1), 'ERR_LA_STATE'); // MSG1 replayed
  await refused(ini.finish(msg1), 'ERR_LA_STATE'); // MSG1 where MSG2 is due (wrong type)
  // A message of the wrong type is dropped without ending the handshake: the real MSG2 still completes it,
  // and a second MSG2 afterwards is refused.
  const { msg3 } = await ini.finish(msg2);
  await res.finish(msg3);
  await refused(ini.finish(msg2), 'ERR_LA_STATE');
  await refused(res.finish(msg3), 'ERR_LA_STATE');
});

test('refused: malformed messages (short, long, trailing bytes)', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const msg1 = ini.start();
  for (const bad of [msg1.subarray(0, msg1.length - 1), new Uint8Array([...msg1, 0])]) {
    await refused(new LocalAttestationResponder(B, expect(1)).respond(bad), 'ERR_LA_MESSAGE');
  }
});

test('refused: a peer whose identity fails the policy', async () => {
  await refused(handshake(A, B, expect(9)), 'ERR_IDENTITY_MISMATCH'); // wrong ISVPRODID
  await refused(handshake(A, B, expect(2, { minIsvSvn: 3 })), 'ERR_IDENTITY_MISMATCH'); // ISVSVN 2 < 3
  await refused(handshake(A, B, expect(2, { mrSigner: '00'.repeat(32) })), 'ERR_IDENTITY_MISMATCH');
  await refused(handshake(A, B, {}), 'ERR_IDENTITY_MISMATCH'); // a policy that names nobody accepts nobody
  await refused(handshake(A, B, expect(2), expect(5)), 'ERR_IDENTITY_MISMATCH'); // the responder refuses A
});

test('refused: a DEBUG peer by default; accepted when the policy allows DEBUG', async () => {
  await refused(handshake(A, Bdebug), 'ERR_DEBUG_ENCLAVE');
  const { si } = await handshake(A, Bdebug, expect(2, { allowDebug: true }));
  assert.equal(si.peer.isvProdId, 2);
});

test('session refuses replayed, reordered and altered records', async () => {
  const { si, sr } = await handshake(A, B);
  const r0 = si.seal(new Uint8Array([0]));
  const r1 = si.seal(new Uint8Array([1]));
  const r2 = si.seal(new Uint8Array([2]));
  assert.throws(
    () => sr.open(r1),
    (e: unknown) => e instanceof LocalAttestationError && e.code === 'ERR_LA_SEQUENCE',
  ); // reordered
  assert.deepEqual(sr.open(r0), new Uint8Array([0]));
  assert.throws(
    () => sr.open(r0),
    (e: unknown) => e instanceof LocalAttestationError && e.code === 'ERR_LA_SEQUENCE',
  ); // replayed
  const bad = r1.slice();
  bad[bad.length - 1] ^= 1;
  assert.throws(
    () => sr.open(bad),
    (e: unknown) => e instanceof LocalAttestationError && e.code === 'ERR_LA_DECRYPT',
  );
  assert.deepEqual(sr.open(r1), new Uint8Array([1]));
  assert.deepEqual(sr.open(r2), new Uint8Array([2]));
  // A record sealed for one direction does not open in the other.
  assert.throws(
    () => si.open(si.seal(new Uint8Array([3]))),
    (e: unknown) => e instanceof LocalAttestationError,
  );
});
