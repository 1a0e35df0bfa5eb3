import { readFileSync } from 'node:fs';

/**
 * Ending a command cleanly: the signals that stop a run, their exit codes (128 + the signal number),
 * and a watch on the parent process for wrappers that do not forward signals.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Calls `handler` once on the first of SIGINT, SIGTERM or SIGHUP; returns a function that removes it. */
export function onStopSignal(handler: (signal: StopSignal) => void): () => void {
  const off = () => {
    for (const s of STOP_SIGNALS) process.off(s, once);
  };
  const once = (s: NodeJS.Signals) => {
    off();
    handler(s as StopSignal);
  };
  for (const s of STOP_SIGNALS) process.on(s, once);
  return off;
}

/** Resolves with the first stop signal received. */
export function untilStopSignal(): Promise<StopSignal> {
  return new Promise((resolve) => onStopSignal(resolve));
}

interface ProcInfo {
  comm: string;
  ppid: number;
  start: string;
}

/** A process's name, parent and start time from /proc (Linux); undefined if gone or not Linux. */
function procInfo(pid: number): ProcInfo | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const r = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ppid: Number(r[1]), start: r[19] };
  } catch {
    return undefined;
  }
}

/** How often a process has slept and been woken (voluntary context switches), from /proc. */
function wakeUps(pid: number): string | undefined {
  try {
    return /voluntary_ctxt_switches:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Stops this process the way a signal would (children included) when what started it goes away.
 * On when CATENA_EXIT_WITH_PARENT=1 (set for the children Catena starts: the parent going away
 * means it was killed outright) or under `npx`/`npm exec` (npm_command=exec); a plain `catena …`
 * (e.g. under nohup) is not watched. Under npx the tree is npm → sh -c → catena, and neither link
 * passes every signal on: npm forwards SIGINT and SIGTERM to the shell but not SIGHUP (it just dies
 * of it), and dash, waiting for its child, catches SIGINT and keeps it until the child has exited.
 * So: parent gone or the npm process above the shell gone → SIGTERM to ourselves; the shell woken
 * while it waits for us (the only thing that wakes it is a signal, or our own stop/exit) → SIGINT.
 */
export function exitWithParent(env: NodeJS.ProcessEnv = process.env, intervalMs = 250): () => void {
  const npx = env.npm_command === 'exec';
  if (env.CATENA_EXIT_WITH_PARENT !== '1' && !npx) return () => {};
  const parent = process.ppid;
  const self = procInfo(process.pid);
  const p = procInfo(parent);
  let shell: number | undefined;
  let npm: { pid: number; start: string } | undefined;
  if (npx && self && p && /^(sh|dash|bash|ash|zsh)$/.test(p.comm)) {
    shell = parent;
    const g = procInfo(p.ppid);
    if (g && p.ppid > 1) npm = { pid: p.ppid, start: g.start };
  }
  let last: string | undefined;
  let armed = false;
  const stop = (signal: NodeJS.Signals) => {
    clearInterval(timer);
    process.kill(process.pid, signal);
  };
  const timer = setInterval(() => {
    if (process.ppid !== parent) return stop('SIGTERM');
    if (npm && procInfo(npm.pid)?.start !== npm.start) return stop('SIGTERM');
    if (shell === undefined) return;
    const n = wakeUps(shell);
    // Armed once the shell is settled in its wait (two equal readings); a later wake-up is a signal.
    if (armed && n !== last) return stop('SIGINT');
    if (n !== undefined && n === last) armed = true;
    last = n;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
