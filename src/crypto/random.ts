import { randomFillSync } from 'node:crypto';

export function randomBytes(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}
