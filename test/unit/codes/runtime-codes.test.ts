import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { ratlsFloor } from '../../../src/bench/channel.ts';
import { GramineAttester, type FileOps } from '../../../src/attestation/index.ts';
import { connectAttested, MockQuoteValidator } from '../../../src/channel/index.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { buildEnclave } from '../../../src/sgx/build.ts';
import { Platform } from '../../../src/sgx/platform.ts';
import { emulateEvidence } from '../../../src/sgx/manufacturer/variants.ts';

/**
 * Error codes of the runtime layers that no other test provoked (issue 11, item 7a): each test makes
 * exactly the documented failure happen and expects exactly its code.
 */
async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('isolated runtime: enclave code throwing an error without a code is ERR_ECALL_FAILED; a worker that exits is ERR_ENCLAVE_CRASHED', async () => {
  const src = `export default function e() {
  return { boom: () => { throw new Error('boom'); }, exit: () => process.exit(3), ok: () => 1 };
}
`;
  const image = buildEnclave(src, { isvProdId: 1, isvSvn: 1 }, generateVendorKey());
  const p = await Platform.open({ name: 'codes' });
  try {
    const e = await p.loadEnclave(image, { runtime: 'isolated' });
    assert.equal(await e.ecall('ok'), 1);
    await rejectsCode(e.ecall('boom'), 'ERR_ECALL_FAILED');
    await rejectsCode(e.ecall('exit'), 'ERR_ENCLAVE_CRASHED');
  } finally {
    await p.close();
  }
});

test('attested channel: a peer that closes during the handshake, or a port nobody listens on, is ERR_CHANNEL_HANDSHAKE', async () => {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const opts = { host: '127.0.0.1', validator: new MockQuoteValidator([]), policy: { anyIdentity: true as const } };
  try {
    await rejectsCode(connectAttested({ ...opts, port }), 'ERR_CHANNEL_HANDSHAKE');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  await rejectsCode(connectAttested({ ...opts, port }), 'ERR_CHANNEL_HANDSHAKE');
});

test('Gramine attester: a pseudo-file read Gramine refuses (not ENOENT) is ERR_ATTESTER_IO', async () => {
  const files: FileOps = {
    readFile: async () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    },
    writeFile: async () => {},
  };
  await rejectsCode(GramineAttester.open({ dir: '/dev/attestation', files }), 'ERR_ATTESTER_IO');
});

test('bench: an RA-TLS floor for an ECDHE group it cannot measure is ERR_BENCH_RESULT', async () => {
  const { quote } = await emulateEvidence();
  assert.throws(
    () => ratlsFloor('ffdhe2048', quote, new Uint8Array(91), 1, 1),
    (e: Error & { code?: string }) => e.code === 'ERR_BENCH_RESULT',
  );
});
