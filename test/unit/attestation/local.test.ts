import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  hkdfSync,
  randomBytes,
  type ECDH,
} from 'node:crypto';
import { hex } from '../../../src/bytes/util.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildEnclave, Platform, type EnclaveContext } from '../../../src/sgx/index.ts';
import {
  LocalAttestationInitiator,
  LocalAttestationResponder,
  LocalAttestationError,
  LocalSession,
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

// An independent implementation of the wire format and key schedule of docs/local-attestation.md with
// node:crypto alone: it must interoperate with the real responder and initiator, byte for byte.
const spec = {
  enc: (s: string) => new TextEncoder().encode(s),
  sha256: (...parts: Uint8Array[]) => {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
  transcript(tiI: Uint8Array, gI: Uint8Array, nI: Uint8Array, tiR: Uint8Array, gR: Uint8Array, nR: Uint8Array) {
    return spec.sha256(spec.enc('catena local-attestation v1'), tiI, gI, nI, tiR, gR, nR);
  },
  reportData: (role: string, t: Uint8Array) =>
    new Uint8Array([...spec.sha256(spec.enc(role), t), ...new Uint8Array(32)]),
  keys(ecdh: ECDH, peer: Uint8Array, t: Uint8Array) {
    const shared = ecdh.computeSecret(new Uint8Array([4, ...peer]));
    const k = new Uint8Array(hkdfSync('sha256', shared, t, spec.enc('catena local-attestation v1 session keys'), 32));
    return { i2r: k.slice(0, 16), r2i: k.slice(16, 32) };
  },
  le64: (seq: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, seq, true);
    return b;
  },
  seal(key: Uint8Array, dir: number, seq: bigint, pt: Uint8Array) {
    const c = createCipheriv('aes-128-gcm', key, new Uint8Array([0, 0, 0, 0, ...spec.le64(seq)]));
    c.setAAD(new Uint8Array([dir, ...spec.le64(seq)]));
    return new Uint8Array([...spec.le64(seq), ...c.update(pt), ...c.final(), ...c.getAuthTag()]);
  },
  open(key: Uint8Array, dir: number, record: Uint8Array) {
    const seqBytes = record.subarray(0, 8);
    const d = createDecipheriv('aes-128-gcm', key, new Uint8Array([0, 0, 0, 0, ...seqBytes]));
    d.setAAD(new Uint8Array([dir, ...seqBytes]));
    d.setAuthTag(record.subarray(record.length - 16));
    return new Uint8Array([...d.update(record.subarray(8, record.length - 16)), ...d.final()]);
  },
  /**
   * Three records each way between the real `session` and the hand-written peer: the peer seals with
   * `inbound` (key, direction byte) what the session opens, and opens with `outbound` what it seals.
   */
  exchange(
    session: { open(r: Uint8Array): Uint8Array; seal(p: Uint8Array): Uint8Array },
    inbound: [Uint8Array, number],
    outbound: [Uint8Array, number],
  ) {
    for (let seq = 0n; seq < 3n; seq++) {
      const m = spec.enc(`in ${seq}`);
      assert.deepEqual(session.open(spec.seal(inbound[0], inbound[1], seq, m)), m);
      const back = spec.enc(`out ${seq}`);
      const rec = session.seal(back);
      assert.deepEqual(rec.subarray(0, 8), spec.le64(seq));
      assert.deepEqual(spec.open(outbound[0], outbound[1], rec), back);
    }
  },
};

test('spec: a hand-written initiator (node:crypto, docs/local-attestation.md) interoperates with the responder', async () => {
  const ecdh = createECDH('prime256v1');
  const gI = new Uint8Array(ecdh.generateKeys()).subarray(1);
  const nI = new Uint8Array(randomBytes(32));
  const tiI = A.selfTargetInfo();
  const res = new LocalAttestationResponder(B, expect(1));
  const msg2 = await res.respond(new Uint8Array([1, 1, ...tiI, ...gI, ...nI]));
  assert.equal(msg2.length, 2 + 512 + 64 + 32 + 432);
  assert.deepEqual([...msg2.subarray(0, 2)], [2, 1]);
  const tiR = msg2.subarray(2, 514);
  const gR = msg2.subarray(514, 578);
  const nR = msg2.subarray(578, 610);
  assert.deepEqual(tiR, B.selfTargetInfo());
  const t = spec.transcript(tiI, gI, nI, tiR, gR, nR);
  // The responder's REPORT carries SHA-256("responder" ‖ T) ‖ 0^32 and verifies under A's REPORT key.
  await verifyLocalReport(A, msg2.subarray(610), spec.reportData('responder', t), expect(2));
  const reportI = await A.ereport(tiR, spec.reportData('initiator', t));
  const sr = await res.finish(new Uint8Array([3, 1, ...reportI]));
  assert.equal(sr.peer.isvProdId, 1);
  const k = spec.keys(ecdh, gR, t);
  spec.exchange(sr, [k.i2r, 1], [k.r2i, 2]);
});

test('spec: a hand-written responder (node:crypto, docs/local-attestation.md) interoperates with the initiator', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const msg1 = ini.start();
  assert.equal(msg1.length, 2 + 512 + 64 + 32);
  assert.deepEqual([...msg1.subarray(0, 2)], [1, 1]);
  const tiI = msg1.subarray(2, 514);
  const gI = msg1.subarray(514, 578);
  const nI = msg1.subarray(578, 610);
  assert.deepEqual(tiI, A.selfTargetInfo());
  const ecdh = createECDH('prime256v1');
  const gR = new Uint8Array(ecdh.generateKeys()).subarray(1);
  const nR = new Uint8Array(randomBytes(32));
  const tiR = B.selfTargetInfo();
  const t = spec.transcript(tiI, gI, nI, tiR, gR, nR);
  const reportR = await B.ereport(tiI, spec.reportData('responder', t));
  const { msg3, session: si } = await ini.finish(new Uint8Array([2, 1, ...tiR, ...gR, ...nR, ...reportR]));
  assert.equal(msg3.length, 2 + 432);
  assert.deepEqual([...msg3.subarray(0, 2)], [3, 1]);
  await verifyLocalReport(B, msg3.subarray(2), spec.reportData('initiator', t), expect(1));
  const k = spec.keys(ecdh, gI, t);
  spec.exchange(si, [k.r2i, 2], [k.i2r, 1]);
});

