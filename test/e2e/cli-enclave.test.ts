import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sha256 } from '../../src/crypto/sha256.ts';
import { parseSigstruct, verifySigstruct } from '../../src/formats/sigstruct.ts';
import { readEnclaveImage } from '../../src/sgx/build.ts';
import { Platform } from '../../src/sgx/platform.ts';
import { freshKeyPair } from '../helpers/keys.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'catena.js');
const tmp = mkdtempSync(join(tmpdir(), 'catena-enclave-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const catena = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });

test('catena enclave keygen + build: writes SGXS and SIGSTRUCT; `catena measure` gives the same MRENCLAVE', async () => {
  const key = join(tmp, 'vendor.pem');
  const kg = catena('enclave', 'keygen', '--out', key, '--json');
  assert.equal(kg.status, 0, kg.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  const out = join(tmp, 'hello');
  const b = catena(
    'enclave',
    'build',
    join(ROOT, 'enclaves/hello/hello.js'),
    '--config',
    join(ROOT, 'enclaves/hello/enclave.json'),
    '--key',
    key,
    '--out',
    out,
    '--date',
    '20250301',
    '--json',
  );
  assert.equal(b.status, 0, b.stderr);
  const built = JSON.parse(b.stdout) as { mrenclave: string; mrsigner: string };
  const sgxs = new Uint8Array(readFileSync(join(out, 'enclave.sgxs')));
  const sig = parseSigstruct(new Uint8Array(readFileSync(join(out, 'enclave.sig'))));
  assert.equal(Buffer.from(sha256(sgxs)).toString('hex'), built.mrenclave);
  assert.equal(Buffer.from(sig.enclaveHash).toString('hex'), built.mrenclave);
  assert.ok(verifySigstruct(sig).ok);
  assert.equal(sig.isvProdId, 1);
  assert.equal(sig.date, 0x20250301);
  const m = catena('measure', join(out, 'enclave.sgxs'), '--json');
  assert.equal(m.status, 0, m.stderr);
  assert.equal((JSON.parse(m.stdout) as { mrenclave: string }).mrenclave, built.mrenclave);
  // The two files load and run.
  const image = readEnclaveImage(sgxs, sig.raw);
  assert.equal(image.moduleSource, readFileSync(join(ROOT, 'enclaves/hello/hello.js'), 'utf8'));
  const p = await Platform.open();
  try {
    const h = await p.loadEnclave(image, { runtime: 'inline' });
    assert.equal(Buffer.from(h.identity.mrSigner).toString('hex'), built.mrsigner);
  } finally {
    await p.close();
  }
});

test('catena enclave build: bad usage exits 2 with a message', () => {
  const key = join(tmp, 'vendor2.pem');
  execFileSync(process.execPath, [CLI, 'enclave', 'keygen', '--out', key], { cwd: ROOT });
  const badConfig = join(tmp, 'bad.json');
  writeFileSync(badConfig, JSON.stringify({ isvProdId: 1, isvSvn: 1, heapSize: 100 }));
  const r1 = catena(
    'enclave',
    'build',
    join(ROOT, 'enclaves/hello/hello.js'),
    '--config',
    badConfig,
    '--key',
    key,
    '--out',
    join(tmp, 'x'),
  );
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /heapSize/);
  const r2 = catena(
    'enclave',
    'build',
    join(tmp, 'missing.js'),
    '--config',
    badConfig,
    '--key',
    key,
    '--out',
    join(tmp, 'x'),
  );
  assert.equal(r2.status, 2);
  const notRsa = join(tmp, 'ec.pem');
  writeFileSync(
    notRsa,
    freshKeyPair('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  const r3 = catena(
    'enclave',
    'build',
    join(ROOT, 'enclaves/hello/hello.js'),
    '--config',
    join(ROOT, 'enclaves/hello/enclave.json'),
    '--key',
    notRsa,
    '--out',
    join(tmp, 'x'),
  );
  assert.equal(r3.status, 2);
  assert.match(r3.stderr, /RSA-3072/);
});
