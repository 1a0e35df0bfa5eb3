import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aesGcmOpen } from '../../../src/crypto/aes-gcm.ts';
import { KEY_NAME, KEY_POLICY, parseKeyRequest } from '../../../src/formats/keyrequest.ts';
import type { Cpu, EnclaveRef } from '../../../src/sgx/cpu.ts';
import { parseSealedData, sealData, unsealData } from '../../../src/sgx/seal.ts';
import { einit, newCpu, rejectsWithCode, type FakeEnclave } from './helpers.ts';

/** An enclave's sealing view of the CPU (what EnclaveContext.seal/unseal use). */
function sealer(cpu: Cpu, ref: EnclaveRef) {
  return {
    egetkey: async (kr: Uint8Array) => cpu.egetkey(ref, kr),
    isvSvn: cpu.identityOf(ref).isvSvn,
    cpuSvn: cpu.cpuSvn,
  };
}

const te = new TextEncoder();
const ID: FakeEnclave = {
  mrEnclave: new Uint8Array(32).fill(0x10),
  mrSigner: new Uint8Array(32).fill(0x20),
  isvProdId: 3,
  isvSvn: 2,
};

test('sealed blob layout: sgx_sealed_data_t offsets, SDK masks, random KEYID, AES-GCM with a zero IV', async () => {
  const cpu = newCpu();
  const e = einit(cpu, ID);
  const pt = te.encode('the secret');
  const aad = te.encode('context');
  const blob = await sealData(sealer(cpu, e), pt, 'mrsigner', aad);
  assert.equal(blob.length, 560 + pt.length + aad.length);
  const v = new DataView(blob.buffer, blob.byteOffset);
  const kr = parseKeyRequest(blob.subarray(0, 512));
  assert.equal(kr.keyName, KEY_NAME.SEAL);
  assert.equal(kr.keyPolicy, KEY_POLICY.MRSIGNER);
  assert.equal(kr.isvSvn, 2);
  assert.deepEqual(kr.cpuSvn, cpu.cpuSvn);
  assert.equal(kr.attributeMask.flags, 0xff0000000000000bn);
  assert.equal(kr.miscMask, 0xf0000000);
  assert.equal(v.getUint32(512, true), pt.length, 'plain_text_offset');
  assert.equal(v.getUint32(528, true), pt.length + aad.length, 'payload_size');
  assert.deepEqual(blob.subarray(560 + pt.length), aad, 'the AAD is stored in clear after the ciphertext');
  // Open it by hand: EGETKEY with the stored key request, AES-GCM with IV = 0, tag at 544.
  const key = cpu.egetkey(e, blob.subarray(0, 512));
  const ctTag = new Uint8Array([...blob.subarray(560, 560 + pt.length), ...blob.subarray(544, 560)]);
  assert.deepEqual(aesGcmOpen(key, new Uint8Array(12), ctTag, aad), pt);
  const again = await sealData(sealer(cpu, e), pt, 'mrsigner', aad);
  assert.notDeepEqual(again.subarray(40, 72), blob.subarray(40, 72), 'fresh KEYID per blob');
});

test('seal/unseal round-trips any plaintext and AAD (property)', async () => {
  const cpu = newCpu();
  const s = sealer(cpu, einit(cpu, ID));
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom('mrenclave' as const, 'mrsigner' as const),
      async (pt, aad, policy) => {
        const blob = await sealData(s, pt, policy, aad);
        assert.deepEqual(await unsealData(s, blob, aad), pt);
        assert.deepEqual(parseSealedData(blob).aad, aad);
      },
    ),
    { numRuns: 60 },
  );
});

