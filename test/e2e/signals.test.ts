import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Issue 12 item 5: `npx catena demo --keep` started through npx, then SIGINT, SIGTERM or SIGHUP sent
 * to the npx process only (not its group), must leave no process of its tree running (npm forwards
 * SIGINT/SIGTERM to its child but not SIGHUP, and dies on SIGHUP: the demo then sees its parent gone).
 * The tree is snapshotted from /proc as the contract check does: descendants, and its session/group.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Proc {
  ppid: number;
  pgid: number;
  sid: number;
  start: string;
  state: string;
}

function procs(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const r = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { state: r[0], ppid: Number(r[1]), pgid: Number(r[2]), sid: Number(r[3]), start: r[19] });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The tree of `root`: its descendants and every process of its session or group, with start times (a reused pid is another process). */
function grow(tree: Map<number, string>, roots: Set<number>): Map<number, string> {
  const p = procs();
  for (let changed = true; changed;) {
    changed = false;
    for (const [pid, i] of p) {
      if (!tree.has(pid) && (tree.has(i.ppid) || roots.has(i.sid) || roots.has(i.pgid))) {
        tree.set(pid, i.start);
        changed = true;
      }
    }
  }
  return tree;
}

function alive(tree: Map<number, string>): number[] {
  const p = procs();
  return [...tree]
    .filter(([pid, start]) => p.get(pid)?.start === start && !'ZX'.includes(p.get(pid)!.state))
    .map(([pid]) => pid);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(
    `${sig} to the npx process of \`catena demo --keep\` ends the demo and every process it started`,
    { timeout: 300_000 },
    async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'catena-signals-'));
      // Own session (detached), as a terminal would give it; npx runs the checkout's own bin.
      const npx = spawn(
        'npx',
        ['--no-install', 'catena', 'demo', '--keep', '--json', '--clouds', '2', '--platforms', '2'],
        {
          cwd: ROOT,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, XDG_STATE_HOME: join(tmp, 'state'), TMPDIR: tmp },
        },
      );
      let tree = new Map<number, string>();
      try {
        let out = '';
        let err = '';
        npx.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
        await new Promise<void>((resolve, reject) => {
          npx.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (/"managerUrl"/.test(out) && /\n}\n?$/.test(out)) resolve();
          });
          npx.on('exit', (c) => reject(new Error(`npx exited ${c} before the demo was up: ${err}`)));
        });
        tree = grow(new Map([[npx.pid!, procs().get(npx.pid!)!.start]]), new Set([npx.pid!]));
        assert.ok(tree.size >= 4, `the demo tree has npx, the demo and its agents (${tree.size} processes)`);
        const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
          npx.once('exit', (code, signal) => r({ code, signal })),
        );
        process.kill(npx.pid!, sig);
        let left = alive(grow(tree, new Set([npx.pid!])));
        for (let i = 0; i < 40 && left.length; i++) {
          await new Promise((r) => setTimeout(r, 250));
          left = alive(grow(tree, new Set([npx.pid!])));
        }
        assert.deepEqual(left, [], `processes of the tree still running 10 s after ${sig}`);
        const e = await exited;
        // npm re-raises the child's end on itself or passes its exit code on: either way, not success.
        assert.ok(e.code !== 0, `npx ended with ${JSON.stringify(e)}`);
      } finally {
        for (const pid of alive(tree)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  );
}
