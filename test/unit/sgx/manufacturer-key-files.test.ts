import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError, readKeyFile, writeNewKeyFile } from '../../../src/crypto/key-file.ts';
import { Manufacturer } from '../../../src/sgx/manufacturer/manufacturer.ts';

// Issue 11 §6: a key file that exists but cannot be read or parsed stops with its path and why;
// nothing overwrites an existing key; key files 0600, key directories 0700.

const tmp = mkdtempSync(join(tmpdir(), 'catena-mfr-keys-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const isKeyError = (code: string, path: string) => (e: unknown) =>
  e instanceof KeyFileError && e.code === code && e.path === path && e.message.includes(path);
const snapshot = (dir: string) =>
  Object.fromEntries(readdirSync(join(dir, 'keys')).map((f) => [f, readFileSync(join(dir, 'keys', f), 'utf8')]));

async function saved(name: string): Promise<{ dir: string; m: Manufacturer }> {
  const dir = join(tmp, name);
  const m = await Manufacturer.create();
  void m.enclaveSigningKey; // saved too
  await m.save(dir);
  return { dir, m };
}

test('save: key files 0600 in a 0700 keys directory, certs directory 0700; saving again leaves the keys as they are', async () => {
  const { dir, m } = await saved('modes');
  assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'certs')).mode & 0o777, 0o700);
  const files = readdirSync(join(dir, 'keys')).sort();
  assert.deepEqual(files, [
    'enclave-signing.key.pem',
    'platform-ca.key.pem',
    'processor-ca.key.pem',
    'root.key.pem',
    'tcb-signing.key.pem',
  ]);
  for (const f of files) assert.equal(statSync(join(dir, 'keys', f)).mode & 0o777, 0o600, f);
  const before = snapshot(dir);
  const n = await Manufacturer.load(dir);
  n.ensureFmspc('00906ea10000', { components: Array(16).fill(1), pceSvn: 11 });
  await n.save(dir);
  await m.save(dir);
  assert.deepEqual(snapshot(dir), before);
});

test("save refuses to overwrite another manufacturer's keys (ERR_KEY_FILE_EXISTS) and writes nothing", async () => {
  const { dir } = await saved('other');
  const keys = snapshot(dir);
  const state = readFileSync(join(dir, 'manufacturer.json'), 'utf8');
  const intruder = await Manufacturer.create();
  await assert.rejects(intruder.save(dir), isKeyError('ERR_KEY_FILE_EXISTS', join(dir, 'keys', 'root.key.pem')));
  assert.deepEqual(snapshot(dir), keys);
  assert.equal(readFileSync(join(dir, 'manufacturer.json'), 'utf8'), state);
});

test('load stops on a CA key file that does not parse, naming its path (ERR_KEY_FILE_UNREADABLE)', async () => {
  const { dir } = await saved('garbled-ca');
  const path = join(dir, 'keys', 'processor-ca.key.pem');
  writeFileSync(path, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
  await assert.rejects(Manufacturer.load(dir), isKeyError('ERR_KEY_FILE_UNREADABLE', path));
});

test('load stops on an enclave-signing key that cannot be read, instead of making a new MRSIGNER', async () => {
  const { dir, m } = await saved('garbled-vendor');
  const path = join(dir, 'keys', 'enclave-signing.key.pem');
  writeFileSync(path, 'garbage');
  await assert.rejects(Manufacturer.load(dir), isKeyError('ERR_KEY_FILE_UNREADABLE', path));
  rmSync(path);
  mkdirSync(path); // exists, cannot be read as a file
  await assert.rejects(Manufacturer.load(dir), isKeyError('ERR_KEY_FILE_UNREADABLE', path));
  rmSync(path, { recursive: true });
  // Absent is the one case a new key may be made: and then it is a different MRSIGNER, saved once.
  const n = await Manufacturer.load(dir);
  assert.notDeepEqual(n.enclaveSignerMeasurement, m.enclaveSignerMeasurement);
});

test('a missing CA key is ERR_MANUFACTURER_DATA naming the file', async () => {
  const { dir } = await saved('missing-ca');
  rmSync(join(dir, 'keys', 'tcb-signing.key.pem'));
  await assert.rejects(
    Manufacturer.load(dir),
    (e: { code?: string; message?: string }) =>
      e.code === 'ERR_MANUFACTURER_DATA' && e.message!.includes('tcb-signing.key.pem'),
  );
});

test('key-file helpers: absent is undefined, the same key is kept, a different one is refused', async () => {
  const path = join(tmp, 'k.pem');
  assert.equal(await readKeyFile(path, (t) => t), undefined);
  await writeNewKeyFile(path, 'A');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await writeNewKeyFile(path, 'A');
  await assert.rejects(writeNewKeyFile(path, 'B'), isKeyError('ERR_KEY_FILE_EXISTS', path));
  assert.equal(readFileSync(path, 'utf8'), 'A');
  await assert.rejects(
    readKeyFile(path, () => {
      throw new Error('bad');
    }),
    isKeyError('ERR_KEY_FILE_UNREADABLE', path),
  );
});
