import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The CI guards of scripts/run-tests.mjs: a test that never ends fails at the per-test timeout, a
 * handle left open does not keep a finished file alive, and the suite watchdog stops a run that
 * hangs outside any test timeout and names the file. Fixture test files live in a temp folder.
 */
const RUNNER = new URL('../../scripts/run-tests.mjs', import.meta.url).pathname;

function run(files: Record<string, string>, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'catena-run-tests-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    // Without NODE_TEST_CONTEXT: the nested runner is a run of its own, not a subtest of this file.
    const { NODE_TEST_CONTEXT: _ctx, ...parent } = process.env;
    const r = spawnSync(process.execPath, [RUNNER, dir], {
      encoding: 'utf8',
      env: { ...parent, ...env },
      timeout: 60_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a test that never ends fails at the per-test timeout', () => {
  const r = run(
    {
      'hang.test.ts':
        "import { test } from 'node:test';\ntest('waits forever', () => new Promise(() => setInterval(() => {}, 1000)));\n",
    },
    { CATENA_TEST_TIMEOUT_MS: '1500', CATENA_SUITE_TIMEOUT_S: '40' },
  );
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /timed out after 1500ms/);
});

// Its own run with a generous per-test timeout: under load, loading the file through tsx may take
// longer than the 1.5 s above, which made this flaky. Without --test-force-exit the interval would
// keep the file alive until the suite watchdog (status 124), so status 0 is the proof.
test('a handle left open does not keep a finished file alive', () => {
  const r = run(
    {
      'leak.test.ts':
        "import { test } from 'node:test';\ntest('leaves an interval', () => { setInterval(() => {}, 1000); });\n",
    },
    { CATENA_TEST_TIMEOUT_MS: '60000', CATENA_SUITE_TIMEOUT_S: '40' },
  );
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /✔ leaves an interval/);
});

test('a file whose event loop is blocked is stopped at the timeout too; the suite watchdog stops a run past its limit and names the file', () => {
  const blocked = run(
    { 'stuck.test.ts': "import { test } from 'node:test';\ntest('blocks the event loop', () => { for (;;) {} });\n" },
    { CATENA_TEST_TIMEOUT_MS: '1000', CATENA_SUITE_TIMEOUT_S: '40' },
  );
  assert.equal(blocked.status, 1, blocked.out);
  assert.match(blocked.out, /timed out after 1000ms/);

  const r = run(
    { 'stuck.test.ts': "import { test } from 'node:test';\ntest('blocks the event loop', () => { for (;;) {} });\n" },
    { CATENA_TEST_TIMEOUT_MS: '60000', CATENA_SUITE_TIMEOUT_S: '4' },
  );
  assert.equal(r.status, 124, r.out);
  assert.match(r.out, /ran past 4 s/);
  assert.match(r.out, /stuck\.test\.ts/);
});
