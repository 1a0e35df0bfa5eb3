import assert from 'node:assert/strict';
import { createECDH, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { fromHex, hex } from '../../../src/bytes/util.ts';
import { aesGcmOpen, aesGcmSeal } from '../../../src/crypto/aes-gcm.ts';
import { ecdhP256Derive, ecdhP256Generate } from '../../../src/crypto/ecdh.ts';
import {
  generateP256,
  generateP256Scalar,
  p256PointValid,
  p256PrivateFromRaw,
  p256PrivateRaw,
  p256PublicFromRaw,
  p256PublicRaw,
  p256Sign,
  p256Verify,
} from '../../../src/crypto/ecdsa.ts';
import { hkdfSha256 } from '../../../src/crypto/hkdf.ts';
import { sha256, sha256Parts } from '../../../src/crypto/sha256.ts';
import { sha384 } from '../../../src/crypto/sha384.ts';

/** Published vectors (NIST, RFC 5869, the GCM specification) and exact refusals for the thin crypto wrappers. */
const fails = (code: string, message?: RegExp) => (e: unknown) => {
  const err = e as { code?: string; message: string };
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return true;
};
const ascii = (s: string) => new TextEncoder().encode(s);

test('SHA-256 and SHA-384 of "abc" (FIPS 180-2 examples), whole or in parts', () => {
  const sha256abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(hex(sha256(ascii('abc'))), sha256abc);
  assert.equal(hex(sha256Parts(ascii('a'), ascii(''), ascii('bc'))), sha256abc);
  const sha384abc = 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7';
  assert.equal(hex(sha384(ascii('abc'))), sha384abc);
  assert.equal(hex(sha384(ascii('ab'), ascii('c'))), sha384abc);
});

test('HKDF-SHA-256: RFC 5869 test case 1; a string info is its UTF-8 bytes', () => {
  const ikm = new Uint8Array(22).fill(0x0b);
  const salt = fromHex('000102030405060708090a0b0c');
  const info = fromHex('f0f1f2f3f4f5f6f7f8f9');
  assert.equal(
    hex(hkdfSha256(ikm, salt, info, 42)),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  );
  assert.deepEqual(hkdfSha256(ikm, salt, 'catena ü', 32), hkdfSha256(ikm, salt, ascii('catena ü'), 32));
});

test("AES-GCM: the GCM specification's test cases 2 (AES-128) and 14 (AES-256), both ways", () => {
  const iv = new Uint8Array(12);
  const p = new Uint8Array(16);
  const cases: Array<[number, string]> = [
    [16, '0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf'],
    [32, 'cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919'],
  ];
  for (const [keyLen, sealedHex] of cases) {
    const key = new Uint8Array(keyLen);
    assert.equal(hex(aesGcmSeal(key, iv, p)), sealedHex, `key of ${keyLen} bytes`);
    assert.deepEqual(aesGcmOpen(key, iv, fromHex(sealedHex)), p);
  }
});

test('AES-GCM: an empty plaintext seals to its 16-byte tag and opens; anything shorter than a tag is ERR_DECRYPTION_FAILED', () => {
  const key = new Uint8Array(16).fill(7);
  const iv = new Uint8Array(12).fill(9);
  const aad = ascii('header');
  const sealed = aesGcmSeal(key, iv, new Uint8Array(0), aad);
  assert.equal(sealed.length, 16);
  assert.deepEqual(aesGcmOpen(key, iv, sealed, aad), new Uint8Array(0));
  assert.throws(
    () => aesGcmOpen(key, iv, sealed, ascii('other')),
    fails('ERR_DECRYPTION_FAILED', /^decryption failed$/),
  );
  for (const n of [0, 1, 3, 15])
    assert.throws(() => aesGcmOpen(key, iv, sealed.subarray(0, n), aad), fails('ERR_DECRYPTION_FAILED'), `${n} bytes`);
});

test('AES-GCM: an IV other than 12 bytes is ERR_ARGUMENT naming the IV', () => {
  const key = new Uint8Array(16);
  assert.throws(() => aesGcmSeal(key, new Uint8Array(16), new Uint8Array(1)), fails('ERR_ARGUMENT', /^gcm iv: /));
  assert.throws(() => aesGcmOpen(key, new Uint8Array(11), new Uint8Array(32)), fails('ERR_ARGUMENT', /^gcm iv: /));
});

test('ECDH P-256: both sides derive the same 32-byte secret, the one OpenSSL computes; a peer key of another length is ERR_ARGUMENT', () => {
  const a = ecdhP256Generate();
  const b = ecdhP256Generate();
  assert.equal(a.publicKey.length, 64);
  const s = a.derive(b.publicKey);
  assert.equal(s.length, 32);
  assert.deepEqual(b.derive(a.publicKey), s);
  const c = createECDH('prime256v1');
  c.generateKeys();
  const cPub = new Uint8Array(c.getPublicKey()).subarray(1);
  assert.deepEqual(ecdhP256Derive(c, a.publicKey), a.derive(cPub));
  assert.deepEqual(new Uint8Array(c.computeSecret(Buffer.from([4, ...a.publicKey]))), a.derive(cPub));
  assert.throws(() => a.derive(new Uint8Array(65)), fails('ERR_ARGUMENT', /^peer ECDH public key: /));
});

test('p256PublicFromRaw: 64 bytes or 65 with the 0x04 prefix give the same key; other shapes are refused', () => {
  const k = generateP256Scalar();
  const with04 = Uint8Array.from([4, ...k.publicRaw]);
  assert.deepEqual(p256PublicRaw(p256PublicFromRaw(k.publicRaw)), k.publicRaw);
  assert.deepEqual(p256PublicRaw(p256PublicFromRaw(with04)), k.publicRaw);
  const with05 = Uint8Array.from([5, ...k.publicRaw]);
  assert.throws(() => p256PublicFromRaw(with05), fails('ERR_ARGUMENT', /^p256 public key: expected 64 bytes, got 65$/));
  assert.throws(() => p256PublicFromRaw(k.publicRaw.subarray(1)), fails('ERR_ARGUMENT', /^p256 public key: /));
});

test('p256PointValid: the 0x04 prefix is dropped only from 65 bytes; every other length is refused', () => {
  // A point whose X starts with the byte 04: stripping it as a prefix would leave 63 bytes.
  let k = generateP256Scalar();
  while (k.publicRaw[0] !== 4) k = generateP256Scalar();
  assert.equal(p256PointValid(k.publicRaw), true);
  assert.equal(p256PointValid(Uint8Array.from([4, ...k.publicRaw])), true);
  assert.equal(p256PointValid(Uint8Array.from([5, ...k.publicRaw])), false);
  // Zero bytes between X and Y keep Y's value: only the length says it is not a point encoding.
  const x = k.publicRaw.subarray(0, 32);
  const y = k.publicRaw.subarray(32);
  assert.equal(p256PointValid(Uint8Array.from([...x, ...new Uint8Array(32), ...y])), false);
  assert.equal(p256PointValid(Uint8Array.from([4, ...x, 0, ...y])), false);
});

test('p256PointValid: a coordinate given as itself plus p is refused, though it satisfies the equation mod p', () => {
  // P-256: y² = x³ − 3x + b (mod p); p ≡ 3 (mod 4), so a square root of a is a^((p+1)/4).
  const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
  const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
  const pow = (b: bigint, e: bigint) => {
    let r = 1n;
    for (b %= P; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
    return r;
  };
  const be32 = (v: bigint) => fromHex(v.toString(16).padStart(64, '0'));
  // The first small x with a point on the curve; x + p still fits 32 bytes.
  let x = 0n;
  let y = 0n;
  for (; ; x++) {
    const rhs = (((x * x * x - 3n * x + B) % P) + P) % P;
    y = pow(rhs, (P + 1n) / 4n);
    if ((y * y) % P === rhs) break;
  }
  assert.equal(p256PointValid(Uint8Array.from([...be32(x), ...be32(y)])), true);
  assert.equal(p256PointValid(Uint8Array.from([...be32(x + P), ...be32(y)])), false);
});

test('p256PointValid: a y coordinate given as itself plus p is refused, though it satisfies the equation mod p', () => {
  const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
  const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
  const be32 = (v: bigint) => fromHex(v.toString(16).padStart(64, '0'));
  // A point with y = 5 (found offline as the root of x³ − 3x + b − 25 mod p), so y + p still fits 32 bytes.
  const x = 0xd7325d7646cd60d80a92738ceb345f844cffaf35841022cab176f692de8de1d7n;
  const y = 5n;
  assert.equal((((y * y - (x * x * x - 3n * x + B)) % P) + P) % P, 0n, 'on the curve');
  const b64 = (v: bigint) => Buffer.from(be32(v)).toString('base64url');
  assert.doesNotThrow(() => createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(x), y: b64(y) }, format: 'jwk' }));
  assert.equal(p256PointValid(Uint8Array.from([...be32(x), ...be32(y)])), true);
  assert.equal(p256PointValid(Uint8Array.from([...be32(x), ...be32(y + P)])), false);
});

