import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '../../../src/bytes/util.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { parseQuote } from '../../../src/formats/quote.ts';
import {
  buildEnclave,
  Platform,
  type EnclaveHandle,
  type EnclaveImage,
  type RuntimeKind,
} from '../../../src/sgx/index.ts';
import { startEmulatedDcapIssuer } from '../../../src/sgx/manufacturer/emulated-dcap-issuer.ts';
import {
  channelAttestation,
  connectAttested,
  createAttestedServer,
  createMockAttestationRoot,
  createRatlsCertificate,
  DcapQuoteValidator,
  EnclaveChannelRelay,
  MockQuoteIssuer,
  quotingOcalls,
  ratlsReportData,
  readRatlsCertificate,
  validatorForRoots,
  validatorFromSpec,
  verifyRatlsCertificate,
  type ChannelAttestation,
  type ChannelEvent,
  type ChannelPolicy,
  type QvlCollateralJson,
} from '../../../src/channel/index.ts';
import { rejectsWith, roundTrip } from './helpers.ts';

/**
 * The attested channel with REAL evidence: DCAP v3 quotes from the emulated QE of each platform,
 * certified by an emulated manufacturer, verified by Catena's DCAP verifier trusting that root —
 * and, as a check nobody here wrote, by @phala/dcap-qvl.
 */
const require = createRequire(import.meta.url);
const { QuoteVerifier } = require('@phala/dcap-qvl') as {
  QuoteVerifier: {
    newWithRootCa(root: Buffer): {
      verify(q: Buffer, c: unknown, now: number): { status: string; advisory_ids: string[]; report: unknown };
    };
  };
};

const source = readFileSync(new URL('../../../enclaves/ratls/ratls.js', import.meta.url), 'utf8');
const vendor = generateVendorKey();
const image = buildEnclave(source, { isvProdId: 21, isvSvn: 3 }, vendor);
const other = buildEnclave(source + '\n// another build\n', { isvProdId: 21, isvSvn: 3 }, vendor);
const debugImage = buildEnclave(source, { isvProdId: 21, isvSvn: 3, debug: true }, vendor);

const state = mkdtempSync(join(tmpdir(), 'catena-dcap-channel-'));
const otherState = mkdtempSync(join(tmpdir(), 'catena-dcap-channel-other-'));
let p1: Platform;
let p2: Platform;
let a1: ChannelAttestation; // platform 1's QE, manufacturer kept in `state`
let a2: ChannelAttestation; // platform 2's QE, the SAME manufacturer (loaded from `state`)
const relays: EnclaveChannelRelay[] = [];

before(async () => {
  p1 = await Platform.open({ name: 'cloud-a' });
  p2 = await Platform.open({ name: 'cloud-b' });
  a1 = channelAttestation(await startEmulatedDcapIssuer({ platform: p1, stateDir: state }));
  a2 = channelAttestation(await startEmulatedDcapIssuer({ platform: p2, stateDir: state }));
});
after(async () => {
  for (const r of relays) await r.close();
  await a1?.stop();
  await a2?.stop();
  await p1?.close();
  await p2?.close();
  rmSync(state, { recursive: true, force: true });
  rmSync(otherState, { recursive: true, force: true });
});

const only = (img: EnclaveImage): ChannelPolicy => ({ mrEnclave: [hex(img.mrEnclave)] });
const rp = () => validatorForRoots([a1.rootDer], a1.collateral!);

async function start(
  p: Platform,
  a: ChannelAttestation,
  img: EnclaveImage,
  runtime: RuntimeKind,
  config: { policy?: ChannelPolicy; requireAttestedClient?: boolean } = {},
) {
  const relay = new EnclaveChannelRelay();
  relays.push(relay);
  const handle: EnclaveHandle = await p.loadEnclave(img, {
    runtime,
    ocalls: { ...relay.ocalls(), ...quotingOcalls(a.backend) },
  });
  relay.attach(handle);
  const init = (await handle.ecall('channelInit', { attestation: a.spec, ...config })) as { certificate: Uint8Array };
  return { relay, handle, certificate: init.certificate };
}

test('the state directory keeps the manufacturer: a second platform gets the same root; the spec is DCAP', () => {
  assert.equal(a1.kind, 'dcap');
  assert.deepEqual(a2.rootDer, a1.rootDer);
  assert.equal(a1.spec.kind, 'dcap');
  assert.match(a1.rootPem, /^-----BEGIN CERTIFICATE-----/);
});

