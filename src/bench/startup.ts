import { spawnSync } from 'node:child_process';
import { median, round } from './stats.ts';

export interface StartupBenchOptions {
  /** The CLI script to run (bin/catena.js). */
  bin: string;
  /** Runs per measured command (after one warm-up run each). */
  runs?: number;
  /** Top-level commands whose `--help` is measured besides `catena --help`. */
  commands?: readonly string[];
}

export interface StartupBenchResult {
  runs: number;
  /** Median wall time of `node -e 0`, in ms: the floor any Node CLI pays. */
  nodeMs: number;
  /** Median wall time of `catena --help`, in ms. */
  helpMs: number;
  /** helpMs ÷ nodeMs. */
  ratio: number;
  /** Median wall time of `catena X --help` per command, in ms. */
  commandHelpMs: Record<string, number>;
  /** The slowest of `catena --help` and every `catena X --help`, in ms (the target is ≤ 150). */
  maxHelpMs: number;
}

function wallMs(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return ms;
}

function medianOf(args: string[], runs: number): number {
  wallMs(args); // warm the file cache
  return median(Array.from({ length: runs }, () => wallMs(args)));
}

/** How long the CLI takes to print its help, against `node -e 0` measured in the same run. */
export function benchStartup(opts: StartupBenchOptions): StartupBenchResult {
  const runs = opts.runs ?? 7;
  const nodeMs = medianOf(['-e', '0'], runs);
  const helpMs = medianOf([opts.bin, '--help'], runs);
  // round() keeps significant digits: 4 of them is 0.1 ms resolution for these times.
  const commandHelpMs: Record<string, number> = {};
  for (const c of opts.commands ?? []) commandHelpMs[c] = round(medianOf([opts.bin, c, '--help'], runs), 4);
  return {
    runs,
    nodeMs: round(nodeMs, 4),
    helpMs: round(helpMs, 4),
    ratio: round(helpMs / nodeMs, 3),
    commandHelpMs,
    maxHelpMs: round(Math.max(helpMs, ...Object.values(commandHelpMs)), 4),
  };
}
