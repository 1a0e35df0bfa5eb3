import { randomUUID, timingSafeEqual } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import { randomBytes } from '../crypto/random.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { Store, TokenRole, TokenRow } from '../store/types.ts';
import { ServerError } from './errors.ts';

/** Default lifetime of a token: 90 days. */
export const DEFAULT_TOKEN_TTL_MS = 90 * 86_400_000;

/**
 * Bearer tokens: `catena_<role>_<32 random bytes base64url>`. The store keeps only the SHA-256 of
 * the whole token text (hex), so a database reader cannot use it; the secret is shown once.
 */
export function tokenHash(token: string): string {
  return hex(sha256(new TextEncoder().encode(token)));
}

/** `30d`, `12h`, `90m`, `3600s` → ms; `never` → null. Anything else: RangeError. */
export function parseTtl(v: string): number | null {
  if (v === 'never') return null;
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(v);
  if (!m) throw new RangeError(`a lifetime such as 30d, 12h, 90m, 3600s, or never; got ${JSON.stringify(v)}`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export interface CreateTokenOptions {
  /** Lifetime in ms (default 90 days); null: never expires — admin tokens only. */
  ttlMs?: number | null;
  /** Agent tokens: the one agent id this token speaks for. */
  agentId?: string;
  now?: Date;
}

/** Creates a token of `role`, stores its hash, returns the secret (the only time it exists in clear). */
export async function createToken(
  store: Store,
  role: TokenRole,
  actor = 'cli',
  o: CreateTokenOptions = {},
): Promise<{
  id: string;
  token: string;
  role: TokenRole;
  expiresAt: string | null;
  agentId: string | null;
  createdAt: string;
}> {
  const ttl = o.ttlMs === undefined ? DEFAULT_TOKEN_TTL_MS : o.ttlMs;
  if (ttl === null && role !== 'admin') throw new ServerError('ERR_MALFORMED', 'only an admin token may never expire');
  if (o.agentId !== undefined && role !== 'agent')
    throw new ServerError('ERR_MALFORMED', 'only an agent token is bound to an agent id');
  const now = o.now ?? new Date();
  const id = `tok-${randomUUID()}`;
  const token = `catena_${role}_${Buffer.from(randomBytes(32)).toString('base64url')}`;
  const expiresAt = ttl === null ? undefined : new Date(now.getTime() + ttl);
  await store.createToken(
    {
      id,
      hash: tokenHash(token),
      role,
      createdAt: now,
      ...(expiresAt ? { expiresAt } : {}),
      ...(o.agentId ? { agentId: o.agentId } : {}),
    },
    { actor, at: now },
  );
  return {
    id,
    token,
    role,
    createdAt: now.toISOString(),
    expiresAt: expiresAt?.toISOString() ?? null,
    agentId: o.agentId ?? null,
  };
}

/**
 * The active token a bearer secret names, or null. The row is found by the secret's hash and the
 * hashes are then compared in constant time; revoked tokens are not found, expired ones are refused.
 */
export async function findActiveToken(
  store: Pick<Store, 'findTokenByHash'>,
  token: string,
  now: Date,
): Promise<TokenRow | null> {
  if (token.length > 512) return null;
  const h = tokenHash(token);
  const row = await store.findTokenByHash(h);
  if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(h, 'hex'))) return null;
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return null;
  return row;
}
