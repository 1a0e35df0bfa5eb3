import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateP256Raw, p256PointValid, p256PublicFromRaw, p256Sign, p256Verify } from '../../../src/crypto/ecdsa.ts';

test('generateP256Raw: a private key and the X‖Y of its public half (the key verifies its signatures)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const k = generateP256Raw();
    assert.equal(k.publicRaw.length, 64);
    assert.ok(p256PointValid(k.publicRaw));
    const m = new TextEncoder().encode(`message ${i}`);
    assert.ok(p256Verify(p256PublicFromRaw(k.publicRaw), m, p256Sign(k.privateKey, m)));
    seen.add(Buffer.from(k.publicRaw).toString('hex'));
  }
  assert.equal(seen.size, 50);
});
