import { createHmac, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { hex } from '../bytes/util.ts';
import { AesCmac } from '../crypto/cmac.ts';
import { ecdhP256Generate } from '../crypto/ecdh.ts';
import { generateP256, p256Sign, p256Verify } from '../crypto/ecdsa.ts';
import { hkdfSha256 } from '../crypto/hkdf.ts';
import { randomBytes } from '../crypto/random.ts';
import { generateVendorKey } from '../crypto/rsa3072.ts';
import { sha256, sha256Parts } from '../crypto/sha256.ts';
import { parseQuote } from '../formats/quote.ts';
import { buildEnclave } from '../sgx/build.ts';
import { Platform } from '../sgx/platform.ts';
import { channelAttestation, validatorForRoots } from '../channel/default-attestation.ts';
import { startEmulatedDcapIssuer } from '../sgx/manufacturer/emulated-dcap-issuer.ts';
import { quotingOcalls } from '../channel/issuer.ts';
import { RatlsCertificateReader, readRatlsCertificate } from '../channel/ratls-cert.ts';
import { EnclaveChannelRelay } from '../channel/relay.ts';
import { attestedSecureContext, connectAttested } from '../channel/tls.ts';
import { BenchError } from './errors.ts';
import { median, round } from './stats.ts';

/**
 * `catena bench channel`: the two attested channels' set-up rates, each beside its crypto floor
 * measured in the same run with the same primitives (docs/channel.md, "Speed").
 *
 * RA-TLS: a relying party (plain node:tls client, one warm DcapQuoteValidator, collateral parsed
 * once = cached) makes full TLS 1.3 handshakes, one after another over loopback, to the example
 * RA-TLS enclave (inline runtime) on an emulated platform whose QE issued a real DCAP v3 quote for
 * its certificate. Each handshake: TCP connect, TLS 1.3 (no resumption), the quote appraised by the
 * DCAP verifier, REPORTDATA = the certificate key's binding, the policy — then close.
 *   floor = 2 × ECDHE keygen + 2 × ECDHE derive (the group the handshakes negotiated)
 *         + ECDSA P-256 sign (server CertificateVerify) + ECDSA P-256 verify (client checks it)
 *         + ECDSA P-256 verify (the quote's signature by the QE attestation key, 432 bytes)
 *         + 2 × SHA-256 (the REPORTDATA binding: SPKI and claims) + 2 × HMAC-SHA-256 (Finished)
 * A warm DCAP verifier does no other public-key operation for a quote whose PCK chain, CRLs,
 * collateral and QE report it has seen before; the certificate's own self-signature is not
 * part of RA-TLS trust (the quote binds the key) so it is not in the floor.
 *
 * Local attestation: one round trip = the whole mutual handshake between two enclaves on one
 * platform (MSG1 → MSG2 → MSG3, both REPORTs verified, session keys derived), driven through the
 * enclaves' ECALLs exactly as `catena emulate local-attest` does.
 *   floor = 2 × ECDH P-256 keygen + 2 × ECDH derive + 4 × AES-CMAC over a 384-byte REPORT body
 *         (two EREPORTs, two checks) + 2 × SHA-256 transcript + 4 × SHA-256 REPORTDATA
 *         + 2 × HKDF-SHA-256 session keys
 * (the REPORT key is derived once per target identity, as a CPU may cache it: not in the floor).
 */

export interface ChannelBenchOptions {
  /** Upper bounds on each measurement: whichever comes first. Defaults 300 handshakes / 3 s, 1000 round trips / 2 s. */
  handshakes?: number;
  roundTrips?: number;
  seconds?: number;
  onProgress?: (phase: 'setup' | 'ratls' | 'local' | 'floor', done: number, total: number) => void;
}

export interface ChannelBenchResult {
  ratls: {
    handshakesPerSec: number;
    floorPerSec: number;
    /** Measured ÷ floor (≤ 1; how close the handshake comes to its unavoidable crypto). */
    ofFloor: number;
    handshakes: number;
    seconds: number;
    group: string;
    evidence: string;
    tcbStatus: string | undefined;
    /** µs per operation. */
    floorUs: Record<string, number>;
  };
  local: {
    roundTripsPerSec: number;
    floorPerSec: number;
    ofFloor: number;
    roundTrips: number;
    seconds: number;
    floorUs: Record<string, number>;
  };
}

/** µs per call of `f`: the median over `batches` batches of `n` calls. */
function perCall(n: number, batches: number, f: (i: number) => unknown): number {
  const out: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) f(i);
    out.push(((performance.now() - t) * 1000) / n);
  }
  return median(out);
}

