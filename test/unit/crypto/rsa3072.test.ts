import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify, constants, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  bigintFromLE,
  bigintToLE,
  generateVendorKey,
  rsa3072Sign,
  rsa3072Verify,
  rsaModulusLE,
  rsaQ1Q2,
} from '../../../src/crypto/rsa3072.ts';
import { CatenaError } from '../../../src/errors.ts';
import { freshKeyPair } from '../../helpers/keys.ts';

const key = generateVendorKey();
const modulus = rsaModulusLE(key);
const n = bigintFromLE(modulus);

/** node:crypto's own verifier, given the stored (LE) modulus and signature: an implementation we did not write. */
function nodeVerifies(modLE: Uint8Array, msg: Uint8Array, sigLE: Uint8Array): boolean {
  const pub = createPublicKey({
    key: { kty: 'RSA', n: Buffer.from(modLE).reverse().toString('base64url'), e: 'Aw' },
    format: 'jwk',
  });
  return verify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(sigLE).reverse());
}

test('generateVendorKey: RSA-3072 with public exponent 3', () => {
  const d = key.asymmetricKeyDetails!;
  assert.equal(key.asymmetricKeyType, 'rsa');
  assert.equal(d.modulusLength, 3072);
  assert.equal(d.publicExponent, 3n);
});

test('rsaModulusLE: 384 bytes, the JWK modulus reversed, same for the public half', () => {
  const jwkN = new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).n!, 'base64url'));
  assert.equal(modulus.length, 384);
  assert.deepEqual(modulus, jwkN.slice().reverse());
  assert.deepEqual(rsaModulusLE(createPublicKey(key)), modulus);
  assert.equal(n >> 3071n, 1n, 'top bit of a 3072-bit modulus');
});

test('sign → our verifier and node:crypto both accept; Q1/Q2 satisfy their defining inequalities (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (msg) => {
      const { signatureLE, q1LE, q2LE } = rsa3072Sign(key, msg);
      assert.equal(signatureLE.length, 384);
      assert.ok(rsa3072Verify(modulus, 3, msg, signatureLE));
      assert.ok(nodeVerifies(modulus, msg, signatureLE));
      const s = bigintFromLE(signatureLE);
      const q1 = bigintFromLE(q1LE);
      const q2 = bigintFromLE(q2LE);
      // Q1 = floor(s²/n)  ⇔  Q1·n ≤ s² < (Q1+1)·n ; likewise Q2 for s³ − Q1·s·n.
      assert.ok(q1 * n <= s * s && s * s < (q1 + 1n) * n);
      const r = s * s * s - q1 * s * n;
      assert.ok(q2 * n <= r && r < (q2 + 1n) * n);
    }),
    { numRuns: 12 },
  );
});

test('signing is deterministic (PKCS#1 v1.5)', () => {
  const msg = new TextEncoder().encode('same message');
  assert.deepEqual(rsa3072Sign(key, msg), rsa3072Sign(key, msg));
});

test('verify refuses: another message, any flipped signature bit, another key, exponent ≠ 3, s ≥ n', () => {
  const msg = new TextEncoder().encode('catena');
  const { signatureLE } = rsa3072Sign(key, msg);
  assert.equal(rsa3072Verify(modulus, 3, new TextEncoder().encode('catenA'), signatureLE), false);
  for (const bit of [0, 7, 8 * 100 + 3, 8 * 383 + 6]) {
    const bad = signatureLE.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(rsa3072Verify(modulus, 3, msg, bad), false, `bit ${bit}`);
  }
  const other = rsaModulusLE(generateVendorKey());
  assert.equal(rsa3072Verify(other, 3, msg, signatureLE), false);
  assert.equal(rsa3072Verify(modulus, 65537, msg, signatureLE), false);
  assert.equal(rsa3072Verify(modulus, 3, msg, bigintToLE(n, 384)), false);
});