for (const runtime of ['isolated', 'inline'] as const) {
  test(`${runtime}: the enclave's certificate carries a real DCAP quote that dcap-qvl accepts; a plain Node client verifies it in the handshake`, async () => {
    const { relay, certificate } = await start(p1, a1, image, runtime);
    const c = readRatlsCertificate(certificate);
    // The evidence is a DCAP v3 quote of THIS enclave, binding THIS certificate's key.
    const q = parseQuote(c.evidence);
    assert.equal(q.header.version, 3);
    assert.ok(q.body.kind === 'sgx');
    if (q.body.kind === 'sgx') {
      assert.equal(hex(q.body.report.mrEnclave), hex(image.mrEnclave));
      assert.equal(hex(q.body.report.reportData), hex(ratlsReportData(c.spki)));
    }
    // A DCAP verifier nobody here wrote accepts it under the emulated root with the published collateral.
    const r = QuoteVerifier.newWithRootCa(Buffer.from(a1.rootDer)).verify(
      Buffer.from(c.evidence),
      a1.collateral,
      Math.floor(Date.now() / 1000),
    );
    assert.equal(r.status, 'UpToDate');

    const { port } = await relay.listen(0);
    const { socket, peer } = await connectAttested({ host: '127.0.0.1', port, validator: rp(), policy: only(image) });
    assert.equal(peer.mrEnclave, hex(image.mrEnclave));
    assert.equal(peer.mrSigner, hex(image.mrSigner));
    assert.equal(peer.isvProdId, 21);
    assert.equal(peer.isvSvn, 3);
    assert.equal(peer.debug, false);
    assert.equal(peer.evidenceKind, 'sgx-dcap-quote-v3');
    assert.equal(peer.tcbStatus, 'UpToDate');
    assert.equal(peer.rootIsIntel, false, 'an emulated root is never reported as Intel');
    assert.equal(await roundTrip(socket, `echo through the ${runtime} enclave`), `echo through the ${runtime} enclave`);
    socket.destroy();
  });
}

test('mutual, enclave to enclave across two platforms with real quotes: each enclave verifies the other by DCAP', async () => {
  const server = await start(p1, a1, image, 'isolated', { requireAttestedClient: true, policy: only(other) });
  const { port } = await server.relay.listen(0);
  const client = await start(p2, a2, other, 'inline');
  const secureOnServer = new Promise<ChannelEvent>((r) =>
    server.relay.once('secure', (_id: number, e: ChannelEvent) => r(e)),
  );
  const c = await client.relay.connect('127.0.0.1', port, only(image));
  assert.equal(c.event.type, 'secure', JSON.stringify(c.event));
  if (c.event.type === 'secure') {
    assert.equal(c.event.peer?.mrEnclave, hex(image.mrEnclave));
    assert.equal(c.event.peer?.evidenceKind, 'sgx-dcap-quote-v3');
  }
  const s = await secureOnServer;
  assert.ok(s.type === 'secure');
  if (s.type === 'secure') {
    assert.equal(s.peer?.mrEnclave, hex(other.mrEnclave));
    assert.equal(s.peer?.tcbStatus, 'UpToDate');
  }
  // Both certificates' quotes come from different platforms (different PCKs / PPIDs).
  const qs = parseQuote(readRatlsCertificate(server.certificate).evidence);
  const qc = parseQuote(readRatlsCertificate(client.certificate).evidence);
  assert.notEqual(hex(qs.signatureData.attestationKey), hex(qc.signatureData.attestationKey));
  const echoed = new Promise<string>((r) =>
    client.relay.once('data', (_id: number, b: Uint8Array) => r(Buffer.from(b).toString())),
  );
  await client.handle.ecall('channelWrite', c.id, new TextEncoder().encode('ping'));
  assert.equal(await echoed, 'ping');

  // A client enclave whose platform another manufacturer certified: the server enclave refuses it.
  const pOther = await Platform.open({ name: 'elsewhere' });
  const aOther = channelAttestation(await startEmulatedDcapIssuer({ platform: pOther, stateDir: otherState }));
  try {
    const stranger = await start(pOther, aOther, other, 'inline');
    const refused = new Promise<ChannelEvent>((r) =>
      server.relay.once('refused', (_id: number, e: ChannelEvent) => r(e)),
    );
    await stranger.relay.connect('127.0.0.1', port, only(image));
    const e = await refused;
    assert.ok(e.type === 'refused' && e.code === 'ERR_CHANNEL_EVIDENCE', JSON.stringify(e));
    if (e.type === 'refused') assert.equal(e.check, 'pck.chain');
  } finally {
    await aOther.stop();
    await pOther.close();
  }
});

