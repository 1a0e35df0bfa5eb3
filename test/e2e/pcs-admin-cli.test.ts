import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * `catena emulate pcs --json` prints an admin token; `catena emulate pcs recover|revoke` drive the
 * admin API with it (flag or $CATENA_PCS_ADMIN_TOKEN); a wrong token is exit 2 with the PCS's code.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'catena.js');

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { ...process.env, CATENA_PCS_ADMIN_TOKEN: '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

test('emulate pcs --json prints adminToken; recover early/standard and revoke through the CLI', async () => {
  const child = spawn(
    process.execPath,
    [CLI, 'emulate', 'pcs', '--listen', '127.0.0.1:0', '--json', '--log-level', 'silent'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CATENA_PCS_ADMIN_TOKEN: '' },
    },
  );
  try {
    const info = await new Promise<{ url: string; adminToken: string; fmspcs: string[] }>((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error('catena emulate pcs did not start')), 20_000);
      child.stdout.on('data', (d) => {
        out += d;
        try {
          const j = JSON.parse(out);
          clearTimeout(timer);
          ok(j);
        } catch {
          /* not complete yet */
        }
      });
    });
    assert.match(info.adminToken, /^[0-9a-f]{64}$/);
    const tcbNumber = async (update: string) =>
      (
        (await (
          await fetch(`${info.url}/sgx/certification/v4/tcb?fmspc=${info.fmspcs[0]}&update=${update}`)
        ).json()) as { tcbInfo: { tcbEvaluationDataNumber: number } }
      ).tcbInfo.tcbEvaluationDataNumber;
    const n = await tcbNumber('standard');

    const wrong = await run([
      'emulate',
      'pcs',
      'recover',
      '--url',
      info.url,
      '--stage',
      'early',
      '--token',
      'not-the-token-at-all',
    ]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /HTTP 401 ERR_UNAUTHENTICATED/);
    const none = await run(['emulate', 'pcs', 'recover', '--url', info.url, '--stage', 'early']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /CATENA_PCS_ADMIN_TOKEN/);

    const early = await run(
      ['emulate', 'pcs', 'recover', '--url', info.url, '--stage', 'early', '--fmspc', info.fmspcs[0], '--json'],
      { CATENA_PCS_ADMIN_TOKEN: info.adminToken },
    );
    assert.equal(early.code, 0, early.stderr);
    assert.deepEqual(JSON.parse(early.stdout), {
      stage: 'early',
      tcbEvaluationDataNumber: n + 1,
      standard: n,
      early: n + 1,
    });
    assert.equal(await tcbNumber('standard'), n);
    assert.equal(await tcbNumber('early'), n + 1);

    const std = await run([
      'emulate',
      'pcs',
      'recover',
      '--url',
      info.url,
      '--stage',
      'standard',
      '--token',
      info.adminToken,
    ]);
    assert.equal(std.code, 0, std.stderr);
    assert.match(std.stdout, /promoted/);
    assert.equal(await tcbNumber('standard'), n + 1);

    // A TDX TCB recovery: the TDX module identity gains a level at update=early; SGX levels stay.
    const tdx = await run(
      ['emulate', 'pcs', 'recover', '--url', info.url, '--stage', 'early', '--tee', 'tdx', '--json'],
      { CATENA_PCS_ADMIN_TOKEN: info.adminToken },
    );
    assert.equal(tdx.code, 0, tdx.stderr);
    assert.deepEqual(JSON.parse(tdx.stdout), {
      stage: 'early',
      tee: 'tdx',
      tcbEvaluationDataNumber: n + 2,
      standard: n + 1,
      early: n + 2,
    });
    const moduleLevels = async (update: string) =>
      (
        (await (
          await fetch(`${info.url}/tdx/certification/v4/tcb?fmspc=${info.fmspcs[0]}&update=${update}`)
        ).json()) as { tcbInfo: { tdxModuleIdentities: Array<{ tcbLevels: Array<{ tcb: { isvsvn: number } }> }> } }
      ).tcbInfo.tdxModuleIdentities[0].tcbLevels.map((l) => l.tcb.isvsvn);
    assert.deepEqual(await moduleLevels('early'), [5, 4, 2]);
    assert.deepEqual(await moduleLevels('standard'), [4, 2]);
    const tdxFmspc = await run(
      [
        'emulate',
        'pcs',
        'recover',
        '--url',
        info.url,
        '--stage',
        'standard',
        '--tee',
        'tdx',
        '--fmspc',
        info.fmspcs[0],
      ],
      { CATENA_PCS_ADMIN_TOKEN: info.adminToken },
    );
    assert.equal(tdxFmspc.code, 2, 'a TDX recovery is for every FMSPC');
    const promoted = await run(
      ['emulate', 'pcs', 'recover', '--url', info.url, '--stage', 'standard', '--tee', 'tdx'],
      { CATENA_PCS_ADMIN_TOKEN: info.adminToken },
    );
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /^TDX TCB recovery promoted/);
    assert.deepEqual(await moduleLevels('standard'), [5, 4, 2]);

    const revoke = await run([
      'emulate',
      'pcs',
      'revoke',
      '--url',
      info.url,
      '--ca',
      'processor',
      '--json',
      '--token',
      info.adminToken,
    ]);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal(JSON.parse(revoke.stdout).revoked[0].list, 'root');
    const two = await run([
      'emulate',
      'pcs',
      'revoke',
      '--url',
      info.url,
      '--ca',
      'processor',
      '--pck',
      '01',
      '--token',
      info.adminToken,
    ]);
    assert.equal(two.code, 2);
  } finally {
    child.kill('SIGTERM');
  }
});