test('wrong key shapes are ArgumentErrors with a stable code', () => {
  const rsa2048 = freshKeyPair('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
  const e65537 = freshKeyPair('rsa', { modulusLength: 3072 }).privateKey;
  for (const k of [rsa2048, e65537]) {
    assert.throws(
      () => rsa3072Sign(k, new Uint8Array(1)),
      (e: CatenaError) => e.code === 'ERR_RSA_KEY',
    );
    assert.throws(
      () => rsaModulusLE(k),
      (e: CatenaError) => e.code === 'ERR_RSA_KEY',
    );
  }
  assert.throws(
    () => rsa3072Sign(createPublicKey(key), new Uint8Array(1)),
    (e: CatenaError) => e.code === 'ERR_RSA_KEY',
  );
  assert.throws(
    () => rsa3072Verify(modulus.subarray(1), 3, new Uint8Array(1), new Uint8Array(384)),
    (e: CatenaError) => e.code === 'ERR_ARGUMENT',
  );
});

test('rsaQ1Q2 matches the SDM formula on small hand-checkable numbers embedded in 384 bytes', () => {
  // s = 10, n = 7: Q1 = floor(100/7) = 14; Q2 = floor((1000 − 14·10·7)/7) = floor(20/7) = 2.
  const { q1LE, q2LE } = rsaQ1Q2(bigintToLE(10n, 384), bigintToLE(7n, 384));
  assert.equal(bigintFromLE(q1LE), 14n);
  assert.equal(bigintFromLE(q2LE), 2n);
});

test('bigint LE helpers round-trip (property) and refuse overflow', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 3072n) - 1n }), (v) => bigintFromLE(bigintToLE(v, 384)) === v),
  );
  assert.throws(
    () => bigintToLE(1n << 3072n, 384),
    (e: CatenaError) => e.code === 'ERR_ARGUMENT',
  );
});

test('generateVendorKey: each call is a fresh private RSA-3072 key with exponent 3', () => {
  const k = generateVendorKey();
  assert.equal(k.type, 'private');
  assert.equal(k.asymmetricKeyType, 'rsa');
  assert.equal(k.asymmetricKeyDetails!.modulusLength, 3072);
  assert.equal(k.asymmetricKeyDetails!.publicExponent, 3n);
  assert.notDeepEqual(rsaModulusLE(k), modulus);
});

test('refusals name the function and the field: negative bigints, wrong lengths, a message that is not bytes', () => {
  const fails = (code: string, message: RegExp) => (e: unknown) => {
    assert.equal((e as CatenaError).code, code);
    assert.match((e as Error).message, message);
    return true;
  };
  assert.throws(() => bigintToLE(-1n, 4), fails('ERR_ARGUMENT', /negative value/));
  assert.deepEqual(bigintToLE(0n, 4), new Uint8Array(4));
  assert.throws(() => rsaQ1Q2(new Uint8Array(383), modulus), fails('ERR_ARGUMENT', /^signature: /));
  assert.throws(() => rsaQ1Q2(new Uint8Array(384), modulus.subarray(1)), fails('ERR_ARGUMENT', /^modulus: /));
  assert.throws(
    () => rsa3072Verify(modulus.subarray(1), 3, new Uint8Array(1), new Uint8Array(384)),
    fails('ERR_ARGUMENT', /^modulus: /),
  );
  assert.throws(
    () => rsa3072Verify(modulus, 3, new Uint8Array(1), new Uint8Array(383)),
    fails('ERR_ARGUMENT', /^signature: /),
  );
  const notBytes = 'text' as unknown as Uint8Array;
  assert.throws(() => rsa3072Verify(modulus, 3, notBytes, new Uint8Array(384)), fails('ERR_ARGUMENT', /^message: /));
  assert.throws(() => rsa3072Sign(key, notBytes), fails('ERR_ARGUMENT', /^message: /));
  // A 2048-bit key with exponent 3 is refused by the key check itself, before any length is looked at.
  const rsa2048 = freshKeyPair('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
  assert.throws(() => rsaModulusLE(rsa2048), fails('ERR_RSA_KEY', /^rsaModulusLE: expected an RSA-3072 key/));
  assert.throws(
    () => rsa3072Sign(rsa2048, new Uint8Array(1)),
    fails('ERR_RSA_KEY', /^rsa3072Sign: expected an RSA-3072 key/),
  );
  assert.throws(() => rsaModulusLE(undefined as unknown as KeyObject), fails('ERR_RSA_KEY', /^rsaModulusLE: /));
});

test('an RSA-PSS key of 3072 bits and exponent 3 is not a SIGSTRUCT key', () => {
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 3072, publicExponent: 3 }).privateKey;
  assert.throws(
    () => rsaModulusLE(pss),
    (e: CatenaError) => e.code === 'ERR_RSA_KEY',
  );
});

