import { createHash } from 'node:crypto';

/** SHA-384 of the concatenation of parts (TDX measurement registers are SHA-384). */
export function sha384(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
