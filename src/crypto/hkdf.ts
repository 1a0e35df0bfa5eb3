import { hkdfSync } from 'node:crypto';

/** HKDF-SHA-256 (RFC 5869). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Uint8Array {
  const i = typeof info === 'string' ? new TextEncoder().encode(info) : info;
  return new Uint8Array(hkdfSync('sha256', ikm, salt, i, length));
}