/**
 * The verifier is arithmetic on (n, e, s): s^e mod n must be the EMSA-PKCS1-v1_5 encoding. Moduli made
 * here as n = s^e − EM (so that s^e mod n = EM) check each guard on n, e and s by itself.
 */
const message = new TextEncoder().encode('forged on purpose');
const EM = (() => {
  const digest = createHash('sha256').update(message).digest();
  const digestInfo = Buffer.from('3031300d060960864801650304020105000420', 'hex');
  const em = Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.alloc(384 - 3 - 51, 0xff),
    Buffer.from([0]),
    digestInfo,
    digest,
  ]);
  assert.equal(em.length, 384);
  return BigInt('0x' + em.toString('hex'));
})();
function iroot(v: bigint, e: bigint): bigint {
  let lo = 0n;
  let hi = 1n << (BigInt(v.toString(2).length) / e + 1n);
  while (lo < hi) {
    const mid = (lo + hi + 1n) / 2n;
    if (mid ** e <= v) lo = mid;
    else hi = mid - 1n;
  }
  return lo;
}
/** s and n = s^e − EM with n ≥ `floor` and n odd or even as asked. */
function forge(e: bigint, floor: bigint, odd: boolean): { n: bigint; s: bigint } {
  let s = iroot(floor + EM, e) + 1n;
  if (((s ** e - EM) & 1n) !== (odd ? 1n : 0n)) s += 1n;
  const n = s ** e - EM;
  assert.ok(n > EM && s < n && n >= floor && (n & 1n) === (odd ? 1n : 0n));
  return { n, s };
}
const le = (v: bigint) => bigintToLE(v, 384);

test('verify: s^e mod n = EM is accepted for odd e ≥ 3 under a 3072-bit odd n; every guard refuses by itself', () => {
  const top = (1n << 3071n) + (1n << 3000n);
  const good = forge(3n, top, true);
  assert.equal(rsa3072Verify(le(good.n), 3, message, le(good.s)), true);
  assert.equal(rsa3072Verify(le(good.n), 3, message, le(good.s + good.n)), false, 's ≥ n');
  const five = forge(5n, top, true);
  assert.equal(rsa3072Verify(le(five.n), 5, message, le(five.s)), true, 'e = 5');
  const even = forge(3n, top, false);
  assert.equal(rsa3072Verify(le(even.n), 3, message, le(even.s)), false, 'even modulus');
  const short = forge(3n, 1n << 3060n, true);
  assert.ok(short.n < 1n << 3071n);
  assert.equal(rsa3072Verify(le(short.n), 3, message, le(short.s)), false, 'modulus under 3072 bits');
  const four = forge(4n, top, true);
  assert.equal(rsa3072Verify(le(four.n), 4, message, le(four.s)), false, 'even exponent');
  assert.equal(rsa3072Verify(modulus, 1, message, le(EM)), false, 'exponent 1');
  assert.equal(rsa3072Verify(modulus, 3.5, message, le(EM)), false, 'exponent not an integer');
});
