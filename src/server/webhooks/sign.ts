import type { KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';

/** Signs a delivery body: a compact JWS over its JSON. */
export type WebhookSigner = (payload: Record<string, unknown>) => Promise<string>;

/**
 * Compact JWS, ES256, with the manager key: protected header {alg: ES256, kid, typ:
 * catena-webhook+jws}; a receiver verifies it with the key of that kid in the manager's
 * /.well-known/jwks.json.
 */
export function webhookSigner(privateKey: KeyObject, kid: string): WebhookSigner {
  return (payload) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'catena-webhook+jws' })
      .sign(privateKey);
}
