import { randomUUID } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import { randomBytes } from '../crypto/random.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { Store, TokenRole } from '../store/types.ts';

/**
 * Bearer tokens: `catena_<role>_<32 random bytes base64url>`. The store keeps only the SHA-256 of
 * the whole token text (hex), so a database reader cannot use it; the secret is shown once.
 */
export function tokenHash(token: string): string {
  return hex(sha256(new TextEncoder().encode(token)));
}

/** Creates a token of `role`, stores its hash, returns the secret (the only time it exists in clear). */
export async function createToken(store: Store, role: TokenRole, actor = 'cli'): Promise<{ id: string; token: string; role: TokenRole }> {
  const id = `tok-${randomUUID()}`;
  const token = `catena_${role}_${Buffer.from(randomBytes(32)).toString('base64url')}`;
  await store.createToken({ id, hash: tokenHash(token), role, createdAt: new Date() }, { actor, at: new Date() });
  return { id, token, role };
}
