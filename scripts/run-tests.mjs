#!/usr/bin/env node
// Node 20's test runner takes no globs: collect test/<dir>/**/*.test.ts and hand them to `node --test`.
//
// Nothing here may hang CI: every test has a timeout (CATENA_TEST_TIMEOUT_MS, default 5 min), a file
// whose tests have ended exits even if a handle is left open (--test-force-exit), and a watchdog
// stops the whole run after CATENA_SUITE_TIMEOUT_S (default 15 min), printing the tests that started
// and never ended, then fails.
import { readdirSync, statSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { spawn } from 'node:child_process';

const dirs = process.argv.slice(2);
const files = [];
const walk = (d) => {
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
for (const d of dirs) if (existsSync(d)) walk(d);
if (files.length === 0) {
  console.error(`no test files under ${dirs.join(', ')}`);
  process.exit(1);
}

const testTimeoutMs = Number(process.env.CATENA_TEST_TIMEOUT_MS ?? 300_000);
// Test files in parallel: node's default (cores − 1) is 1 on a 2-core machine, and many files spend
// their time waiting on child processes and sockets, not on the CPU.
const concurrency = Number(process.env.CATENA_TEST_CONCURRENCY ?? Math.max(2, availableParallelism()));
const suiteTimeoutS = Number(process.env.CATENA_SUITE_TIMEOUT_S ?? 900);
const work = mkdtempSync(join(tmpdir(), 'catena-tests-'));
const progressFile = join(work, 'progress.tsv');

const child = spawn(
  process.execPath,
  [
    // catena-src: `catena/...` self-imports (enclave modules, examples) resolve to src/, the code under
    // test, never to a possibly stale dist/ (package.json "exports").
    '--import',
    'tsx',
    '--conditions=catena-src',
    '--test',
    '--test-force-exit',
    `--test-timeout=${testTimeoutMs}`,
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${new URL('./test-progress-reporter.mjs', import.meta.url).href}`,
    '--test-reporter-destination=/dev/null',
    ...files,
  ],
  { stdio: 'inherit', detached: true, env: { ...process.env, CATENA_TEST_PROGRESS: progressFile } },
);

let timedOut = false;
const watchdog = setTimeout(() => {
  timedOut = true;
  console.error(`\nrun-tests: the suite ran past ${suiteTimeoutS} s; stopping it.`);
  console.error('tests that started and never ended:');
  for (const line of unfinished()) console.error(`  ${line}`);
  try {
    process.kill(-child.pid, 'SIGKILL'); // the runner and the per-file processes it started
  } catch {
    /* already gone */
  }
}, suiteTimeoutS * 1000);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    process.exit(130);
  });
}

child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
  process.exit(timedOut ? 124 : (code ?? (signal ? 1 : 1)));
});

function unfinished() {
  let text = '';
  try {
    text = readFileSync(progressFile, 'utf8');
  } catch {
    return ['(no progress recorded)'];
  }
  const open = new Map();
  for (const line of text.split('\n')) {
    const [kind, file, nesting, name] = line.split('\t');
    if (!name) continue;
    const key = `${file}\t${nesting}\t${name}`;
    if (kind === 'start') open.set(key, (open.get(key) ?? 0) + 1);
    else if (open.has(key)) {
      const n = open.get(key) - 1;
      if (n === 0) open.delete(key);
      else open.set(key, n);
    }
  }
  const out = [...open.keys()].map((k) => k.replaceAll('\t', ' · '));
  return out.length ? out : ['(none: a file hung outside any test, e.g. while loading)'];
}
