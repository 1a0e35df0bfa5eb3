import { createPrivateKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { CatenaError } from '../errors.ts';

/**
 * Key files (issue 11 §6): a key is what an identity rests on (a CA, an MRSIGNER), so a key file
 * that exists but cannot be read or parsed stops the caller with its path and the reason, and no key
 * file is ever overwritten — a silent new key would be a silent new identity.
 *
 * - ERR_KEY_FILE_UNREADABLE  the file exists but cannot be read, or its contents do not parse as a key
 * - ERR_KEY_FILE_EXISTS      a different key is already stored at the path
 */
export class KeyFileError extends CatenaError {
  readonly path: string;
  constructor(
    code: 'ERR_KEY_FILE_UNREADABLE' | 'ERR_KEY_FILE_EXISTS',
    path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${path}: ${reason}`, options);
    this.path = path;
  }
}

/**
 * Reads and parses a key file. undefined when there is no file (ENOENT, the one case a caller may
 * create a key); any other failure, of reading or of `parse`, is ERR_KEY_FILE_UNREADABLE.
 */
export async function readKeyFile<T>(path: string, parse: (text: string) => T): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyFileError('ERR_KEY_FILE_UNREADABLE', path, `cannot read the key file (${(e as Error).message})`, {
      cause: e,
    });
  }
  try {
    return parse(text);
  } catch (e) {
    throw new KeyFileError(
      'ERR_KEY_FILE_UNREADABLE',
      path,
      `not a key this program can use (${(e as Error).message})`,
      { cause: e },
    );
  }
}

/**
 * Stores a key (PEM text) at `path`, mode 0600, only if no file is there: an existing file holding
 * the same key (`same(existingText)`, default: the same text) is left alone, anything else there is
 * ERR_KEY_FILE_EXISTS (or ERR_KEY_FILE_UNREADABLE when it cannot be read or `same` cannot parse it).
 */
export async function writeNewKeyFile(
  path: string,
  pem: string,
  same: (existing: string) => boolean = (t) => t === pem,
): Promise<void> {
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new KeyFileError('ERR_KEY_FILE_UNREADABLE', path, `cannot write the key file (${(e as Error).message})`, {
        cause: e,
      });
  }
  const isSame = await readKeyFile(path, same);
  if (!isSame)
    throw new KeyFileError(
      'ERR_KEY_FILE_EXISTS',
      path,
      'a different key is already stored here; refusing to overwrite it',
    );
}

/** A directory for key files: created 0700 (with its parents), and tightened to 0700 if it existed. */
export async function keyDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** A PEM private key file: undefined when absent, ERR_KEY_FILE_UNREADABLE when it exists but is not a key. */
export function readPrivateKeyFile(path: string): Promise<KeyObject | undefined> {
  return readKeyFile(path, (text) => createPrivateKey(text));
}
