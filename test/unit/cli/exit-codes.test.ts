import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from '../../helpers/cli-in-worker.ts';

/*
 * The exit-code table of docs/cli.md, held command by command: good input → 0, bad usage or an
 * unreadable file → 2, bad evidence (input that was read but does not parse or verify) → 1. The CLI
 * runs in a worker thread of this process (main() from src, test/helpers/cli-in-worker.ts); the whole file runs in an empty current directory, which
 * must still be empty at the end (issue 12 item 4: nothing written where the user did not ask), with
 * XDG_STATE_HOME pointing at a temporary state directory.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'catena-exit-codes-'));
const cwd = join(tmp, 'cwd');
const work = join(tmp, 'work');
const state = join(tmp, 'state');
const garbage = join(work, 'garbage.bin');
const oldCwd = process.cwd();
const oldState = process.env.XDG_STATE_HOME;
let cli: Awaited<ReturnType<typeof startCli>>;

async function expectCode(want: number, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await cli.run(...args);
  assert.equal(
    r.code,
    want,
    `catena ${args.join(' ')} → ${r.code}, want ${want}\nstdout: ${r.out.slice(0, 400)}\nstderr: ${r.err.slice(0, 400)}`,
  );
  return r;
}

before(async () => {
  mkdirSync(cwd);
  mkdirSync(work);
  writeFileSync(garbage, Buffer.from('this is not a quote, nor a SIGSTRUCT, nor an SGXS stream, nor JSON'.repeat(30)));
  process.env.XDG_STATE_HOME = state;
  cli = await startCli(); // before chdir: the worker resolves `--import tsx` from the current directory
  process.chdir(cwd);
});

after(async () => {
  await cli.close();
  process.chdir(oldCwd);
  if (oldState === undefined) delete process.env.XDG_STATE_HOME;
  else process.env.XDG_STATE_HOME = oldState;
  rmSync(tmp, { recursive: true, force: true });
});

test('top level: --version, --help, unknown command, no command', async () => {
  const v = await expectCode(0, '--version');
  assert.equal(v.out.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  assert.match((await expectCode(0, '--help')).out, /quote\s+DCAP quotes/);
  await expectCode(2, 'no-such-command');
  await expectCode(2, 'quote', 'no-such-subcommand');
});

test('enclave keygen, enclave build, measure, sigstruct show and sign', async () => {
  const key = join(work, 'vendor.pem');
  await expectCode(0, 'enclave', 'keygen', '--out', key);
  await expectCode(2, 'enclave', 'keygen', '--out', key); // never overwrites a key
  await expectCode(2, 'enclave', 'keygen');
  const out = join(work, 'hello');
  const hello = join(ROOT, 'enclaves', 'hello');
  await expectCode(
    0,
    'enclave',
    'build',
    join(hello, 'hello.js'),
    '--config',
    join(hello, 'enclave.json'),
    '--key',
    key,
    '--out',
    out,
  );
  await expectCode(
    2,
    'enclave',
    'build',
    join(hello, 'hello.js'),
    '--config',
    join(hello, 'enclave.json'),
    '--out',
    out,
  );
  await expectCode(
    2,
    'enclave',
    'build',
    join(work, 'missing.js'),
    '--config',
    join(hello, 'enclave.json'),
    '--key',
    key,
    '--out',
    out,
  );

  await expectCode(0, 'measure', join(out, 'enclave.sgxs'));
  await expectCode(2, 'measure');
  await expectCode(2, 'measure', join(work, 'missing.sgxs'));
  await expectCode(1, 'measure', garbage);

  await expectCode(0, 'sigstruct', 'show', join(out, 'enclave.sig'));
  await expectCode(2, 'sigstruct', 'show', join(work, 'missing.sig'));
  const bad = await expectCode(1, 'sigstruct', 'show', garbage, '--json');
  assert.equal(JSON.parse(bad.out).valid, false);
  const flipped = readFileSync(join(out, 'enclave.sig'));
  flipped[900] ^= 1;
  writeFileSync(join(work, 'flipped.sig'), flipped);
  await expectCode(1, 'sigstruct', 'show', join(work, 'flipped.sig'));

  const sig = join(work, 'signed.sig');
  const common = ['--key', key, '--isv-prod-id', '1', '--isv-svn', '1', '--date', '20250101', '--out', sig];
  await expectCode(0, 'sigstruct', 'sign', '--enclave-hash', '00'.repeat(32), ...common);
  await expectCode(2, 'sigstruct', 'sign', '--enclave-hash', '00'.repeat(32), ...common, '--vendor', '5');
  await expectCode(1, 'sigstruct', 'sign', '--sgxs', garbage, ...common);
});

test('emulate quote and quote verify: good, bad usage, bad evidence; --json errors', { timeout: 120_000 }, async () => {
  const q = join(work, 'q');
  await expectCode(0, 'emulate', 'quote', '--out', q);
  await expectCode(2, 'emulate', 'quote', '--out', q, '--tcb-level', '9');
  const args = ['--collateral', join(q, 'collateral'), '--root', join(q, 'root.der')];
  await expectCode(0, 'quote', 'verify', join(q, 'quote.dat'), ...args, '--at', 'now');
  await expectCode(0, 'quote', 'verify', join(q, 'quote.dat'), ...args, '--at', new Date().toISOString());
  await expectCode(0, 'quote', 'verify', join(q, 'quote.dat'), ...args, '--at', String(Math.floor(Date.now() / 1000)));
  const bogus = await expectCode(
    2,
    'quote',
    'verify',
    join(q, 'quote.dat'),
    ...args,
    '--at',
    'now',
    '--accept-tcb',
    'Bogus',
    '--json',
  );
  const doc = JSON.parse(bogus.out) as { error: { code: string; message: string } };
  assert.equal(doc.error.code, 'ERR_USAGE');
  assert.match(doc.error.message, /UpToDate/);
  await expectCode(2, 'quote', 'verify', join(q, 'quote.dat'), ...args, '--at', 'yesterday');
  await expectCode(2, 'quote', 'verify', join(q, 'quote.dat'), '--at', 'now'); // no --collateral
  await expectCode(2, 'quote', 'verify', join(work, 'missing.dat'), ...args, '--at', 'now');
  const g = await expectCode(1, 'quote', 'verify', garbage, ...args, '--at', 'now', '--json');
  assert.equal((JSON.parse(g.out) as { verdict: string }).verdict, 'rejected');
  // Unknown flag with --json: one JSON document on stdout, nothing on stderr.
  const u = await expectCode(2, 'quote', 'verify', join(q, 'quote.dat'), '--bogus-flag', '--json');
  assert.equal(typeof (JSON.parse(u.out) as { error: { message: string } }).error.message, 'string');
  assert.equal(u.err, '');
});

test('chain build and chain verify', { timeout: 180_000 }, async () => {
  const bundle = join(work, 'bundle.json');
  await expectCode(
    0,
    'chain',
    'build',
    '--clouds',
    '1',
    '--platforms-per-cloud',
    '1',
    '--enclaves',
    '2',
    '--out',
    bundle,
  );
  await expectCode(2, 'chain', 'build', '--runtime', 'bogus', '--out', bundle);
  const root = join(work, 'root.der'); // written beside the bundle
  await expectCode(0, 'chain', 'verify', bundle, '--root', root, '--at', 'now');
  await expectCode(2, 'chain', 'verify', bundle, '--root', root, '--at', 'soon');
  await expectCode(2, 'chain', 'verify', join(work, 'missing.json'), '--root', root, '--at', 'now');
  await expectCode(1, 'chain', 'verify', garbage, '--root', root, '--at', 'now');
});

test('emulate local-attest, admin token create, audit verify', { timeout: 120_000 }, async () => {
  await expectCode(0, 'emulate', 'local-attest', '--runtime', 'inline');
  await expectCode(2, 'emulate', 'local-attest', '--runtime', 'bogus');
  // Without --data: the state directory, not the current directory.
  await expectCode(0, 'admin', 'token', 'create', '--role', 'admin');
  assert.ok(readdirSync(join(state, 'catena', 'manager')).includes('catena.db'));
  await expectCode(2, 'admin', 'token', 'create', '--role', 'bogus');
  const data = join(work, 'mgr');
  await expectCode(0, 'admin', 'token', 'create', '--data', data);
  // The key is made by the manager; without one the checkpoints cannot be checked → usage.
  await expectCode(2, 'audit', 'verify', '--data', join(work, 'no-such-data'));
});

test('long-running commands refuse bad usage with exit 2', async () => {
  await expectCode(2, 'manager', '--listen', 'nonsense');
  await expectCode(2, 'agent'); // required --manager, --cloud, --manufacturer
  await expectCode(2, 'emulate', 'pcs', '--listen', 'nonsense');
  await expectCode(2, 'channel', 'serve'); // required --listen
  await expectCode(2, 'channel', 'connect', '127.0.0.1:1'); // required --root
  await expectCode(2, 'channel', 'serve', '--listen', '127.0.0.1:0', '--runtime', 'bogus');
  await expectCode(2, 'demo', '--clouds', '99');
  await expectCode(2, 'bench', 'cot', '--runtime', 'bogus');
  await expectCode(2, 'bench', 'manager', '--db', 'mysql');
  await expectCode(2, 'bench', 'startup', '--runs', '0');
});

test('a key file that exists but does not parse stops the command and is left as it was', async () => {
  const dir = join(work, 'badkey');
  mkdirSync(dir);
  writeFileSync(join(dir, 'vendor.pem'), 'not a key');
  const r = await expectCode(2, 'channel', 'serve', '--listen', '127.0.0.1:0', '--state', dir, '--runtime', 'inline');
  assert.match(r.err, /vendor\.pem/);
  assert.equal(readFileSync(join(dir, 'vendor.pem'), 'utf8'), 'not a key');
});

test('nothing was written in the current directory', () => {
  assert.deepEqual(readdirSync(cwd), []);
});
