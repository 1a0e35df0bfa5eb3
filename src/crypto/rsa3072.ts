import { createHash, createPrivateKey, generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import { abytes } from '../bytes/util.ts';
import { ArgumentError } from '../errors.ts';

/**
 * RSA-3072 as SGX uses it for SIGSTRUCT (Intel SDM Vol 3D, "SIGSTRUCT" and EINIT): public exponent 3,
 * RSASSA-PKCS1-v1_5 with SHA-256, every 384-byte number stored little-endian, and two helper
 * values Q1 = floor(s² / n), Q2 = floor((s³ − Q1·s·n) / n) that let EINIT check s³ mod n with
 * multiplications only. Signing uses node:crypto (deterministic PKCS#1 v1.5); verification and
 * Q1/Q2 use bigint arithmetic, so they do not depend on how a KeyObject would be built.
 */
export const RSA3072_BYTES = 384;
export const SIGSTRUCT_EXPONENT = 3;

/** DER prefix of DigestInfo { sha256, OCTET STRING(32) } (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Uint8Array.from([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
]);

/** Unsigned little-endian bytes → bigint. */
export function bigintFromLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
}

/** bigint → exactly `len` little-endian bytes (ArgumentError if it does not fit). */
export function bigintToLE(n: bigint, len: number): Uint8Array {
  if (n < 0n) throw new ArgumentError('bigintToLE: negative value');
  const out = new Uint8Array(len);
  let v = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new ArgumentError(`bigintToLE: value does not fit in ${len} bytes`);
  return out;
}

function reversed(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b).reverse();
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

function assertVendorKey(key: KeyObject, name: string): void {
  const d = key?.asymmetricKeyDetails;
  // Stryker disable next-line OptionalChaining: d is read only once the key type is 'rsa', whose keys have details
  if (key?.asymmetricKeyType !== 'rsa' || d?.modulusLength !== 3072 || d.publicExponent !== 3n) {
    throw new ArgumentError(`${name}: expected an RSA-3072 key with public exponent 3`, 'ERR_RSA_KEY');
  }
}

/** The modulus n of an RSA-3072 key (public or private), 384 bytes little-endian as SIGSTRUCT stores it. */
export function rsaModulusLE(key: KeyObject): Uint8Array {
  assertVendorKey(key, 'rsaModulusLE');
  // A private key's JWK carries n too.
  const jwk = key.export({ format: 'jwk' });
  const be = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
  // Stryker disable next-line ConditionalExpression: assertVendorKey admits 3072-bit moduli only, whose n is 384 bytes; kept as the guard of a bad key object
  if (be.length !== RSA3072_BYTES)
    // Stryker disable next-line StringLiteral: unreachable, as the guard above says
    throw new ArgumentError(`rsaModulusLE: modulus is ${be.length} bytes, expected 384`, 'ERR_RSA_KEY');
  return reversed(be);
}

/** Q1 = floor(s² / n) and Q2 = floor((s³ − Q1·s·n) / n), both 384 bytes little-endian (Intel SDM, EINIT). */
export function rsaQ1Q2(signatureLE: Uint8Array, modulusLE: Uint8Array): { q1LE: Uint8Array; q2LE: Uint8Array } {
  const s = bigintFromLE(abytes(signatureLE, RSA3072_BYTES, 'signature'));
  const n = bigintFromLE(abytes(modulusLE, RSA3072_BYTES, 'modulus'));
  const q1 = (s * s) / n;
  const q2 = (s * s * s - q1 * s * n) / n;
  return { q1LE: bigintToLE(q1, RSA3072_BYTES), q2LE: bigintToLE(q2, RSA3072_BYTES) };
}

/**
 * Signs `message` with RSASSA-PKCS1-v1_5 / SHA-256 under an RSA-3072 e=3 key. Deterministic, so the
 * same key and message always give the same bytes (which is how a real SIGSTRUCT is reproduced).
 */
export function rsa3072Sign(
  privateKey: KeyObject,
  message: Uint8Array,
): { signatureLE: Uint8Array; q1LE: Uint8Array; q2LE: Uint8Array } {
  assertVendorKey(privateKey, 'rsa3072Sign');
  if (privateKey.type !== 'private') throw new ArgumentError('rsa3072Sign: a private key is required', 'ERR_RSA_KEY');
  abytes(message, undefined, 'message');
  const be = new Uint8Array(sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }));
  // Stryker disable next-line ConditionalExpression: a 3072-bit key's PKCS#1 signature is always 384 bytes; kept as the guard of a bad key object
  if (be.length !== RSA3072_BYTES)
    // Stryker disable next-line StringLiteral: unreachable, as the guard above says
    throw new ArgumentError(`rsa3072Sign: signature is ${be.length} bytes`, 'ERR_RSA_KEY');
  const signatureLE = reversed(be);
  return { signatureLE, ...rsaQ1Q2(signatureLE, rsaModulusLE(privateKey)) };
}

/** EMSA-PKCS1-v1_5 encoding of SHA-256(message) for a k-byte modulus (RFC 8017 §9.2), as a big-endian integer. */
function emsaPkcs1Sha256(message: Uint8Array, k: number): bigint {
  const digest = createHash('sha256').update(message).digest();
  const t = SHA256_DIGEST_INFO.length + digest.length;
  const em = new Uint8Array(k);
  em[0] = 0x00;
  em[1] = 0x01;
  // Stryker disable next-line ArithmeticOperator: bytes filled past k − t − 2 are overwritten by the next two lines
  em.fill(0xff, 2, k - t - 1);
  // Stryker disable next-line ArithmeticOperator: em starts zeroed; the line states the separator, and a stray write lands out of range or where DigestInfo is set next
  em[k - t - 1] = 0x00;
  em.set(SHA256_DIGEST_INFO, k - t);
  em.set(digest, k - digest.length);
  let n = 0n;
  for (const byte of em) n = (n << 8n) | BigInt(byte);
  return n;
}

/**
 * Verifies an RSASSA-PKCS1-v1_5 / SHA-256 signature given the modulus and signature as stored in a
 * SIGSTRUCT (384 bytes little-endian each). Returns false (never throws) for any mismatch, including
 * a signature not below the modulus or an even/short modulus.
 */
export function rsa3072Verify(
  modulusLE: Uint8Array,
  exponent: number,
  message: Uint8Array,
  signatureLE: Uint8Array,
): boolean {
  abytes(modulusLE, RSA3072_BYTES, 'modulus');
  abytes(signatureLE, RSA3072_BYTES, 'signature');
  abytes(message, undefined, 'message');
  if (!Number.isSafeInteger(exponent) || exponent < 3 || exponent % 2 === 0) return false;
  const n = bigintFromLE(modulusLE);
  const s = bigintFromLE(signatureLE);
  // A 3072-bit modulus has its top bit set; an even modulus is not an RSA modulus.
  // Stryker disable next-line EqualityOperator: s = n gives s^e mod n = 0, never an encoding
  if (n >> 3071n !== 1n || (n & 1n) === 0n || s >= n) return false;
  return modPow(s, BigInt(exponent), n) === emsaPkcs1Sha256(message, RSA3072_BYTES);
}

/** A fresh vendor signing key: RSA-3072, public exponent 3 (what EINIT requires). */
export function generateVendorKey(): KeyObject {
  // Imported from DER, not the generator's KeyObject: a JWK export of a just-generated key can deadlock Node 20 (see generateP256).
  const der = generateKeyPairSync('rsa', {
    modulusLength: 3072,
    publicExponent: 3,
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  }).privateKey;
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}
