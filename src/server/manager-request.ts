import { randomBytes, type KeyObject } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';

/*
 * Manager → agent requests (re-attestation asks an agent for an element's fresh evidence). The
 * manager is no enclave, so it has no RA-TLS certificate; it signs a short-lived JWT with its key
 * instead — the same key as its EAR results and audit checkpoints, published at
 * /.well-known/jwks.json — addressed to one agent (`aud`), for one scope, used once (`jti`). An agent
 * that leaks such a token gives nothing away: the manager's API does not accept it, and other agents
 * refuse another audience.
 */

export const MANAGER_ISSUER = 'catena-manager';
/** What a manager request token allows: asking for an element's evidence (re-attestation)… */
export const EVIDENCE_SCOPE = 'agent:evidence';
/** …or, for a migration, also loading an element enclave and having a parent admit it. */
export const MIGRATE_SCOPE = 'agent:migrate';
export type ManagerScope = typeof EVIDENCE_SCOPE | typeof MIGRATE_SCOPE;
const LIFETIME_S = 60;

export function agentAudience(agentId: string): string {
  return `agent:${agentId}`;
}

export function signManagerRequest(
  privateKey: KeyObject,
  kid: string,
  agentId: string,
  now: Date = new Date(),
  scope: ManagerScope = EVIDENCE_SCOPE,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(MANAGER_ISSUER)
    .setAudience(agentAudience(agentId))
    .setIssuedAt(iat)
    .setExpirationTime(iat + LIFETIME_S)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(privateKey);
}

/** A compact JWS (three base64url parts): told apart from opaque bearer tokens. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/**
 * The agent side: verifies manager request tokens against the manager's published key(s), for this
 * agent's audience and a known scope, each `jti` once. Resolves with the token's scope, or false on
 * any refusal (the agent then checks the scope against the route's).
 */
export async function managerRequestVerifier(
  jwks: { keys: JWK[] },
  agentId: string,
  clock: () => Date = () => new Date(),
): Promise<(token: string) => Promise<ManagerScope | false>> {
  const keys = new Map<string, KeyObject | Uint8Array>();
  for (const k of jwks.keys ?? []) {
    if (k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.kid !== 'string') continue;
    keys.set(k.kid, (await importJWK({ ...k, alg: 'ES256' }, 'ES256')) as KeyObject | Uint8Array);
  }
  const seen = new Map<string, number>(); // jti → expiry (s)
  return async (token) => {
    try {
      const { payload } = await jwtVerify(
        token,
        async (h) => {
          const key = h.kid ? keys.get(h.kid) : undefined;
          if (!key) throw new Error('unknown key');
          return key;
        },
        {
          algorithms: ['ES256'],
          issuer: MANAGER_ISSUER,
          audience: agentAudience(agentId),
          currentDate: clock(),
          maxTokenAge: `${LIFETIME_S + 5}s`,
          requiredClaims: ['jti', 'exp', 'iat'],
        },
      );
      const scope = payload.scope;
      if (scope !== EVIDENCE_SCOPE && scope !== MIGRATE_SCOPE) return false;
      const now = Math.floor(clock().getTime() / 1000);
      for (const [j, exp] of seen) if (exp < now) seen.delete(j);
      if (seen.has(payload.jti!)) return false; // replayed
      seen.set(payload.jti!, payload.exp!);
      return scope;
    } catch {
      return false;
    }
  };
}
