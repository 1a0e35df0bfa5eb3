import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { challengeSecret, checkChallenge, issueChallenge } from '../../../src/server/challenge.ts';

const key = generateP256();
const secret = challengeSecret(key.privateKey);
const now = new Date('2026-11-27T10:00:00Z');

test('a challenge verifies for its chain until it expires, with the secret of the same manager key (another replica)', () => {
  const c = issueChallenge(secret, 'chain-a', now, 300_000);
  assert.match(c.nonce, /^[0-9a-f]{64}$/);
  assert.equal(c.expiresAt, '2026-11-27T10:05:00.000Z');
  const replica = challengeSecret(key.privateKey); // same key, derived again
  assert.deepEqual(checkChallenge(replica, 'chain-a', c.nonce, now), { ok: true });
  assert.deepEqual(checkChallenge(replica, 'chain-a', c.nonce, new Date('2026-11-27T10:04:59Z')), { ok: true });
  assert.deepEqual(checkChallenge(replica, 'chain-a', c.nonce, new Date('2026-11-27T10:05:01Z')), {
    ok: false,
    reason: 'expired',
  });
  assert.deepEqual(checkChallenge(replica, 'chain-b', c.nonce, now), { ok: false, reason: 'forged' });
  assert.deepEqual(checkChallenge(challengeSecret(generateP256().privateKey), 'chain-a', c.nonce, now), {
    ok: false,
    reason: 'forged',
  });
  assert.deepEqual(checkChallenge(secret, 'chain-a', c.nonce.toUpperCase(), now), { ok: false, reason: 'malformed' });
  assert.deepEqual(checkChallenge(secret, 'chain-a', c.nonce.slice(2), now), { ok: false, reason: 'malformed' });
  assert.notEqual(issueChallenge(secret, 'chain-a', now, 300_000).nonce, c.nonce);
});

test('any single flipped bit of a challenge is refused (property)', () => {
  const c = issueChallenge(secret, 'chain-a', now, 300_000);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), (bit) => {
      const b = Buffer.from(c.nonce, 'hex');
      b[bit >> 3] ^= 1 << (bit & 7);
      return !checkChallenge(secret, 'chain-a', b.toString('hex'), now).ok;
    }),
    { numRuns: 256 },
  );
});
