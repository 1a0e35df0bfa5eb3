import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EVIDENCE_VARIANTS } from '../../src/sgx/manufacturer/variants.ts';

/** `catena emulate quote --variant` / `--list-variants` and `catena quote verify` on what they write. */
const catena = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'catena-variants-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [catena, ...args], { encoding: 'utf8', timeout: 120_000 });
}

function verify(out: string): { status: number | null; json: { verdict: string; error?: { code: string } } } {
  const r = cli(
    'quote',
    'verify',
    join(out, 'quote.dat'),
    '--collateral',
    join(out, 'collateral'),
    '--root',
    join(out, 'root.der'),
    '--at',
    String(Math.floor(Date.now() / 1000)),
    '--json',
  );
  return { status: r.status, json: JSON.parse(r.stdout) };
}

test('--list-variants --json prints every variant with its code', () => {
  const r = cli('emulate', 'quote', '--list-variants', '--json');
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ name: string; code: string }>;
  assert.deepEqual(
    list.map((v) => [v.name, v.code]),
    EVIDENCE_VARIANTS.map((v) => [v.name, v.code]),
  );
  assert.ok(list.some((v) => v.name === 'pck-revoked' && v.code === 'ERR_CERT_REVOKED'));
});

test('the good evidence verifies (exit 0); --variant pck-revoked is rejected with ERR_CERT_REVOKED (exit 1); an unknown variant is a usage error (exit 2)', () => {
  const good = join(dir, 'good');
  assert.equal(cli('emulate', 'quote', '--out', good).status, 0);
  const g = verify(good);
  assert.equal(g.status, 0, JSON.stringify(g.json.error));
  assert.equal(g.json.verdict, 'accepted');

  const bad = join(dir, 'pck-revoked');
  const w = cli('emulate', 'quote', '--variant', 'pck-revoked', '--out', bad, '--json');
  assert.equal(w.status, 0, w.stderr);
  assert.equal(JSON.parse(w.stdout).expectedCode, 'ERR_CERT_REVOKED');
  const b = verify(bad);
  assert.equal(b.status, 1);
  assert.equal(b.json.error?.code, 'ERR_CERT_REVOKED');

  assert.equal(cli('emulate', 'quote', '--variant', 'no-such-variant', '--out', join(dir, 'x')).status, 2);
});
