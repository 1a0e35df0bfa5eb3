import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import {
  generateP256Scalar,
  p256PointValid,
  p256PublicFromRaw,
  p256PublicRaw,
  p256Sign,
  p256SignerFromScalar,
  p256Verify,
} from '../../../src/crypto/ecdsa.ts';

test('generateP256Scalar: a 32-byte scalar and the X‖Y of its point; its signer signs what that point verifies', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const k = generateP256Scalar();
    assert.equal(k.d.length, 32);
    assert.equal(k.publicRaw.length, 64);
    assert.ok(p256PointValid(k.publicRaw));
    const signer = p256SignerFromScalar(k.d, k.publicRaw);
    // The point is d·G: the public half OpenSSL derives from the private key alone is the same point.
    assert.deepEqual(p256PublicRaw(createPublicKey(signer)), k.publicRaw);
    const m = new TextEncoder().encode(`message ${i}`);
    assert.ok(p256Verify(p256PublicFromRaw(k.publicRaw), m, p256Sign(signer, m)));
    seen.add(Buffer.from(k.publicRaw).toString('hex'));
  }
  assert.equal(seen.size, 200);
});

test('p256SignerFromScalar refuses wrong lengths', () => {
  const k = generateP256Scalar();
  assert.throws(() => p256SignerFromScalar(k.d.subarray(1), k.publicRaw), {
    code: 'ERR_ARGUMENT',
    message: /private key: expected 32 bytes/,
  });
  assert.throws(() => p256SignerFromScalar(k.d, k.publicRaw.subarray(1)), {
    code: 'ERR_ARGUMENT',
    message: /public key: expected 64 bytes/,
  });
});
