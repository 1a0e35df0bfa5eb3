import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/catena.js');

/**
 * Starts `catena manager` as its own process on 127.0.0.1 (an ephemeral port) for the benchmarks and
 * the replica test: `db` its store URL, `key` the manager key file (replicas share one), `data` its
 * data directory. Resolves with the child and its URL once it printed its JSON start line.
 */
export function startManager(
  db: string,
  key: string,
  data: string,
  opts: { profileDir?: string; verifyThreads?: number; agentCheckMs?: number; extra?: string[] } = {},
): Promise<{ child: ChildProcess; url: string }> {
  const nodeArgs = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const extra = opts.verifyThreads !== undefined ? ['--verify-threads', String(opts.verifyThreads)] : [];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      BIN,
      'manager',
      '--db',
      db,
      '--key',
      key,
      '--data',
      data,
      '--listen',
      '127.0.0.1:0',
      '--agent-check',
      String(opts.agentCheckMs ?? 0),
      '--json',
      '--log-level',
      'warn',
      '--writes-per-minute',
      '1000000000',
      ...extra,
      ...(opts.extra ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The manager stops by itself if this process dies without stopping it.
      env: { ...process.env, CATENA_EXIT_WITH_PARENT: '1' },
    },
  );
  return new Promise((resolveUrl, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`manager did not start: ${err.slice(-300)}`)), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const j = JSON.parse(out) as { url: string };
        clearTimeout(timer);
        resolveUrl({ child, url: j.url });
      } catch {
        /* incomplete */
      }
    });
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`manager exited (${c}): ${err.slice(-300)}`));
    });
  });
}
