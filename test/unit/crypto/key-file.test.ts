import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  KeyFileError,
  keyDirectory,
  readKeyFile,
  readPrivateKeyFile,
  writeNewKeyFile,
} from '../../../src/crypto/key-file.ts';

/** Key files (issue 11 §6), at the level of the functions: absent, unreadable, not a key, same key, another key. */
const tmp = mkdtempSync(join(tmpdir(), 'catena-key-file-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const keyError =
  (code: string, path: string, reason: RegExp, withCause = true) =>
  (e: unknown) => {
    assert.ok(e instanceof KeyFileError);
    assert.equal(e.code, code);
    assert.equal(e.path, path);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message.slice(path.length + 2), reason);
    assert.equal(e.cause !== undefined, withCause);
    return true;
  };
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });

test('readKeyFile: undefined when absent; the parsed value when present', async () => {
  assert.equal(await readKeyFile(join(tmp, 'absent.pem'), () => 1), undefined);
  const p = join(tmp, 'present.txt');
  writeFileSync(p, 'héllo');
  assert.equal(await readKeyFile(p, (t) => `<${t}>`), '<héllo>');
});

test('readKeyFile: a file that cannot be read, or whose text does not parse, is ERR_KEY_FILE_UNREADABLE with the path and the cause', async () => {
  const dir = join(tmp, 'a-directory');
  mkdirSync(dir);
  await assert.rejects(
    readKeyFile(dir, () => 1),
    keyError('ERR_KEY_FILE_UNREADABLE', dir, /^cannot read the key file \(.*EISDIR/),
  );
  const p = join(tmp, 'garbage.pem');
  writeFileSync(p, 'not a key');
  await assert.rejects(
    readPrivateKeyFile(p),
    keyError('ERR_KEY_FILE_UNREADABLE', p, /^not a key this program can use \(/),
  );
  await assert.rejects(
    readKeyFile(p, () => {
      throw new Error('boom');
    }),
    keyError('ERR_KEY_FILE_UNREADABLE', p, /^not a key this program can use \(boom\)$/),
  );
});

test('readPrivateKeyFile: a PEM private key comes back as that key', async () => {
  const p = join(tmp, 'key.pem');
  writeFileSync(p, pem);
  const k = await readPrivateKeyFile(p);
  assert.equal(k?.type, 'private');
  assert.equal(k?.export({ format: 'pem', type: 'pkcs8' }), pem);
  assert.equal(await readPrivateKeyFile(join(tmp, 'none.pem')), undefined);
});

test('writeNewKeyFile: writes 0600 once; the same key again is left alone; another key is ERR_KEY_FILE_EXISTS and nothing changes', async () => {
  const p = join(tmp, 'new.pem');
  await writeNewKeyFile(p, 'KEY A');
  assert.equal(readFileSync(p, 'utf8'), 'KEY A');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  await writeNewKeyFile(p, 'KEY A');
  await assert.rejects(
    writeNewKeyFile(p, 'KEY B'),
    keyError('ERR_KEY_FILE_EXISTS', p, /^a different key is already stored here; refusing to overwrite it$/, false),
  );
  assert.equal(readFileSync(p, 'utf8'), 'KEY A');
  // `same` decides what counts as the same key.
  await writeNewKeyFile(p, 'KEY C', (existing) => existing === 'KEY A');
  await assert.rejects(
    writeNewKeyFile(p, 'KEY A', () => false),
    keyError('ERR_KEY_FILE_EXISTS', p, /^a different key/, false),
  );
  assert.equal(readFileSync(p, 'utf8'), 'KEY A');
});

test('writeNewKeyFile: a path that cannot be written is ERR_KEY_FILE_UNREADABLE with the cause', async () => {
  const p = join(tmp, 'no-such-dir', 'k.pem');
  await assert.rejects(
    writeNewKeyFile(p, 'K'),
    keyError('ERR_KEY_FILE_UNREADABLE', p, /^cannot write the key file \(.*ENOENT/),
  );
});

test('keyDirectory: creates nested directories 0700 and tightens an existing one', async () => {
  const nested = join(tmp, 'd1', 'd2');
  await keyDirectory(nested);
  assert.equal(statSync(nested).mode & 0o777, 0o700);
  const loose = join(tmp, 'loose');
  mkdirSync(loose);
  chmodSync(loose, 0o755);
  await keyDirectory(loose);
  assert.equal(statSync(loose).mode & 0o777, 0o700);
});
