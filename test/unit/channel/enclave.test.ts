import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hex } from '../../../src/bytes/util.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import {
  buildEnclave,
  Platform,
  type EnclaveHandle,
  type EnclaveImage,
  type RuntimeKind,
} from '../../../src/sgx/index.ts';
import {
  connectAttested,
  createMockAttestationRoot,
  EnclaveChannelRelay,
  MockQuotingBackend,
  MockQuoteValidator,
  quotingOcalls,
  readRatlsCertificate,
  parseMockEvidence,
  type ChannelEvent,
  type ChannelPolicy,
  type MockAttestationRoot,
} from '../../../src/channel/index.ts';
import { rejectsWith, roundTrip } from './helpers.ts';

// MOCK evidence: these tests exercise the channel mechanics (in-enclave termination, relay, mutual
// mode). The same flows with real DCAP quotes are in dcap.test.ts.
const source = readFileSync(new URL('../../../enclaves/ratls/ratls.js', import.meta.url), 'utf8');
const vendor = generateVendorKey();
const image = buildEnclave(source, { isvProdId: 21, isvSvn: 3 }, vendor);
// Another enclave: same code plus a comment, so another MRENCLAVE.
const other = buildEnclave(source + '\n// another build\n', { isvProdId: 21, isvSvn: 3 }, vendor);
let root: MockAttestationRoot;
let p1: Platform;
let p2: Platform;
const relays: EnclaveChannelRelay[] = [];

before(async () => {
  root = await createMockAttestationRoot();
  p1 = await Platform.open({ name: 'cloud-a' });
  p2 = await Platform.open({ name: 'cloud-b' });
});
after(async () => {
  for (const r of relays) await r.close();
  await p1.close();
  await p2.close();
});

const spec = () => ({ kind: 'mock' as const, roots: [root.certificate] });
const only = (img: EnclaveImage): ChannelPolicy => ({ mrEnclave: [hex(img.mrEnclave)] });

async function start(
  p: Platform,
  img: EnclaveImage,
  runtime: RuntimeKind,
  config: { policy?: ChannelPolicy; requireAttestedClient?: boolean } = {},
) {
  const relay = new EnclaveChannelRelay();
  relays.push(relay);
  const handle: EnclaveHandle = await p.loadEnclave(img, {
    runtime,
    ocalls: { ...relay.ocalls(), ...quotingOcalls(new MockQuotingBackend(root.privateKey)) },
  });
  relay.attach(handle);
  const init = (await handle.ecall('channelInit', { attestation: spec(), ...config })) as { certificate: Uint8Array };
  return { relay, handle, certificate: init.certificate };
}

for (const runtime of ['isolated', 'inline'] as const) {
  test(`${runtime}: TLS terminates inside the enclave; its certificate carries its own EREPORT; a plain client verifies it`, async () => {
    const { relay, certificate } = await start(p1, image, runtime);
    // The evidence names the enclave the CPU measured, not anything the host claimed.
    const ev = parseMockEvidence(readRatlsCertificate(certificate).evidence);
    assert.equal(hex(ev.body.mrEnclave), hex(image.mrEnclave));
    assert.equal(hex(ev.body.mrSigner), hex(image.mrSigner));
    const { port } = await relay.listen(0);
    const { socket, peer } = await connectAttested({
      host: '127.0.0.1',
      port,
      validator: new MockQuoteValidator([root.certificate]),
      policy: only(image),
    });
    assert.equal(peer.mrEnclave, hex(image.mrEnclave));
    assert.equal(peer.isvSvn, 3);
    assert.equal(await roundTrip(socket, `echo through the ${runtime} enclave`), `echo through the ${runtime} enclave`);
    socket.destroy();
    // A client expecting another enclave is refused during the handshake.
    await rejectsWith(
      connectAttested({
        host: '127.0.0.1',
        port,
        validator: new MockQuoteValidator([root.certificate]),
        policy: only(other),
      }),
      'ERR_CHANNEL_IDENTITY',
      'identity',
    );
  });
}

test('mutual, enclave to enclave across two platforms: both verified inside the enclaves; wrong policies refused', async () => {
  const server = await start(p1, image, 'isolated', { requireAttestedClient: true, policy: only(other) });
  const { port } = await server.relay.listen(0);
  const client = await start(p2, other, 'inline');
  const secureOnServer = new Promise<ChannelEvent>((r) =>
    server.relay.once('secure', (_id: number, e: ChannelEvent) => r(e)),
  );
  const c = await client.relay.connect('127.0.0.1', port, only(image));
  assert.equal(c.event.type, 'secure', JSON.stringify(c.event));
  if (c.event.type === 'secure') assert.equal(c.event.peer?.mrEnclave, hex(image.mrEnclave));
  const s = await secureOnServer;
  assert.equal(s.type === 'secure' && s.peer?.mrEnclave, hex(other.mrEnclave));
  const echoed = new Promise<string>((r) =>
    client.relay.once('data', (_id: number, b: Uint8Array) => r(Buffer.from(b).toString())),
  );
  await client.handle.ecall('channelWrite', c.id, new TextEncoder().encode('ping'));
  assert.equal(await echoed, 'ping');

  // The client enclave expects a different server: refused inside the client enclave.
  const bad = await client.relay.connect('127.0.0.1', port, only(other));
  assert.equal(bad.event.type, 'refused');
  if (bad.event.type === 'refused') assert.equal(bad.event.code, 'ERR_CHANNEL_IDENTITY');

  // A non-enclave client (no certificate): the server enclave refuses it (the client sees the close).
  const refusals: ChannelEvent[] = [];
  server.relay.on('refused', (_id: number, e: ChannelEvent) => refusals.push(e));
  const plain = await connectAttested({
    host: '127.0.0.1',
    port,
    validator: new MockQuoteValidator([root.certificate]),
    policy: only(image),
  }).then(
    (x) => x.socket,
    () => null,
  );
  if (plain) await new Promise((r) => plain.once('close', r));
  for (
    let i = 0;
    i < 100 && !refusals.some((e) => e.type === 'refused' && e.code === 'ERR_CHANNEL_NO_PEER_CERTIFICATE');
    i++
  )
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(
    refusals.some(
      (e) => e.type === 'refused' && e.code === 'ERR_CHANNEL_NO_PEER_CERTIFICATE' && e.check === 'peerCertificate',
    ),
    JSON.stringify(refusals),
  );
});