const must = (ok: boolean) => {
  if (!ok) throw new BenchError('ERR_BENCH_RESULT', 'crypto floor: a signature that must verify did not');
};

/** The RA-TLS floor (µs per operation and per handshake) for the negotiated ECDHE group and a real quote. */
export function ratlsFloor(
  group: string,
  quote: Uint8Array,
  spki: Uint8Array,
  n = 100,
  batches = 5,
): { perHandshakeUs: number; parts: Record<string, number> } {
  const q = parseQuote(quote);
  // The QE signed header ‖ body; a fresh P-256 key stands in for the QE's (the verifier's cost does not
  // depend on which key; the attestation key is decoded once per QE by a warm verifier).
  const qe = generateP256();
  const qeSig = p256Sign(qe.privateKey, q.signedBytes);
  const server = generateP256();
  const tbs = new Uint8Array(130); // TLS 1.3 CertificateVerify content: 64 spaces ‖ context ‖ 0 ‖ SHA-256 transcript
  const cvSig = p256Sign(server.privateKey, tbs);
  const claims = randomBytes(48);
  let sink = 0;
  let keygen: () => unknown;
  let derive: () => unknown;
  if (/x25519/i.test(group)) {
    const a = generateKeyPairSync('x25519');
    const b = generateKeyPairSync('x25519');
    keygen = () => generateKeyPairSync('x25519');
    derive = () => (sink ^= diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey })[0]);
  } else if (/p-?256|prime256v1/i.test(group)) {
    const a = ecdhP256Generate();
    const b = ecdhP256Generate();
    keygen = () => ecdhP256Generate();
    derive = () => (sink ^= a.derive(b.publicKey)[0]);
  } else throw new BenchError('ERR_BENCH_RESULT', `no floor for ECDHE group ${group}`);
  const finishedKey = randomBytes(32);
  const th = randomBytes(32);
  const parts = {
    ecdheKeygen: perCall(n, batches, keygen),
    ecdheDerive: perCall(n, batches, derive),
    signCertificateVerify: perCall(n, batches, () => p256Sign(server.privateKey, tbs)),
    verifyCertificateVerify: perCall(n, batches, () => must(p256Verify(server.publicKey, tbs, cvSig))),
    verifyQuote: perCall(n, batches, () => must(p256Verify(qe.publicKey, q.signedBytes, qeSig))),
    bindingHash: perCall(n, batches, (i) => (sink ^= sha256(i & 1 ? spki : claims)[0])),
    finishedHmac: perCall(n, batches, () => (sink ^= createHmac('sha256', finishedKey).update(th).digest()[0])),
  };
  void sink;
  const perHandshakeUs =
    2 * parts.ecdheKeygen +
    2 * parts.ecdheDerive +
    parts.signCertificateVerify +
    parts.verifyCertificateVerify +
    parts.verifyQuote +
    2 * parts.bindingHash +
    2 * parts.finishedHmac;
  return { perHandshakeUs, parts };
}

