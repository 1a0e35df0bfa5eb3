import type { Command } from 'commander';
import { intFlag, printJson, say } from '../io.ts';
import { benchCommand } from './bench.ts';

/** `catena bench selfmanage`: re-appraisal of N stored elements after a collateral change (docs/benchmarks.md). */
export function register(program: Command): void {
  benchCommand(program)
    .command('selfmanage')
    .description('re-appraisal of N stored elements after a collateral change (a TCB recovery staged early)')
    .option('--elements <n>', 'stored elements', '10000')
    .option('--platforms <n>', 'emulated platforms they run on', '4')
    .option('--json', 'print one JSON document')
    .action(async (opts: { elements: string; platforms: string; json?: boolean }) => {
      const elements = intFlag('elements', opts.elements, 1, 1_000_000);
      const platforms = intFlag('platforms', opts.platforms, 1, 64);
      const { benchSelfmanage } = await import('../../bench/selfmanage.ts');
      const r = await benchSelfmanage({
        elements,
        platforms,
        onProgress: (d, t) => {
          if (process.stderr.isTTY) process.stderr.write(`\rbench selfmanage: building ${d}/${t} elements`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (opts.json) return printJson(r);
      say(false, `${r.elements} elements (${r.quotes} with quotes) on ${r.platforms} platforms; change: ${r.change}`);
      say(
        false,
        `  re-appraised in ${r.reappraiseMs} ms (${r.perElementUs} µs/element, ${r.verifications} DCAP verifications); ${r.changed} changed state`,
      );
      say(false, `  floor (every quote verified in full): ${r.naiveMs} ms — ${r.speedup}× slower`);
      say(
        false,
        `  target: ${r.target.elements} elements in ≤ ${r.target.ms} ms — ${r.meetsTarget ? 'met' : 'MISSED'}`,
      );
    });
}
