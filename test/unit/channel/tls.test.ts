import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { hex } from '../../../src/bytes/util.ts';
import { ATTR } from '../../../src/formats/attributes.ts';
import {
  connectAttested,
  createMockAttestationRoot,
  createRatlsCertificate,
  FailingQuoteValidator,
  MockQuoteIssuer,
  MockQuoteValidator,
  type ChannelPolicy,
  type QuoteIssuer,
} from '../../../src/channel/index.ts';
import { echoServer, rejectsWith, roundTrip } from './helpers.ts';

const root = await createMockAttestationRoot();
const otherRoot = await createMockAttestationRoot('someone else');
const validator = new MockQuoteValidator([root.certificate]);
const A = {
  mrEnclave: new Uint8Array(32).fill(0xa1),
  mrSigner: new Uint8Array(32).fill(0x51),
  isvProdId: 21,
  isvSvn: 3,
  attributes: { flags: ATTR.MODE64BIT, xfrm: 3n },
};
const B = { ...A, mrEnclave: new Uint8Array(32).fill(0xb2) };
const policyA: ChannelPolicy = { mrEnclave: [hex(A.mrEnclave)] };
const servers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of servers) await c();
});

async function serve(issuer: QuoteIssuer, verifyClient?: ChannelPolicy) {
  const creds = await createRatlsCertificate(issuer);
  const s = await echoServer({
    credentials: creds,
    ...(verifyClient ? { verifyClient: { validator, policy: verifyClient } } : {}),
  });
  servers.push(s.close);
  return s;
}
const connect = (port: number, extra: Partial<Parameters<typeof connectAttested>[0]> = {}) =>
  connectAttested({ host: '127.0.0.1', port, validator, policy: policyA, ...extra });

test('server-only: a plain Node client verifies the enclave during the handshake and talks TLS 1.3', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, A));
  const { socket, peer } = await connect(s.port);
  assert.equal(peer.mrEnclave, hex(A.mrEnclave));
  assert.equal(peer.isvProdId, 21);
  assert.equal(peer.debug, false);
  assert.equal(peer.rootIsIntel, false);
  assert.equal(socket.channel, 'ra-tls');
  assert.equal((socket as unknown as tls.TLSSocket).getProtocol(), 'TLSv1.3');
  assert.equal(await roundTrip(socket, 'hello enclave'), 'hello enclave');
  socket.destroy();
});

test('refused: a certificate whose key does not match its evidence REPORTDATA', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, A, new Uint8Array(64).fill(7)));
  await rejectsWith(connect(s.port), 'ERR_CHANNEL_KEY_BINDING', 'reportData');
});

test('refused: genuine evidence copied into a certificate with another key', async () => {
  const genuine = await createRatlsCertificate(new MockQuoteIssuer(root.privateKey, A));
  const copier: QuoteIssuer = { issue: async () => genuine.evidence };
  const s = await serve(copier);
  await rejectsWith(connect(s.port), 'ERR_CHANNEL_KEY_BINDING', 'reportData');
});

test('refused: evidence from another enclave (MRENCLAVE not the expected one)', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, B));
  await rejectsWith(connect(s.port), 'ERR_CHANNEL_IDENTITY', 'identity');
});

test('refused: an identity outside the policy (signer right, ISVSVN too low; product wrong)', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, A));
  await rejectsWith(
    connect(s.port, { policy: { mrSigner: hex(A.mrSigner), isvProdId: 21, minIsvSvn: 4 } }),
    'ERR_CHANNEL_IDENTITY',
    'identity',
  );
  await rejectsWith(
    connect(s.port, { policy: { mrSigner: hex(A.mrSigner), isvProdId: 22 } }),
    'ERR_CHANNEL_IDENTITY',
    'identity',
  );
  const ok = await connect(s.port, { policy: { mrSigner: hex(A.mrSigner), isvProdId: 21, minIsvSvn: 3 } });
  ok.socket.destroy();
});