/** The local-attestation floor (µs per operation and per mutual handshake). */
export function localFloor(n = 100, batches = 5): { perRoundTripUs: number; parts: Record<string, number> } {
  const a = ecdhP256Generate();
  const b = ecdhP256Generate();
  const cmac = new AesCmac(randomBytes(16));
  const body = randomBytes(384);
  const ti = randomBytes(512);
  const nonce = randomBytes(32);
  let sink = 0;
  const parts = {
    ecdhKeygen: perCall(n, batches, () => ecdhP256Generate()),
    ecdhDerive: perCall(n, batches, () => (sink ^= a.derive(b.publicKey)[0])),
    reportCmac: perCall(n, batches, () => (sink ^= cmac.mac(body)[0])),
    transcriptHash: perCall(n, batches, () => (sink ^= sha256Parts(ti, a.publicKey, nonce, ti, b.publicKey, nonce)[0])),
    reportDataHash: perCall(n, batches, () => (sink ^= sha256Parts(nonce, nonce)[0])),
    sessionHkdf: perCall(
      n,
      batches,
      () => (sink ^= hkdfSha256(nonce, nonce, 'catena local-attestation v1 session keys', 32)[0]),
    ),
  };
  void sink;
  const perRoundTripUs =
    2 * parts.ecdhKeygen +
    2 * parts.ecdhDerive +
    4 * parts.reportCmac +
    2 * parts.transcriptHash +
    4 * parts.reportDataHash +
    2 * parts.sessionHkdf;
  return { perRoundTripUs, parts };
}

const RATLS_SOURCE = () => readFileSync(new URL('../../enclaves/ratls/ratls.js', import.meta.url), 'utf8');
const PEER_SOURCE = () => readFileSync(new URL('../../enclaves/peer/peer.js', import.meta.url), 'utf8');

const roundUs = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 4)]));

