import { createECDH } from 'node:crypto';
import { abytes } from '../bytes/util.ts';

/** Ephemeral ECDH on P-256; public keys are 64-byte X‖Y like SGX's. */
export interface EcdhKeyPair {
  publicKey: Uint8Array;
  derive(peerPublic: Uint8Array): Uint8Array;
}

export function ecdhP256Generate(): EcdhKeyPair {
  const ecdh = createECDH('prime256v1');
  const pub = new Uint8Array(ecdh.generateKeys()).subarray(1);
  return {
    publicKey: pub,
    derive(peer: Uint8Array) {
      return ecdhP256Derive(ecdh, peer);
    },
  };
}

export function ecdhP256Derive(ecdh: ReturnType<typeof createECDH>, peerPublic: Uint8Array): Uint8Array {
  abytes(peerPublic, 64, 'peer ECDH public key');
  const full = new Uint8Array(65);
  full[0] = 4;
  full.set(peerPublic, 1);
  return new Uint8Array(ecdh.computeSecret(full));
}
