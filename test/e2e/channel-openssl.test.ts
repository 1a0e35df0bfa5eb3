import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Black box: `catena channel serve` (TLS terminated inside the emulated enclave) against
 * OpenSSL's s_client — a TLS stack nobody here wrote — and against `catena channel connect`.
 */
const CLI = new URL('../../bin/catena.js', import.meta.url).pathname;
const state = mkdtempSync(join(tmpdir(), 'catena-channel-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(state, { recursive: true, force: true });
});

async function serve(
  ...extra: string[]
): Promise<{ port: number; root: string; mrEnclave: string; log: () => string }> {
  const child = spawn(
    process.execPath,
    [CLI, 'channel', 'serve', '--listen', '127.0.0.1:0', '--state', state, '--json', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const j = JSON.parse(out);
        clearTimeout(t);
        resolve({ port: j.port, root: j.root, mrEnclave: j.enclave.mrEnclave, log: () => err });
      } catch {
        /* not complete yet */
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

test('openssl s_client completes a TLS 1.3 handshake with a Catena enclave and shows both evidence extensions', async () => {
  const s = await serve();
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-tls1_3', '-showcerts'], {
    input: 'hello\n',
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.match(r.stdout, /Protocol\s*:\s*TLSv1\.3|New, TLSv1\.3/, r.stdout + r.stderr);
  assert.match(r.stdout, /CN\s*=\s*Catena RA-TLS/);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  assert.ok(pem, 'server certificate shown');
  const certFile = join(state, 'server.pem');
  writeFileSync(certFile, pem + '\n');
  const text = spawnSync('openssl', ['x509', '-in', certFile, '-noout', '-text'], { encoding: 'utf8' }).stdout;
  // OpenSSL prints unknown extensions by OID; "critical" would follow the OID if set.
  assert.match(text, /1\.2\.840\.113741\.1337\.6:\s*\n/);
  assert.match(text, /2\.23\.133\.5\.4\.9:\s*\n/);
  assert.doesNotMatch(text, /(1\.2\.840\.113741\.1337\.6|2\.23\.133\.5\.4\.9): critical/);
  assert.match(text, /ASN1 OID: prime256v1|NIST CURVE: P-256/);
  // TLS 1.2 is refused.
  const old = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-tls1_2'], {
    input: '',
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.match(old.stdout, /Cipher is \(NONE\)/, 'no TLS 1.2 session');
  assert.doesNotMatch(old.stdout, /New, TLSv1\.2/);

  // catena channel connect verifies and prints the identity; a wrong policy exits 1 naming the check.
  const ok = cli('channel', 'connect', `127.0.0.1:${s.port}`, '--root', s.root, '--message', 'ping', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.verified, true);
  assert.equal(j.peer.mrEnclave, s.mrEnclave);
  assert.equal(j.reply, 'ping');
  // Real evidence: a DCAP v3 quote from the emulated QE, verified under the emulated root (never called Intel's).
  assert.equal(j.peer.evidenceKind, 'sgx-dcap-quote-v3');
  assert.equal(j.peer.tcbStatus, 'UpToDate');
  assert.equal(j.peer.rootIsIntel, false);
  // The quote in the certificate openssl showed verifies with `catena quote verify` and the published collateral.
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const { readRatlsCertificate } = await import('../../src/channel/ratls-cert.ts');
  writeFileSync(join(state, 'quote.dat'), readRatlsCertificate(new Uint8Array(der)).evidence);
  const qv = cli(
    'quote',
    'verify',
    join(state, 'quote.dat'),
    '--collateral',
    join(state, 'collateral.json'),
    '--root',
    join(state, 'root.der'),
    '--at',
    String(Math.floor(Date.now() / 1000)),
    '--json',
  );
  assert.equal(qv.status, 0, qv.stdout + qv.stderr);
  assert.equal(JSON.parse(qv.stdout).quote.mrenclave, s.mrEnclave);
  // Only UpToDate is accepted by default; --accept-tcb changes that, and a refusal names the DCAP check.
  const tcb = cli('channel', 'connect', `127.0.0.1:${s.port}`, '--root', s.root, '--accept-tcb', 'OutOfDate', '--json');
  assert.equal(tcb.status, 1, tcb.stderr);
  assert.deepEqual(
    [JSON.parse(tcb.stdout).code, JSON.parse(tcb.stdout).check],
    ['ERR_CHANNEL_EVIDENCE', 'policy.tcbStatus'],
  );
  const pol = join(state, 'policy.json');
  writeFileSync(pol, JSON.stringify({ mrEnclave: ['00'.repeat(32)] }));
  const no = cli('channel', 'connect', `127.0.0.1:${s.port}`, '--root', s.root, '--policy', pol, '--json');
  assert.equal(no.status, 1, no.stderr);
  assert.deepEqual([JSON.parse(no.stdout).code, JSON.parse(no.stdout).check], ['ERR_CHANNEL_IDENTITY', 'identity']);
  // Another root (collateral.json beside it, the server's): the PCK chain does not reach it.
  const otherRoot = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(state, 'k.pem'),
      '-out',
      join(state, 'other.pem'),
      '-subj',
      '/CN=other',
      '-days',
      '1',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(otherRoot.status, 0, otherRoot.stderr);
  const bad = cli('channel', 'connect', `127.0.0.1:${s.port}`, '--root', join(state, 'other.pem'), '--json');
  assert.equal(bad.status, 1, bad.stderr);
  assert.deepEqual([JSON.parse(bad.stdout).code, JSON.parse(bad.stdout).check], ['ERR_CHANNEL_EVIDENCE', 'pck.chain']);
  // No collateral where it is looked for: a usage error, not a verdict.
  const none = cli(
    'channel',
    'connect',
    `127.0.0.1:${s.port}`,
    '--root',
    s.root,
    '--collateral',
    join(state, 'missing.json'),
    '--json',
  );
  assert.equal(none.status, 2, none.stderr);
});

test('the state directory keeps the emulated root across restarts', async () => {
  const before = readFileSync(join(state, 'root.der'));
  const s = await serve('--runtime', 'inline');
  assert.deepEqual(readFileSync(join(state, 'root.der')), before);
  const ok = cli('channel', 'connect', `127.0.0.1:${s.port}`, '--root', join(state, 'root.der'), '--json');
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
});

test('mutual mode: --require-attested-client refuses a plain client and admits a client enclave', async () => {
  const s = await serve('--require-attested-client', '--runtime', 'inline');
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-tls1_3'], {
    input: 'x\n',
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.match(r.stdout, /New, TLSv1\.3/, 'the handshake itself completes (TLS 1.3 client auth is checked after it)');
  for (let i = 0; i < 100 && !s.log().includes('ERR_CHANNEL_NO_PEER_CERTIFICATE'); i++)
    await new Promise((res) => setTimeout(res, 50));
  assert.match(
    s.log(),
    /refused ERR_CHANNEL_NO_PEER_CERTIFICATE \(peerCertificate\)/,
    'the enclave refused the certificate-less client',
  );
  const e = cli(
    'channel',
    'connect',
    `127.0.0.1:${s.port}`,
    '--root',
    s.root,
    '--enclave',
    '--state',
    state,
    '--message',
    'from an enclave',
    '--json',
  );
  assert.equal(e.status, 0, e.stderr + e.stdout);
  const j = JSON.parse(e.stdout);
  assert.equal(j.client, 'enclave');
  assert.equal(j.peer.mrEnclave, s.mrEnclave);
  assert.equal(j.reply, 'from an enclave');
});
