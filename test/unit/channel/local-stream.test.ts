import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { hex } from '../../../src/bytes/util.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildEnclave, Platform, type EnclaveContext } from '../../../src/sgx/index.ts';
import { LocalAttestationInitiator, LocalAttestationResponder } from '../../../src/attestation/local/index.ts';
import { localAttestedStream, type AttestedStream, type ChannelError } from '../../../src/channel/index.ts';
import { roundTrip } from './helpers.ts';

const source = readFileSync(new URL('../../fixtures/enclaves/context.js', import.meta.url), 'utf8');
const vendor = generateVendorKey();
let p: Platform;
let A: EnclaveContext;
let B: EnclaveContext;
let signer: string;

before(async () => {
  p = await Platform.open();
  const ctxOf = async (isvProdId: number) => {
    const img = buildEnclave(source, { isvProdId, isvSvn: 1 }, vendor);
    signer = hex(img.mrSigner);
    return (await (await p.loadEnclave(img, { runtime: 'inline' })).ecall('context')) as EnclaveContext;
  };
  A = await ctxOf(1);
  B = await ctxOf(2);
});
after(() => p.close());

/** A TCP loopback pair: the "relayed byte pipe". */
async function pipePair(): Promise<[Socket, Socket, () => void]> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const srv = createServer((s) => accepted(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const c = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  const s = await got;
  return [c, s, () => srv.close()];
}

async function sessions() {
  const ini = new LocalAttestationInitiator(A, { mrSigner: signer, isvProdId: 2 });
  const res = new LocalAttestationResponder(B, { mrSigner: signer, isvProdId: 1 });
  const { msg3, session: si } = await ini.finish(await res.respond(ini.start()));
  return { si, sr: await res.finish(msg3) };
}

test('the local-attestation session as an AttestedStream: both directions, peer identity, large writes', async () => {
  const { si, sr } = await sessions();
  const [ta, tb, stop] = await pipePair();
  const a = localAttestedStream(si, ta);
  const b: AttestedStream = localAttestedStream(sr, tb);
  assert.equal(a.channel, 'local-attestation');
  assert.equal(a.peer?.isvProdId, 2);
  assert.equal(b.peer?.isvProdId, 1);
  b.on('data', (d) => b.write(d)); // echo on B
  assert.equal(await roundTrip(a, 'over the local session'), 'over the local session');
  const big = 'x'.repeat(200_000); // several records
  assert.equal((await roundTrip(a, big)).length, big.length);
  // The pipe carries ciphertext only.
  let sawPlain = false;
  tb.on('data', (d: Buffer) => (sawPlain ||= d.includes('secret-marker')));
  await roundTrip(a, 'secret-marker');
  assert.equal(sawPlain, false);
  a.destroy();
  b.destroy();
  stop();
});

test('an altered record on the pipe destroys the stream with ERR_CHANNEL_RECORD', async () => {
  const { si, sr } = await sessions();
  const [ta, tb, stop] = await pipePair();
  const b = localAttestedStream(sr, tb);
  const err = new Promise<ChannelError>((r) => b.once('error', (e) => r(e as ChannelError)));
  const rec = si.seal(new TextEncoder().encode('hello'));
  rec[rec.length - 1] ^= 1;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(rec.length);
  ta.write(Buffer.concat([head, rec]));
  assert.equal((await err).code, 'ERR_CHANNEL_RECORD');
  ta.destroy();
  stop();
});