test('refused with real quotes: untrusted root (another manufacturer, and Intel by default), identity outside the policy', async () => {
  const { relay } = await start(p1, a1, image, 'inline');
  const { port } = await relay.listen(0);
  const pOther = await Platform.open({ name: 'other' });
  const aOther = channelAttestation(await startEmulatedDcapIssuer({ platform: pOther, stateDir: otherState }));
  try {
    assert.notDeepEqual(aOther.rootDer, a1.rootDer);
    const e1 = await rejectsWith(
      connectAttested({
        host: '127.0.0.1',
        port,
        validator: validatorForRoots([aOther.rootDer], a1.collateral!),
        policy: only(image),
      }),
      'ERR_CHANNEL_EVIDENCE',
    );
    assert.equal(e1.check, 'pck.chain');
    // No roots given: Intel's pinned key only. The emulated quote does not chain to it.
    const intel = new DcapQuoteValidator({ collateral: a1.collateral! });
    const e2 = await rejectsWith(
      connectAttested({ host: '127.0.0.1', port, validator: intel, policy: only(image) }),
      'ERR_CHANNEL_EVIDENCE',
    );
    assert.equal(e2.check, 'pck.chain');
  } finally {
    await aOther.stop();
    await pOther.close();
  }
  await rejectsWith(
    connectAttested({ host: '127.0.0.1', port, validator: rp(), policy: only(other) }),
    'ERR_CHANNEL_IDENTITY',
    'identity',
  );
  await rejectsWith(
    connectAttested({
      host: '127.0.0.1',
      port,
      validator: rp(),
      policy: { mrSigner: hex(image.mrSigner), isvProdId: 21, minIsvSvn: 4 },
    }),
    'ERR_CHANNEL_IDENTITY',
    'identity',
  );
  // Past the collateral's nextUpdate the TCB info is no longer current (judged on the quote alone:
  // in a handshake the 1-day certificate validity would refuse first).
  const { certificate } = await start(p1, a1, image, 'inline');
  const c = readRatlsCertificate(certificate);
  const late = new Date(Date.parse(JSON.parse(a1.collateral!.tcb_info).nextUpdate) + 60_000);
  const r = await rp().validate(c.evidence, ratlsReportData(c.spki), late);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.check, /^(collateral|crl)\./, r.message); // expired CRLs or TCB info: fail closed
  assert.equal((await rp().validate(c.evidence, ratlsReportData(c.spki), new Date())).ok, true);
});

test('refused: a DEBUG enclave with a real quote, unless the policy allows DEBUG', async () => {
  const { relay, certificate } = await start(p1, a1, debugImage, 'inline');
  const q = parseQuote(readRatlsCertificate(certificate).evidence);
  assert.ok(
    q.body.kind === 'sgx' && (q.body.report.attributes.flags & 2n) === 2n,
    'the CPU set ATTRIBUTES.DEBUG in the quoted report',
  );
  const { port } = await relay.listen(0);
  await rejectsWith(
    connectAttested({ host: '127.0.0.1', port, validator: rp(), policy: only(debugImage) }),
    'ERR_CHANNEL_DEBUG',
    'debug',
  );
  await rejectsWith(
    connectAttested({ host: '127.0.0.1', port, validator: rp(), policy: { anyIdentity: true } }),
    'ERR_CHANNEL_DEBUG',
    'debug',
  );
  const { socket, peer } = await connectAttested({
    host: '127.0.0.1',
    port,
    validator: rp(),
    policy: { ...only(debugImage), allowDebug: true },
  });
  assert.equal(peer.debug, true);
  socket.destroy();
});