test('refused: a DEBUG enclave by default; accepted only with allowDebug', async () => {
  const s = await serve(
    new MockQuoteIssuer(root.privateKey, { ...A, attributes: { flags: ATTR.MODE64BIT | ATTR.DEBUG, xfrm: 3n } }),
  );
  await rejectsWith(connect(s.port), 'ERR_CHANNEL_DEBUG', 'debug');
  await rejectsWith(connect(s.port, { policy: { anyIdentity: true } }), 'ERR_CHANNEL_DEBUG', 'debug');
  const { socket, peer } = await connect(s.port, { policy: { ...policyA, allowDebug: true } });
  assert.equal(peer.debug, true);
  socket.destroy();
});

test('refused: an untrusted root (the validator says no), and the always-fail validator', async () => {
  const s = await serve(new MockQuoteIssuer(otherRoot.privateKey, A));
  await rejectsWith(connect(s.port), 'ERR_CHANNEL_EVIDENCE', 'root');
  const s2 = await serve(new MockQuoteIssuer(root.privateKey, A));
  await rejectsWith(connect(s2.port, { validator: new FailingQuoteValidator() }), 'ERR_CHANNEL_EVIDENCE', 'validator');
});

test('refused: a certificate outside its validity window at the verification time', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, A));
  await rejectsWith(
    connect(s.port, { at: new Date(Date.now() + 3 * 86_400_000) }),
    'ERR_CHANNEL_CERTIFICATE',
    'certificateValidity',
  );
});

test('no application byte reaches a client that refused the server', async () => {
  const creds = await createRatlsCertificate(new MockQuoteIssuer(root.privateKey, B));
  const { createAttestedServer } = await import('../../../src/channel/index.ts');
  const server = createAttestedServer({ credentials: creds }, (st) => {
    st.on('error', () => undefined);
    st.write('SECRET-BEFORE-VERIFY');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  await rejectsWith(connect(port), 'ERR_CHANNEL_IDENTITY');
});

test('TLS 1.2 is refused by the server', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, A));
  await assert.rejects(
    new Promise((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port: s.port, maxVersion: 'TLSv1.2', rejectUnauthorized: false }, () =>
        resolve(c),
      );
      c.once('error', reject);
    }),
  );
});

test('mutual: the server requires an attested client; a client without evidence is refused, one with evidence is verified', async () => {
  const s = await serve(new MockQuoteIssuer(root.privateKey, A), { mrEnclave: [hex(B.mrEnclave)] });
  // Without a certificate: the server refuses (TLS 1.3: the client learns it as a closed connection).
  const before = s.refused.length;
  const c1 = await connect(s.port).then(
    (r) => r.socket,
    () => null,
  );
  if (c1) await new Promise((r) => c1.once('close', r));
  for (let i = 0; i < 50 && s.refused.length === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.refused.at(-1)?.code, 'ERR_CHANNEL_NO_PEER_CERTIFICATE');
  // With B's RA-TLS certificate: both sides verified.
  const clientCreds = await createRatlsCertificate(new MockQuoteIssuer(root.privateKey, B));
  const { socket, peer } = await connect(s.port, { credentials: clientCreds });
  assert.equal(peer.mrEnclave, hex(A.mrEnclave));
  assert.equal(await roundTrip(socket, 'mutual'), 'mutual');
  assert.equal(s.accepted.at(-1)?.peer?.mrEnclave, hex(B.mrEnclave));
  socket.destroy();
  // With a client certificate from an enclave outside the server's policy: refused by the server.
  const wrong = await createRatlsCertificate(new MockQuoteIssuer(root.privateKey, A));
  const n = s.refused.length;
  const c3 = await connect(s.port, { credentials: wrong }).then(
    (r) => r.socket,
    () => null,
  );
  if (c3) await new Promise((r) => c3.once('close', r));
  for (let i = 0; i < 50 && s.refused.length === n; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.refused.at(-1)?.code, 'ERR_CHANNEL_IDENTITY');
});
