import { hkdfSync } from 'node:crypto';

/** HKDF-SHA-256 (RFC 5869). */
/** A string `info` is taken as its UTF-8 bytes (hkdfSync encodes it so). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
