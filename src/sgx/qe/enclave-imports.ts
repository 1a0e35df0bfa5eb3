/**
 * The library pieces the emulated QE and PCE enclave modules import (through the package
 * self-reference `catena/sgx/qe/enclave-imports`). Only the enclave module text is measured.
 */
import { createECDH } from 'node:crypto';
import { ctEqual } from '../../bytes/util.ts';
import { p256PrivateFromRaw, type P256KeyPair } from '../../crypto/ecdsa.ts';

export { aesCmac } from '../../crypto/cmac.ts';
export { ReportMac } from '../report-mac.ts';
export { hkdfSha256 } from '../../crypto/hkdf.ts';
export { p256Sign, p256PublicRaw, generateP256 } from '../../crypto/ecdsa.ts';
export { sha256, sha256Parts } from '../../crypto/sha256.ts';
export { buildQuoteV3 } from './quote-builder.ts';

export const ctEqualBytes = ctEqual;

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** A P-256 key pair from 48 uniformly random bytes (reduced mod n−1, plus 1: FIPS 186-4 B.4.1). */
export function pckKeyFromSeed(seed: Uint8Array): P256KeyPair {
  const c = BigInt('0x' + Buffer.from(seed).toString('hex'));
  const d = (c % (P256_N - 1n)) + 1n;
  const dBytes = new Uint8Array(Buffer.from(d.toString(16).padStart(64, '0'), 'hex'));
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(dBytes);
  return p256PrivateFromRaw(dBytes, new Uint8Array(ecdh.getPublicKey()).subarray(1));
}
