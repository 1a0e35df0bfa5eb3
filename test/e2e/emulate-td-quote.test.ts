import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** `catena emulate td-quote` and `catena quote verify --policy --event-log` on what it writes (the built CLI). */
const catena = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'catena-td-quote-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [catena, ...args], { encoding: 'utf8', timeout: 120_000 });
}

function verify(out: string, policy = join(out, 'policy.json')) {
  const r = cli(
    'quote',
    'verify',
    join(out, 'quote.dat'),
    '--collateral',
    join(out, 'collateral'),
    '--root',
    join(out, 'root.der'),
    '--policy',
    policy,
    '--event-log',
    join(out, 'event-log.bin'),
    '--at',
    'now',
    '--json',
  );
  return {
    ...r,
    json: r.stdout
      ? (JSON.parse(r.stdout) as { verdict: string; tcbStatus: string; checks: Array<{ name: string; ok: boolean }> })
      : undefined,
  };
}

test('--help names every variant; --list-variants --json lists them with their checks', () => {
  const help = cli('emulate', 'td-quote', '--help');
  assert.equal(help.status, 0);
  for (const n of ['debug-td', 'wrong-mrtd', 'rtmr-event-log-mismatch', 'tdx-module-mismatch', 'tampered-tdreport'])
    assert.match(help.stdout, new RegExp(n));
  const list = JSON.parse(cli('emulate', 'td-quote', '--list-variants', '--json').stdout) as Array<{
    name: string;
    check: string;
  }>;
  assert.ok(list.some((v) => v.name === 'rtmr-event-log-mismatch' && v.check === 'td.eventLog'));
  assert.equal(cli('emulate', 'td-quote', '--out', join(dir, 'x'), '--variant', 'nope').status, 2);
});

test('the good TD verifies (exit 0, UpToDate); rtmr-event-log-mismatch exits 1 naming td.eventLog; tampered-tdreport writes no quote (exit 1)', () => {
  const good = join(dir, 'good');
  const w = cli('emulate', 'td-quote', '--out', good, '--json');
  assert.equal(w.status, 0, w.stderr);
  const paths = JSON.parse(w.stdout) as Record<string, string>;
  for (const k of ['quote', 'collateral', 'collateralJson', 'root', 'eventLog', 'policy'])
    assert.ok(existsSync(paths[k]), k);
  const g = verify(good);
  assert.equal(g.status, 0, g.stdout + g.stderr);
  assert.equal(g.json?.tcbStatus, 'UpToDate');

  const bad = join(dir, 'rtmr');
  assert.equal(cli('emulate', 'td-quote', '--out', bad, '--variant', 'rtmr-event-log-mismatch').status, 0);
  const b = verify(bad);
  assert.equal(b.status, 1);
  assert.deepEqual(
    b.json?.checks.filter((c) => !c.ok).map((c) => c.name),
    ['td.eventLog'],
  );

  const t = join(dir, 'tampered');
  const r = cli('emulate', 'td-quote', '--out', t, '--variant', 'tampered-tdreport', '--json');
  assert.equal(r.status, 1);
  assert.equal(existsSync(join(t, 'quote.dat')), false);
  assert.equal((JSON.parse(r.stdout) as { refused: { code: string } }).refused.code, 'ERR_TDREPORT_MAC');
});

test('a policy mixing SGX and TD fields is a usage error naming both (exit 2)', () => {
  const good = join(dir, 'good');
  const mixed = join(dir, 'mixed-policy.json');
  const p = JSON.parse(readFileSync(join(good, 'policy.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(mixed, JSON.stringify({ ...p, mrSigner: '00'.repeat(32) }));
  const r = verify(good, mixed);
  assert.equal(r.status, 2);
  // With --json the usage error is a JSON document on stdout.
  const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
  assert.equal(e.code, 'ERR_USAGE');
  assert.match(e.message, /mrSigner is an SGX enclave field and .*mrTd.* TD fields; a policy is for one kind/);
});

test('--version 5 writes a v5 TD quote (its own option, not catena --version) that verifies', () => {
  const v5 = join(dir, 'v5');
  const w = cli('emulate', 'td-quote', '--out', v5, '--version', '5', '--json');
  assert.equal(w.status, 0, w.stderr);
  assert.equal((JSON.parse(w.stdout) as { version: number }).version, 5);
  const q = readFileSync(join(v5, 'quote.dat'));
  assert.equal(q.readUInt16LE(0), 5);
  assert.equal(q[4], 0x81);
  const g = verify(v5);
  assert.equal(g.status, 0, g.stdout + g.stderr);
  assert.equal(cli('emulate', 'td-quote', '--out', v5, '--version', '6').status, 2);
  assert.match(cli('--version').stdout, /^\d+\.\d+\.\d+/);
});
