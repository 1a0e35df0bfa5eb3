import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { abytes, concat } from '../bytes/util.ts';

/** ECDSA P-256 with raw r‖s signatures (64 bytes) and raw uncompressed-minus-prefix public keys (64 bytes), as SGX stores them. */
export interface P256KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateP256(): P256KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function p256Sign(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
}

/** Verifies a raw r‖s signature; a malformed signature or key is a plain `false`, never a throw. */
export function p256Verify(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** The 64-byte X‖Y of a P-256 public key (SGX's layout, no 0x04 prefix). */
export function p256PublicRaw(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return concat(new Uint8Array(Buffer.from(jwk.x!, 'base64url')), new Uint8Array(Buffer.from(jwk.y!, 'base64url')));
}

/** A P-256 public KeyObject from 64-byte X‖Y (or 65 bytes with the 0x04 prefix). Throws on a point not on the curve. */
export function p256PublicFromRaw(raw: Uint8Array): KeyObject {
  const xy = raw.length === 65 && raw[0] === 4 ? raw.subarray(1) : abytes(raw, 64, 'p256 public key');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32)).toString('base64url') },
    format: 'jwk',
  });
}

export function p256PrivateRaw(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
}

/** A key pair from a 32-byte private scalar (used for sealed and derived keys). */
export function p256PrivateFromRaw(d: Uint8Array, publicRaw: Uint8Array): P256KeyPair {
  abytes(d, 32, 'p256 private key');
  abytes(publicRaw, 64, 'p256 public key');
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');
  const jwk = { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(publicRaw.subarray(0, 32)), y: b64(publicRaw.subarray(32)) };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