export async function benchChannel(opts: ChannelBenchOptions = {}): Promise<ChannelBenchResult> {
  const maxHandshakes = opts.handshakes ?? 300;
  const maxRoundTrips = opts.roundTrips ?? 1000;
  const seconds = opts.seconds ?? 3;
  for (const [k, v] of [
    ['handshakes', maxHandshakes],
    ['roundTrips', maxRoundTrips],
    ['seconds', seconds],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new BenchError('ERR_BENCH_ARGUMENT', `${k} must be positive`);
  }
  const progress = opts.onProgress ?? (() => undefined);
  const vendor: KeyObject = generateVendorKey();

  // ---- RA-TLS ----
  progress('setup', 0, 1);
  const platform = await Platform.open({ name: 'bench-channel' });
  const relay = new EnclaveChannelRelay();
  let attestation;
  let ratls: ChannelBenchResult['ratls'];
  try {
    attestation = channelAttestation(await startEmulatedDcapIssuer({ platform }));
    const image = buildEnclave(RATLS_SOURCE(), { isvProdId: 21, isvSvn: 3 }, vendor);
    const handle = await platform.loadEnclave(image, {
      runtime: 'inline',
      ocalls: { ...relay.ocalls(), ...quotingOcalls(attestation.backend) },
    });
    relay.attach(handle);
    const init = (await handle.ecall('channelInit', { attestation: attestation.spec })) as { certificate: Uint8Array };
    const { port } = await relay.listen(0, '127.0.0.1');
    const validator = validatorForRoots([attestation.rootDer], attestation.collateral!); // one warm verifier, collateral parsed once
    const policy = { mrEnclave: [hex(image.mrEnclave)] };
    let group = '';
    let evidence = '';
    let tcbStatus: string | undefined;
    // A client that reconnects keeps its TLS context and the server certificates it parsed, as the validator.
    const secureContext = attestedSecureContext();
    const certificates = new RatlsCertificateReader();
    const handshake = async () => {
      const { socket, peer } = await connectAttested({
        host: '127.0.0.1',
        port,
        validator,
        policy,
        secureContext,
        certificates,
      });
      if (peer.mrEnclave !== policy.mrEnclave[0])
        throw new BenchError('ERR_BENCH_RESULT', 'handshake verified another enclave');
      if (!group) {
        const info = (socket as unknown as TLSSocket).getEphemeralKeyInfo() as { name?: string; type?: string } | null;
        group = info?.name ?? info?.type ?? 'unknown';
        evidence = peer.evidenceKind ?? '';
        tcbStatus = peer.tcbStatus;
      }
      socket.destroy();
    };
    for (let i = 0; i < 3; i++) await handshake(); // warm: the verifier's cache, JIT, the enclave's TLS context
    progress('setup', 1, 1);
    let count = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    while (count < maxHandshakes && performance.now() < deadline) {
      await handshake();
      count++;
      if (count % 10 === 0) progress('ratls', count, maxHandshakes);
    }
    const elapsed = (performance.now() - t0) / 1000;
    progress('floor', 0, 2);
    const cert = readRatlsCertificate(init.certificate);
    const floor = ratlsFloor(group, cert.evidence, cert.spki);
    const handshakesPerSec = count / elapsed;
    const floorPerSec = 1e6 / floor.perHandshakeUs;
    ratls = {
      handshakesPerSec: round(handshakesPerSec, 4),
      floorPerSec: round(floorPerSec, 4),
      ofFloor: round(handshakesPerSec / floorPerSec, 4),
      handshakes: count,
      seconds: round(elapsed, 4),
      group,
      evidence,
      tcbStatus,
      floorUs: { ...roundUs(floor.parts), perHandshake: round(floor.perHandshakeUs, 4) },
    };
  } finally {
    await relay.close();
    await attestation?.stop();
    await platform.close();
  }

  // ---- local attestation ----
  const p = await Platform.open({ name: 'bench-local' });
  let local: ChannelBenchResult['local'];
  try {
    const imgA = buildEnclave(PEER_SOURCE(), { isvProdId: 7, isvSvn: 1 }, vendor);
    const imgB = buildEnclave(PEER_SOURCE(), { isvProdId: 8, isvSvn: 1 }, vendor);
    const a = await p.loadEnclave(imgA, { runtime: 'inline' });
    const b = await p.loadEnclave(imgB, { runtime: 'inline' });
    const signer = hex(imgA.mrSigner);
    const expectB = { mrSigner: signer, isvProdId: 8, minIsvSvn: 1 };
    const expectA = { mrSigner: signer, isvProdId: 7, minIsvSvn: 1 };
    const roundTrip = async () => {
      const msg2 = await b.ecall('respond', await a.ecall('start', expectB), expectA);
      const fin = (await a.ecall('finish', msg2)) as { msg3: Uint8Array; peer: { isvProdId: number } };
      const acc = (await b.ecall('accept', fin.msg3)) as { peer: { isvProdId: number } };
      if (fin.peer.isvProdId !== 8 || acc.peer.isvProdId !== 7)
        throw new BenchError('ERR_BENCH_RESULT', 'local attestation verified the wrong peers');
    };
    for (let i = 0; i < 5; i++) await roundTrip();
    let count = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    while (count < maxRoundTrips && performance.now() < deadline) {
      await roundTrip();
      count++;
      if (count % 50 === 0) progress('local', count, maxRoundTrips);
    }
    const elapsed = (performance.now() - t0) / 1000;
    progress('floor', 1, 2);
    const floor = localFloor();
    const roundTripsPerSec = count / elapsed;
    const floorPerSec = 1e6 / floor.perRoundTripUs;
    local = {
      roundTripsPerSec: round(roundTripsPerSec, 4),
      floorPerSec: round(floorPerSec, 4),
      ofFloor: round(roundTripsPerSec / floorPerSec, 4),
      roundTrips: count,
      seconds: round(elapsed, 4),
      floorUs: { ...roundUs(floor.parts), perRoundTrip: round(floor.perRoundTripUs, 4) },
    };
    progress('floor', 2, 2);
  } finally {
    await p.close();
  }
  return { ratls, local };
}