test("refused: a certificate carrying another certificate's real quote (key not bound by REPORTDATA), offline and in a handshake", async () => {
  const { certificate } = await start(p1, a1, image, 'inline');
  const stolen = readRatlsCertificate(certificate).evidence;
  // The genuine certificate verifies …
  const ok = await verifyRatlsCertificate(certificate, { validator: rp(), policy: only(image) });
  assert.equal(ok.mrEnclave, hex(image.mrEnclave));
  // … a new key with the same (real, valid) quote does not.
  const forged = await createRatlsCertificate({ issue: async () => stolen });
  assert.notEqual(hex(readRatlsCertificate(forged.certificate).spki), hex(readRatlsCertificate(certificate).spki));
  await rejectsWith(
    verifyRatlsCertificate(forged.certificate, { validator: rp(), policy: only(image) }),
    'ERR_CHANNEL_KEY_BINDING',
    'reportData',
  );
  const server = createAttestedServer(
    { credentials: { keyPem: forged.keyPem, certPem: forged.certPem }, onError: () => undefined },
    (s) => s.destroy(),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as import('node:net').AddressInfo).port;
    await rejectsWith(
      connectAttested({ host: '127.0.0.1', port, validator: rp(), policy: only(image) }),
      'ERR_CHANNEL_KEY_BINDING',
      'reportData',
    );
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('the DCAP validator: exact REPORTDATA, flipped quote bytes, mock evidence, accepted TCB statuses; specs are checked', async () => {
  const { certificate } = await start(p1, a1, image, 'inline');
  const c = readRatlsCertificate(certificate);
  const v = rp();
  const want = ratlsReportData(c.spki);
  // Reads are cached by exact bytes, but what a caller does to its copy never reaches the next read.
  c.evidence[0] ^= 0xff;
  c.spki[0] ^= 0xff;
  const again = readRatlsCertificate(certificate);
  assert.notEqual(again.evidence[0], c.evidence[0]);
  c.evidence[0] ^= 0xff;
  c.spki[0] ^= 0xff;
  assert.deepEqual(again.evidence, c.evidence);
  const good = await v.validate(c.evidence, want, new Date());
  assert.equal(good.ok, true, JSON.stringify(good));
  const wrong = want.slice();
  wrong[63] ^= 1;
  const r1 = await v.validate(c.evidence, wrong, new Date());
  assert.deepEqual([r1.ok, !r1.ok && r1.check], [false, 'reportData']);
  // One flipped bit in the enclave's report body: the QE's signature no longer verifies.
  const flipped = c.evidence.slice();
  flipped[48 + 64] ^= 1;
  const r2 = await v.validate(flipped, want, new Date());
  assert.deepEqual([r2.ok, !r2.ok && r2.check], [false, 'quote.signature']);
  // Mock evidence is not a quote.
  const mockRoot = await createMockAttestationRoot();
  const mock = await new MockQuoteIssuer(mockRoot.privateKey, { mrEnclave: image.mrEnclave }).issue(want);
  const r3 = await v.validate(mock, want, new Date());
  assert.deepEqual([r3.ok, !r3.ok && r3.check], [false, 'quote.format']);
  // Accepted statuses: UpToDate by default; a policy without it refuses at policy.tcbStatus.
  const strict = validatorForRoots([a1.rootDer], a1.collateral!, { acceptedTcbStatuses: ['SWHardeningNeeded'] });
  const r4 = await strict.validate(c.evidence, want, new Date());
  assert.deepEqual([r4.ok, !r4.ok && r4.check], [false, 'policy.tcbStatus']);
  // The spec form (what crosses into an enclave) behaves the same, from an object or its JSON text.
  for (const collateral of [a1.collateral!, JSON.stringify(a1.collateral)] as Array<QvlCollateralJson | string>) {
    const r = await validatorFromSpec({ kind: 'dcap', roots: [a1.rootDer], collateral }).validate(
      c.evidence,
      want,
      new Date(),
    );
    assert.equal(r.ok, true);
  }
  assert.throws(
    () => validatorFromSpec({ kind: 'dcap', roots: [], collateral: a1.collateral! }),
    /ERR_CHANNEL_STATE|root/,
  );
  assert.throws(
    () => validatorFromSpec({ kind: 'dcap', roots: [a1.rootDer], collateral: '{"not":"collateral"}' }),
    (e: Error & { code?: string }) => e.code === 'ERR_CHANNEL_STATE',
  );
});
