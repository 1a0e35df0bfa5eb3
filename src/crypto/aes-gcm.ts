import { createCipheriv, createDecipheriv } from 'node:crypto';
import { abytes } from '../bytes/util.ts';
import { CatenaError } from '../errors.ts';

export class DecryptionError extends CatenaError {
  constructor() {
    super('ERR_DECRYPTION_FAILED', 'decryption failed');
  }
}

/** AES-GCM (128 or 256-bit key), 12-byte IV, 16-byte tag appended to the ciphertext. */
export function aesGcmSeal(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  abytes(iv, 12, 'gcm iv');
  const c = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
  c.setAAD(aad);
  const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return new Uint8Array(out);
}

/** Opens ciphertext‖tag; any tampering throws DecryptionError (which says only that). */
export function aesGcmOpen(
  key: Uint8Array,
  iv: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  abytes(iv, 12, 'gcm iv');
  if (sealed.length < 16) throw new DecryptionError();
  const d = createDecipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]));
  } catch {
    throw new DecryptionError();
  }
}
