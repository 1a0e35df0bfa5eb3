import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CatenaError } from '../errors.ts';

/** A key file that exists but cannot be read or parsed, or a new key that cannot be written. The message names the path and the reason. */
export class KeyFileError extends CatenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_FILE', message, options);
  }
}

/**
 * Reads a PEM private key. Absent file → undefined (the caller may create one); a file that exists
 * but cannot be read or parsed → KeyFileError: it is never replaced, since a new key would silently
 * change an identity (MRSIGNER, the manager's signing key).
 */
export async function readPrivateKeyFile(path: string): Promise<KeyObject | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyFileError(`key file ${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  try {
    return createPrivateKey(text);
  } catch (e) {
    throw new KeyFileError(`key file ${path} is not a PEM private key: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Writes a new key file, 0600, in a directory created 0700. Never overwrites: if the file appeared
 * meanwhile (another process won the race) it returns false and the caller reads that one.
 */
export async function writeNewKeyFile(path: string, pem: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new KeyFileError(`cannot write key file ${path}: ${(e as Error).message}`, { cause: e });
  }
}
