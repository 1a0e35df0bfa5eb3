import { createHmac, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/*
 * First-link challenges that every manager replica can check. A challenge is a 32-byte nonce:
 *
 *   random (12) ‖ expiry (4, big-endian Unix seconds) ‖ HMAC-SHA-256(secret, label ‖ chain ‖ 0 ‖ random ‖ expiry)[0..16]
 *
 * The secret is derived from the manager key, which replicas sharing a chain share (they sign as
 * its owner), so a challenge issued by one replica is accepted by another without shared state.
 * A challenge names its chain and expires; it admits one first enclave because a chain has only one
 * (a second first link is refused by the chain, and concurrent ones by the store's single-writer
 * append). Nothing is kept per challenge, so issuing them costs no memory.
 */

const LABEL = Buffer.from('catena first-link challenge v1\0');

export interface ChallengeSecret {
  readonly bytes: Buffer;
}

/** The replicas' common challenge secret: HKDF-SHA-256 over the manager's private key (PKCS#8 DER). */
export function challengeSecret(managerPrivateKey: KeyObject): ChallengeSecret {
  const ikm = managerPrivateKey.export({ format: 'der', type: 'pkcs8' });
  return { bytes: Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), LABEL, 32)) };
}

function mac(secret: ChallengeSecret, chainId: string, body: Uint8Array): Buffer {
  return createHmac('sha256', secret.bytes)
    .update(LABEL)
    .update(chainId, 'utf8')
    .update(Buffer.from([0]))
    .update(body)
    .digest()
    .subarray(0, 16);
}

export function issueChallenge(
  secret: ChallengeSecret,
  chainId: string,
  now: Date,
  ttlMs: number,
): { nonce: string; expiresAt: string } {
  const expiry = Math.floor((now.getTime() + ttlMs) / 1000);
  const body = Buffer.alloc(16);
  randomBytes(12).copy(body, 0);
  body.writeUInt32BE(expiry, 12);
  return {
    nonce: Buffer.concat([body, mac(secret, chainId, body)]).toString('hex'),
    expiresAt: new Date(expiry * 1000).toISOString(),
  };
}

/** Whether `nonce` is a challenge this manager (or a replica) issued for `chainId` and it has not expired at `now`. */
export function checkChallenge(
  secret: ChallengeSecret,
  chainId: string,
  nonce: string,
  now: Date,
): { ok: true } | { ok: false; reason: 'malformed' | 'forged' | 'expired' } {
  if (typeof nonce !== 'string' || !/^[0-9a-f]{64}$/.test(nonce)) return { ok: false, reason: 'malformed' };
  const raw = Buffer.from(nonce, 'hex');
  const body = raw.subarray(0, 16);
  if (!timingSafeEqual(mac(secret, chainId, body), raw.subarray(16))) return { ok: false, reason: 'forged' };
  if (body.readUInt32BE(12) * 1000 < now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true };
}
