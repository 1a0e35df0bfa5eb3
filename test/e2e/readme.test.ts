import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Issue 12 item 9: every command of the README's shell blocks in "Quick start", "`catena demo`" and
 * "CLI overview" runs as written, from a fresh copy of the checkout after its own `npm ci`, with the
 * shared vectors at ../shared/vectors beside it. `npx catena demo --keep` runs until interrupted:
 * it must print its URLs, then Ctrl-C (SIGINT) must end it with 130. `npm test` is the one line not
 * run here: CI runs the unit suite as its own step (.ci/run).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VECTORS = resolve(ROOT, '..', 'shared', 'vectors');
const SECTIONS = ['## Quick start', '## `catena demo`', '## CLI overview'];
const NOT_RUN = ['npm test'];

/** The command lines of the ```sh blocks of the README sections above (comments and continuations resolved). */
export function readmeCommands(text: string): string[] {
  const out: string[] = [];
  const parts = text.split(/^(?=## )/m);
  for (const part of parts) {
    if (!SECTIONS.some((s) => part.startsWith(s))) continue;
    for (const block of part.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
      const lines = block[1].replace(/\\\n\s*/g, '').split('\n');
      for (const line of lines) {
        const cmd = line.replace(/\s+#.*$/, '').trim();
        if (cmd && !cmd.startsWith('#')) out.push(cmd);
      }
    }
  }
  return out;
}

const skip =
  !existsSync(join(VECTORS, 'README.md')) && process.env.CATENA_REQUIRE_VECTORS !== '1'
    ? 'the shared vectors are not at ../shared/vectors'
    : false;

test(
  'the README command blocks run verbatim from a fresh copy after npm ci',
  { skip, timeout: 1_800_000 },
  async () => {
    const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    assert.ok(
      commands.includes('npm ci') && commands.includes('npx catena demo'),
      `the quick start is found: ${JSON.stringify(commands)}`,
    );
    assert.ok(
      commands.some((c) => c.startsWith('npx catena quote verify ../shared/vectors/')),
      'the CLI examples are found',
    );
    assert.deepEqual(
      commands.filter((c) => NOT_RUN.includes(c)),
      NOT_RUN,
      'the lines not run here are the ones named above',
    );

    const tmp = mkdtempSync(join(tmpdir(), 'catena-readme-'));
    const repo = join(tmp, 'catena');
    try {
      mkdirSync(repo);
      // A fresh copy of what a clone holds: the tracked and untracked-but-not-ignored files (no node_modules, no dist).
      const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT });
      execFileSync('sh', ['-c', `tar --null -T - -cf - | tar -xf - -C '${repo}'`], { cwd: ROOT, input: files });
      assert.ok(!existsSync(join(repo, 'dist')) && !existsSync(join(repo, 'node_modules')));
      mkdirSync(join(tmp, 'shared'));
      symlinkSync(VECTORS, join(tmp, 'shared', 'vectors'));
      const { NODE_OPTIONS: _o, NODE_TEST_CONTEXT: _c, ...parent } = process.env;
      const env = {
        ...parent,
        XDG_STATE_HOME: join(tmp, 'state'),
        npm_config_prefer_offline: 'true',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
      };

      for (const cmd of commands) {
        if (NOT_RUN.includes(cmd)) continue;
        if (cmd.endsWith('--keep')) {
          // Runs until Ctrl-C: wait for its URLs, then SIGINT to the whole foreground group, as a terminal does.
          const child = spawn('sh', ['-c', cmd], { cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
          let err = '';
          const up = new Promise<void>((res, rej) => {
            child.stderr.on('data', (d: Buffer) => {
              err += d.toString();
              if (/Running \(--keep\)[\s\S]*chain /.test(err)) res();
            });
            child.once('exit', (code) => rej(new Error(`${cmd} exited ${code} before it was up: ${err.slice(-500)}`)));
          });
          await up;
          const done = new Promise<{ code: number | null; signal: string | null }>((res) =>
            child.once('exit', (code, signal) => res({ code, signal })),
          );
          process.kill(-child.pid!, 'SIGINT');
          // As a shell reports it: 130, or killed by SIGINT (sh and npm re-raise the signal their child died of).
          const e = await done;
          assert.ok(e.code === 130 || e.signal === 'SIGINT', `${cmd}: Ctrl-C ends it: ${JSON.stringify(e)}`);
          let gone = false;
          for (let i = 0; i < 40 && !gone; i++) {
            try {
              process.kill(-child.pid!, 0);
              await new Promise((r) => setTimeout(r, 250));
            } catch {
              gone = true;
            }
          }
          assert.ok(gone, `${cmd}: processes of its group still run 10 s after Ctrl-C`);
          continue;
        }
        const r = spawnSync('sh', ['-c', cmd], {
          cwd: repo,
          env,
          encoding: 'utf8',
          timeout: 900_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        assert.equal(r.status, 0, `${cmd} exited ${r.status}\n${r.stdout.slice(-1000)}\n${r.stderr.slice(-2000)}`);
      }
      assert.ok(existsSync(join(repo, 'dist', 'cli', 'main.js')), 'npm ci built dist/');
      assert.ok(dirname(repo) === tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
