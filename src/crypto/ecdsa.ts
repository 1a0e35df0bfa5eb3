import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { abytes, concat } from '../bytes/util.ts';

/** ECDSA P-256 with raw r‖s signatures (64 bytes) and raw uncompressed-minus-prefix public keys (64 bytes), as SGX stores them. */
export interface P256KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * A fresh P-256 key pair, as KeyObjects imported from the generator's DER output rather than the
 * generator's own KeyObjects: on Node 20, exporting a just-generated EC key as JWK (p256PublicRaw,
 * jose's exportJWK) can deadlock — the export holds the key's mutex while allocating, and a GC run
 * by that allocation destroys the generating job, which takes the same mutex (seen here: 2 of 5 runs
 * of 5,000 generate + JWK-export rounds hung for good). Imported keys belong to no job.
 */
export function generateP256(): P256KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  });
  return {
    privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: publicKey, format: 'der', type: 'spki' }),
  };
}

/**
 * A P-256 key as bytes only: the private scalar d (32) and the public point X‖Y (64), from OpenSSL's EC
 * key generation through `createECDH` — no KeyObject, no key-generation job (so none of the Node 20
 * export deadlock above). ≈ 3× cheaper than `generateKeyPairSync` here (≈ 45 vs ≈ 160 µs), and a key
 * held as bytes costs ≈ 100 bytes instead of ≈ 5.6 KB of OpenSSL key: for keys of which many are made
 * and most never sign (chain elements; see `p256SignerFromScalar`).
 */
export function generateP256Scalar(): { d: Uint8Array; publicRaw: Uint8Array } {
  const ecdh = createECDH('prime256v1');
  const pub = ecdh.generateKeys();
  const d = ecdh.getPrivateKey();
  // Stryker disable next-line ConditionalExpression,LogicalOperator: OpenSSL's generateKeys always returns the 65-byte 04‖X‖Y; a guard no input reaches
  if (pub.length !== 65 || pub[0] !== 4) throw new RangeError('P-256 key generation: unexpected public key encoding');
  // getPrivateKey drops leading zero bytes: left-pad to 32. Copies, so nothing pins a larger buffer.
  const scalar = new Uint8Array(32);
  scalar.set(d, 32 - d.length);
  return { d: scalar, publicRaw: Uint8Array.from(pub.subarray(1)) };
}

/** The signing KeyObject of a key held as bytes. The point is not checked against d: pass the pair `generateP256Scalar` made. */
export function p256SignerFromScalar(d: Uint8Array, publicRaw: Uint8Array): KeyObject {
  abytes(d, 32, 'p256 private key');
  abytes(publicRaw, 64, 'p256 public key');
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: b64url(d),
      x: b64url(publicRaw.subarray(0, 32)),
      y: b64url(publicRaw.subarray(32)),
    },
    format: 'jwk',
  });
}

export function p256Sign(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
}

/** Verifies a raw r‖s signature; a malformed signature or key is a plain `false`, never a throw. */
export function p256Verify(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  // Stryker disable next-line ConditionalExpression: node's verify answers false for a P1363 signature of another length too (tested); this only skips the call
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

const b64url = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64url');

/** A P-256 public KeyObject from 64-byte X‖Y (or 65 bytes with the 0x04 prefix). Throws on a point not on the curve. */
export function p256PublicFromRaw(raw: Uint8Array): KeyObject {
  const xy = raw.length === 65 && raw[0] === 4 ? raw.subarray(1) : abytes(raw, 64, 'p256 public key');
  // JWK: Node sets the affine coordinates on an EC key directly (OpenSSL checks the point), ≈ 2× faster
  // than SPKI DER, which goes through OpenSSL 3.0's generic decoder (measured ≈ 120 vs ≈ 250 µs).
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(xy.subarray(0, 32)), y: b64url(xy.subarray(32)) },
    format: 'jwk',
  });
}

// P-256 (SEC 2 secp256r1): y² = x³ − 3x + b over GF(p).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const bigOf = (b: Uint8Array) => BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));

/**
 * True when 64-byte X‖Y (or 65 with 0x04) is a point of P-256: both coordinates below p and on the
 * curve (the cofactor is 1, so that is the prime-order group; the point at infinity has no such
 * encoding). The same check OpenSSL makes on import, without building a key object — for verifiers
 * that must validate many keys but use only some of them.
 */
export function p256PointValid(raw: Uint8Array): boolean {
  const xy = raw.length === 65 && raw[0] === 4 ? raw.subarray(1) : raw;
  if (xy.length !== 64) return false;
  const x = bigOf(xy.subarray(0, 32));
  const y = bigOf(xy.subarray(32));
  if (x >= P) return false;
  // Stryker disable next-line EqualityOperator: y = p would need a point with y = 0, of order 2, which P-256 (prime order) has not
  if (y >= P) return false;
  return (y * y - (x * x * x - 3n * x + B)) % P === 0n;
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