test('unseal after a restart (same root secrets) works; on another platform it fails with ERR_UNSEAL_MAC', async () => {
  const secrets = new Uint8Array(64).fill(0x3c);
  const boot1 = newCpu(secrets);
  const blob = await sealData(sealer(boot1, einit(boot1, ID)), te.encode('persist me'), 'mrenclave');
  const boot2 = newCpu(secrets);
  assert.deepEqual(await unsealData(sealer(boot2, einit(boot2, ID)), blob), te.encode('persist me'));
  const elsewhere = newCpu(new Uint8Array(64).fill(0x3d));
  await rejectsWithCode(unsealData(sealer(elsewhere, einit(elsewhere, ID)), blob), 'ERR_UNSEAL_MAC');
});

test('MRENCLAVE-sealed data opens only in that enclave; MRSIGNER-sealed data opens in the signer’s other enclaves', async () => {
  const cpu = newCpu();
  const a = sealer(cpu, einit(cpu, ID));
  const sibling = sealer(cpu, einit(cpu, { ...ID, mrEnclave: new Uint8Array(32).fill(0x11) }));
  const stranger = sealer(cpu, einit(cpu, { ...ID, mrSigner: new Uint8Array(32).fill(0x21) }));
  const byEnclave = await sealData(a, te.encode('x'), 'mrenclave');
  await rejectsWithCode(unsealData(sibling, byEnclave), 'ERR_UNSEAL_MAC');
  const bySigner = await sealData(a, te.encode('y'), 'mrsigner');
  assert.deepEqual(await unsealData(sibling, bySigner), te.encode('y'));
  await rejectsWithCode(unsealData(stranger, bySigner), 'ERR_UNSEAL_MAC');
});

test('a newer ISVSVN unseals older blobs; an older one cannot unseal newer blobs (ERR_EGETKEY_ISVSVN)', async () => {
  const cpu = newCpu();
  const v2 = sealer(cpu, einit(cpu, { ...ID, isvSvn: 2 }));
  const v3 = sealer(cpu, einit(cpu, { ...ID, isvSvn: 3, mrEnclave: new Uint8Array(32).fill(0x12) }));
  const old = await sealData(v2, te.encode('old'), 'mrsigner');
  assert.deepEqual(await unsealData(v3, old), te.encode('old'));
  const fresh = await sealData(v3, te.encode('new'), 'mrsigner');
  await rejectsWithCode(unsealData(v2, fresh), 'ERR_EGETKEY_ISVSVN');
});

test('tampering, a wrong AAD and malformed blobs are refused with typed errors', async () => {
  const cpu = newCpu();
  const s = sealer(cpu, einit(cpu, ID));
  const blob = await sealData(s, te.encode('payload!'), 'mrenclave', te.encode('aad'));
  for (const i of [560, 563, 544, 559]) {
    const t = blob.slice();
    t[i] ^= 0x80;
    await rejectsWithCode(unsealData(s, t, te.encode('aad')), 'ERR_UNSEAL_MAC');
  }
  const aadFlip = blob.slice();
  aadFlip[blob.length - 1] ^= 1;
  await rejectsWithCode(unsealData(s, aadFlip, te.encode('aad')), 'ERR_UNSEAL_MAC');
  await rejectsWithCode(unsealData(s, blob, te.encode('other')), 'ERR_UNSEAL_AAD');
  await rejectsWithCode(unsealData(s, blob), 'ERR_UNSEAL_AAD');
  await rejectsWithCode(unsealData(s, blob.subarray(0, blob.length - 1), te.encode('aad')), 'ERR_SEALED_DATA');
  await rejectsWithCode(unsealData(s, new Uint8Array([...blob, 0]), te.encode('aad')), 'ERR_SEALED_DATA');
  const reserved = blob.slice();
  reserved[520] = 1;
  await rejectsWithCode(unsealData(s, reserved, te.encode('aad')), 'ERR_SEALED_DATA');
  const notSeal = blob.slice();
  notSeal[0] = KEY_NAME.REPORT;
  await rejectsWithCode(unsealData(s, notSeal, te.encode('aad')), 'ERR_SEALED_DATA');
});
