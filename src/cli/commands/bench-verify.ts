import type { Command } from 'commander';
import { printJson, say, UsageError } from '../io.ts';
import { benchCommand } from './bench.ts';

/**
 * `catena bench verify`: quotes/s verifying the same real Intel quote with Catena (cold and warm) and
 * with @phala/dcap-qvl, in one run; ratios are Catena ÷ dcap-qvl. See docs/benchmarks.md.
 */
export function register(program: Command): void {
  benchCommand(program)
    .command('verify')
    .description('quotes/s verifying a real Intel quote: Catena cold and warm against @phala/dcap-qvl')
    .option('--seconds <n>', 'seconds of timing per verifier (split over 3 interleaved rounds)', '2')
    .option('--vectors <dir>', 'the shared vectors folder (default ../shared/vectors or $CATENA_VECTORS)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { seconds: string; vectors?: string; json?: boolean }) => {
      const seconds = Number(opts.seconds);
      if (!(seconds > 0 && seconds <= 600))
        throw new UsageError(`--seconds: expected a number in (0, 600], got ${opts.seconds}`);
      const { SingleBar } = await import('cli-progress');
      const { BenchError } = await import('../../bench/errors.ts');
      const { benchVerify } = await import('../../bench/verify.ts');
      const bar = process.stderr.isTTY
        ? new SingleBar({
            format: 'bench verify [{bar}] round {value}/{total}',
            stream: process.stderr,
            hideCursor: true,
          })
        : undefined;
      bar?.start(3, 0);
      let r;
      try {
        r = await benchVerify({ seconds, vectorsDir: opts.vectors, onProgress: (d) => bar?.update(d) });
      } catch (e) {
        if (
          e instanceof BenchError &&
          (e.code === 'ERR_BENCH_VECTORS' || e.code === 'ERR_BENCH_ARGUMENT' || e.code === 'ERR_BENCH_DEPENDENCY')
        )
          throw new UsageError(e.message);
        throw e;
      } finally {
        bar?.stop();
      }
      if (opts.json) return printJson(r);
      say(false, `verifying ${r.quote} at ${r.at} (${r.seconds} s each):`);
      say(
        false,
        `  catena cold  ${r.catena.cold.toFixed(1).padStart(9)} quotes/s   ${r.ratio.cold.toFixed(2)}× dcap-qvl   (target ≥ 2×)`,
      );
      say(
        false,
        `  catena warm  ${r.catena.warm.toFixed(1).padStart(9)} quotes/s   ${r.ratio.warm.toFixed(2)}× dcap-qvl   (target ≥ 10×)`,
      );
      say(false, `  dcap-qvl     ${r.dcapQvl.toFixed(1).padStart(9)} quotes/s`);
    });
}