test('p256Verify: a signature of another length, or a key of another type, is false and never a throw', () => {
  const { privateKey, publicKey } = generateP256();
  const m = ascii('message');
  const sig = p256Sign(privateKey, m);
  assert.equal(p256Verify(publicKey, m, sig), true);
  assert.equal(p256Verify(publicKey, m, sig.subarray(0, 63)), false);
  assert.equal(p256Verify(publicKey, m, Uint8Array.from([...sig, 0])), false);
  const ed = generateKeyPairSync('ed25519').publicKey;
  assert.equal(p256Verify(ed, m, sig), false);
});

test('p256PrivateFromRaw ∘ p256PrivateRaw: the same key pair; wrong lengths are ERR_ARGUMENT', () => {
  const { privateKey, publicKey } = generateP256();
  const d = p256PrivateRaw(privateKey);
  assert.equal(d.length, 32);
  const pair = p256PrivateFromRaw(d, p256PublicRaw(publicKey));
  assert.deepEqual(p256PrivateRaw(pair.privateKey), d);
  assert.deepEqual(p256PublicRaw(pair.publicKey), p256PublicRaw(publicKey));
  const m = ascii('x');
  assert.equal(p256Verify(publicKey, m, p256Sign(pair.privateKey, m)), true);
  assert.throws(
    () => p256PrivateFromRaw(d.subarray(1), p256PublicRaw(publicKey)),
    fails('ERR_ARGUMENT', /^p256 private key: /),
  );
  assert.throws(() => p256PrivateFromRaw(d, new Uint8Array(65)), fails('ERR_ARGUMENT', /^p256 public key: /));
});
