import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { generateP256, p256PointValid, p256PublicFromRaw, p256PublicRaw } from '../../../src/crypto/ecdsa.ts';

const opensslAccepts = (raw: Uint8Array) => {
  try {
    p256PublicFromRaw(raw);
    return true;
  } catch {
    return false;
  }
};

test('p256PointValid accepts real public keys and agrees with OpenSSL on every single-bit flip of one', () => {
  const raw = p256PublicRaw(generateP256().publicKey);
  assert.ok(p256PointValid(raw));
  const with04 = new Uint8Array(65);
  with04[0] = 4;
  with04.set(raw, 1);
  assert.ok(p256PointValid(with04));
  for (let bit = 0; bit < 512; bit += 3) {
    const f = raw.slice();
    f[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(p256PointValid(f), opensslAccepts(f), `bit ${bit}`);
  }
});

test('p256PointValid agrees with OpenSSL on random 64-byte strings and refuses wrong lengths and coordinates ≥ p', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (b) =>
      assert.equal(p256PointValid(b), opensslAccepts(b)),
    ),
    { numRuns: 50 },
  );
  assert.equal(p256PointValid(new Uint8Array(63)), false);
  assert.equal(p256PointValid(new Uint8Array(64).fill(0xff)), false);
  assert.equal(p256PointValid(new Uint8Array(64)), false, '(0, 0) is not on the curve');
});