test('refused: a handshake message of another protocol version (ERR_LA_MESSAGE), the real one still completes', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const res = new LocalAttestationResponder(B, expect(1));
  const msg1 = ini.start();
  for (const v of [0, 2, 255]) {
    const bad = msg1.slice();
    bad[1] = v;
    await refused(res.respond(bad), 'ERR_LA_MESSAGE');
  }
  const msg2 = await res.respond(msg1);
  for (const v of [0, 2]) {
    const bad = msg2.slice();
    bad[1] = v;
    await refused(ini.finish(bad), 'ERR_LA_MESSAGE');
  }
  const { msg3 } = await ini.finish(msg2);
  for (const v of [0, 2]) {
    const bad = msg3.slice();
    bad[1] = v;
    await refused(res.finish(bad), 'ERR_LA_MESSAGE');
  }
  await res.finish(msg3);
});

test('a malformed handshake message is named in the refusal (MSG1, MSG2, MSG3)', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const res = new LocalAttestationResponder(B, expect(1));
  const msg1 = ini.start();
  const named = (n: string) => (e: unknown) =>
    e instanceof LocalAttestationError && e.code === 'ERR_LA_MESSAGE' && e.message.includes(`local attestation ${n}`);
  await assert.rejects(res.respond(msg1.subarray(0, 100)), named('MSG1'));
  const msg2 = await res.respond(msg1);
  await assert.rejects(ini.finish(msg2.subarray(0, 100)), named('MSG2'));
  const { msg3 } = await ini.finish(msg2);
  await assert.rejects(res.finish(msg3.subarray(0, 100)), named('MSG3'));
});

