import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { intFlag, printJson, say } from '../io.ts';
import { benchCommand } from './bench.ts';
import { COMMAND_NAMES } from './names.ts';

/** `catena bench startup`: how long `catena --help` and `catena X --help` take, against `node -e 0` in the same run. */
export function register(program: Command): void {
  benchCommand(program)
    .command('startup')
    .description('median time of `catena --help` and `catena X --help` against `node -e 0`, measured in the same run')
    .option('--runs <n>', 'runs per command (after one warm-up run)', '7')
    .option('--json', 'print one JSON document')
    .action(async (opts: { runs: string; json?: boolean }) => {
      const runs = intFlag('runs', opts.runs, 1, 1000);
      const { benchStartup } = await import('../../bench/startup.ts');
      const bin = fileURLToPath(new URL('../../../bin/catena.js', import.meta.url));
      const r = benchStartup({ bin, runs, commands: [...COMMAND_NAMES] });
      if (opts.json) return printJson(r);
      say(false, `node -e 0        ${r.nodeMs.toFixed(1).padStart(7)} ms (median of ${r.runs})`);
      say(false, `catena --help    ${r.helpMs.toFixed(1).padStart(7)} ms (${r.ratio}× node -e 0)`);
      for (const [c, ms] of Object.entries(r.commandHelpMs))
        say(false, `catena ${c.padEnd(9)} --help ${ms.toFixed(1).padStart(7)} ms`);
      say(false, `slowest          ${r.maxHelpMs.toFixed(1).padStart(7)} ms (target ≤ 150 ms)`);
    });
}
