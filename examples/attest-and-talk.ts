/**
 * Example: attest locally, attest remotely, and talk to a chain element over an attested channel.
 *
 *   node --import tsx examples/attest-and-talk.ts
 *
 * Prints one JSON summary on stdout. Documented in docs/cot-api.md; executed by
 * test/e2e/cot-examples.test.ts.
 */
import { readFileSync } from 'node:fs';
import { collateralFromQvlJson, verifyQuote } from 'catena/attestation';
import { connectAttested, DcapQuoteValidator, EnclaveChannelRelay, quotingOcalls } from 'catena/channel';
import {
  Chain,
  CotBuilder,
  createDcapRemoteVerifier,
  dcapRemoteVerifier,
  EmulatedWorld,
  verifyBundle,
  type EnclaveIdentity,
  type ProofBundle,
} from 'catena/cot';
import { generateP256, generateVendorKey, randomBytes } from 'catena/crypto';
import { buildEnclave } from 'catena/sgx';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const identityKeyPrefix = (c: Chain, id: string) => c.element(id)!.elementKey!.slice(0, 16);
const world = await EmulatedWorld.create({ clouds: 2, platformsPerCloud: 1 });
const relay = new EnclaveChannelRelay();
const t0 = performance.now();
const lap = (what: string) => process.stderr.write(`${what} ${Math.round(performance.now() - t0)} ms\n`);
try {
  const collateral = await world.collateralFor();
  const vendor = generateVendorKey();
  const out: Record<string, unknown> = {};

  // ── Attest locally: two enclaves on one platform run Catena's mutual local attestation
  //    (EREPORT/EGETKEY, docs/local-attestation.md) and open a protected session.
  const peerImage = buildEnclave(
    readFileSync(new URL('../enclaves/peer/peer.js', import.meta.url), 'utf8'),
    { isvProdId: 7, isvSvn: 1 },
    vendor,
  );
  const platform0 = world.platforms[0].platform;
  const alice = await platform0.loadEnclave(peerImage, { runtime: 'inline' });
  const bob = await platform0.loadEnclave(peerImage, { runtime: 'inline' });
  const expect = { mrEnclave: [hex(peerImage.mrEnclave)] }; // each side's policy for the other
  const msg1 = await alice.ecall('start', expect);
  const msg2 = await bob.ecall('respond', msg1, expect);
  const { msg3, peer } = (await alice.ecall('finish', msg2)) as { msg3: Uint8Array; peer: { mrEnclave: Uint8Array } };
  await bob.ecall('accept', msg3);
  const record = await alice.ecall('send', new TextEncoder().encode('hello, same platform'));
  out.local = {
    peerMrEnclave: hex(peer.mrEnclave),
    received: new TextDecoder().decode((await bob.ecall('receive', record)) as Uint8Array),
  };

  lap('local');
  // ── Attest remotely: an enclave's REPORT, targeted at its platform's QE, becomes a DCAP v3 quote
  //    that anyone verifies with the root, the collateral and a time.
  const elementImage = world.elementImage(vendor);
  const attester = await world.loadElement(1, elementImage);
  const nonce = hex(randomBytes(32));
  const report = await attester.evidence(world.qeTargetInfo(attester), 'example-context', nonce);
  const quote = await world.quote(attester, report);
  const appraisal = await verifyQuote(quote, {
    collateral: collateralFromQvlJson(collateral),
    at: new Date(),
    trustedRoots: [world.root], // the emulated root, trusted explicitly (default: Intel's root key only)
    policy: { acceptedTcbStatuses: ['UpToDate'], mrSigner: hex(elementImage.mrSigner), isvProdId: 1, minIsvSvn: 1 },
  });
  out.remote = {
    verdict: appraisal.verdict,
    tcbStatus: appraisal.tcbStatus,
    rootIsIntel: appraisal.rootIsIntel,
    checks: appraisal.checks.length,
  };

  lap('remote');
  // ── A chain whose second element also serves RA-TLS (examples/enclaves/element-ratls.js).
  const serviceImage = buildEnclave(
    readFileSync(new URL('./enclaves/element-ratls.js', import.meta.url), 'utf8'),
    { isvProdId: 1, isvSvn: 1 },
    vendor,
  );
  const policy = { identities: [{ mrSigner: hex(elementImage.mrSigner), isvProdId: 1, minIsvSvn: 1 }] };
  const chain = Chain.create({
    name: 'talk',
    root: world.root,
    emulatedRoot: true,
    policy,
    owner: generateP256(),
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
  });
  const builder = new CotBuilder(chain, world, world.root);
  const first = await builder.appendFirst(await world.loadElement(0, elementImage));
  const service = await world.loadElement(1, serviceImage, {
    ocalls: { ...relay.ocalls(), ...quotingOcalls(world.platforms[1].quoting) },
  });
  const serviceElement = await builder.appendRemote(first.id, service);
  // The enclave makes its TLS key and a certificate carrying its own DCAP quote; the host relays ciphertext.
  relay.attach(service.enclave);
  await service.enclave.ecall('channelInit', { attestation: { kind: 'dcap', roots: [world.root], collateral } });
  const { port } = await relay.listen(0, '127.0.0.1');

  lap('chain + channel server');
  // ── The third party: verifies the bundle offline, then talks to the element it found valid,
  //    accepting only a peer whose quote (checked during the TLS handshake) shows that element's identity.
  const bundle = JSON.parse(JSON.stringify(chain.toBundle())) as ProofBundle;
  const v = await verifyBundle(bundle, {
    root: world.root,
    at: new Date(),
    remote: createDcapRemoteVerifier(world.root),
  });
  if (!v.valid || !v.elements[serviceElement.id]?.valid) throw new Error('chain does not verify');
  const identity = chain.element(serviceElement.id)!.identity as EnclaveIdentity;
  const { socket, peer: server } = await connectAttested({
    host: '127.0.0.1',
    port,
    validator: new DcapQuoteValidator({ trustedRoots: [world.root], collateral }),
    policy: { mrEnclave: [identity.mrEnclave] },
  });
  const reply = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no reply')), 10_000);
    socket.once('data', (d: Buffer) => {
      clearTimeout(t);
      resolve(d.toString());
    });
    socket.write('hello, element');
  });
  socket.destroy();
  out.channel = {
    chainValid: v.valid,
    element: serviceElement.id,
    answeredByElementKey: reply.startsWith(identityKeyPrefix(chain, serviceElement.id)),
    peerMrEnclave: server.mrEnclave,
    tcbStatus: server.tcbStatus,
    rootIsIntel: server.rootIsIntel,
    reply,
  };
  lap('offline verification + channel');
  console.log(JSON.stringify(out));
} finally {
  await relay.close();
  await world.close();
}