test('refused: an ECDH public key that is not a P-256 point is a malformed message, on either side', async () => {
  const ini = new LocalAttestationInitiator(A, expect(2));
  const msg1 = ini.start();
  const bad1 = msg1.slice();
  bad1.fill(0, 514, 578); // g_i = (0, 0), not on the curve
  await refused(new LocalAttestationResponder(B, expect(1)).respond(bad1), 'ERR_LA_MESSAGE');
  // The initiator meets a bad g_r only after the REPORT binding it verified: a responder enclave that
  // reports over a transcript with g_r = (1, 1) (off the curve).
  const tiR = B.selfTargetInfo();
  const gR = new Uint8Array(64);
  gR[31] = 1;
  gR[63] = 1;
  const nR = new Uint8Array(32).fill(9);
  const t = spec.transcript(msg1.subarray(2, 514), msg1.subarray(514, 578), msg1.subarray(578, 610), tiR, gR, nR);
  const reportR = await B.ereport(msg1.subarray(2, 514), spec.reportData('responder', t));
  await refused(ini.finish(new Uint8Array([2, 1, ...tiR, ...gR, ...nR, ...reportR])), 'ERR_LA_MESSAGE');
});

test('session records: an empty plaintext makes a 24-byte record that opens; shorter records are malformed', async () => {
  const { si, sr } = await handshake(A, B);
  const empty = si.seal(new Uint8Array(0));
  assert.equal(empty.length, 8 + 16);
  assert.deepEqual(sr.open(empty), new Uint8Array(0));
  for (const n of [0, 7, 8, 23]) {
    assert.throws(
      () => sr.open(new Uint8Array(n)),
      (e: unknown) => e instanceof LocalAttestationError && e.code === 'ERR_LA_MESSAGE',
      `${n} bytes`,
    );
  }
  // The short records did not advance the sequence: the next record still opens.
  assert.deepEqual(sr.open(si.seal(new Uint8Array([5]))), new Uint8Array([5]));
});

test('session sequence refusals say which: a replayed record, or one out of order', async () => {
  const { si, sr } = await handshake(A, B);
  const r0 = si.seal(new Uint8Array([0]));
  const r1 = si.seal(new Uint8Array([1]));
  const r2 = si.seal(new Uint8Array([2]));
  sr.open(r0);
  const says = (re: RegExp) => (e: unknown) =>
    e instanceof LocalAttestationError && e.code === 'ERR_LA_SEQUENCE' && re.test(e.message);
  assert.throws(() => sr.open(r0), says(/replayed/));
  assert.throws(() => sr.open(r2), says(/out of order/));
  sr.open(r1);
  assert.throws(() => sr.open(r1), says(/replayed/));
});

test('session: a failure that is not an authentication failure is not reported as ERR_LA_DECRYPT', () => {
  // A session built (by hand) with a receive key of the wrong size: node:crypto refuses the key; that is a
  // programming error, not a forged record, and must not pass for one.
  const s = new LocalSession(new Uint8Array(16), new Uint8Array(15), 1, 2, {
    mrEnclave: new Uint8Array(32),
    mrSigner: new Uint8Array(32),
    isvProdId: 0,
    isvSvn: 0,
  });
  assert.throws(
    () => s.open(new Uint8Array(24)),
    (e: unknown) => !(e instanceof LocalAttestationError) && e instanceof Error,
  );
});

test('refused: a REPORT of the wrong size is a malformed message, before any key is asked for', async () => {
  const rd = new Uint8Array(64).fill(7);
  const report = await B.ereport(A.selfTargetInfo(), rd);
  let keys = 0;
  const counting: LocalAttester = { ...A, egetkey: (k) => (keys++, A.egetkey(k)) };
  for (const bad of [report.subarray(0, report.length - 1), new Uint8Array([...report, 0])]) {
    await refused(verifyLocalReport(counting, bad, rd, expect(2)), 'ERR_LA_MESSAGE');
  }
  assert.equal(keys, 0);
});
