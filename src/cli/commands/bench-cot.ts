import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SingleBar } from 'cli-progress';
import type { CotBenchResult } from '../../bench/cot.ts';
import { enumFlag, intFlag, printJson, say, UsageError } from '../io.ts';
import { benchCommand } from './bench.ts';

/**
 * `catena bench cot`: the cost of building a chain of trust against its size (issue 6), start-up
 * offset, marginal cost per local and remote link, the crypto floor and the log–log slope; optional
 * SVG plot. See docs/benchmarks.md for the definitions.
 */
export function register(program: Command): void {
  benchCommand(program)
    .command('cot')
    .description('time to build and verify chains of trust of growing size, against the crypto floor')
    .option('--sizes <list>', 'comma-separated CoT sizes', '1,10,100,1000,10000')
    .option('--runtime <kind>', 'enclave runtime: inline or isolated', 'inline')
    .option('--local-share <x>', 'share of local links (0..1)', '0.5')
    .option('--clouds <n>', 'clouds (one platform each unless --platforms-per-cloud)', '3')
    .option('--platforms-per-cloud <n>', 'platforms per cloud', '1')
    .option(
      '--isolated-max <n>',
      'largest size run with the isolated runtime (a worker per enclave, ~20 MB each)',
      '50',
    )
    .option(
      '--live <n>',
      'live elements: parents are drawn among the n most recent, older enclaves are unloaded',
      '10000',
    )
    .option(
      '--pipeline-from <n>',
      'chains of at least n elements are built on two threads (link signatures checked on a worker)',
      '20000',
    )
    .option('--plot <file.svg>', 'write a log–log SVG plot')
    .option(
      '--layers <list>',
      'tdx,sgx: cost of TD, workload and SGX enclave elements in mixed chains against their crypto floor (issue 16)',
    )
    .option('--rounds <n>', 'with --layers: mixed chains built and verified', '5')
    .option('--json', 'print one JSON document')
    .action(
      async (opts: {
        sizes: string;
        runtime: string;
        localShare: string;
        clouds: string;
        platformsPerCloud: string;
        isolatedMax: string;
        live: string;
        pipelineFrom: string;
        plot?: string;
        layers?: string;
        rounds: string;
        json?: boolean;
      }) => {
        if (opts.layers !== undefined) {
          const { parseLayers } = await import('./chain.ts');
          if (parseLayers(opts.layers).includes('tdx')) {
            const { benchCotLayers } = await import('../../bench/cot-layers.ts');
            const r = await benchCotLayers({
              clouds: Math.max(2, intFlag('clouds', opts.clouds, 1, 26)),
              rounds: intFlag('rounds', opts.rounds, 1, 1000),
            });
            if (opts.json) return printJson(r);
            say(false, `mixed chains (TDX + SGX) over ${r.clouds} clouds, ${r.rounds} rounds; per element, median µs`);
            say(false, '  kind/link type            n    admit µs   verify µs    floor µs  verify÷floor');
            for (const [k, e] of Object.entries(r.elements))
              say(
                false,
                `  ${k.padEnd(22)} ${String(e.n).padStart(4)} ${e.admitUs.toFixed(1).padStart(11)} ${e.verifyUs.toFixed(1).padStart(11)} ${e.floorUs.toFixed(1).padStart(11)} ${String(e.verifyOverFloor).padStart(13)}`,
              );
            say(
              false,
              `floor parts: P-256 verify ${r.floor.p256VerifyUs} µs, SHA-256 ${r.floor.sha256Us} µs, SHA-384 extend ${r.floor.sha384ExtendUs} µs × ${r.floor.tdEventLogEvents} events = ${r.floor.eventLogReplayUs} µs per TD replay`,
            );
            say(false, `TD link ÷ SGX remote link (offline check): ${r.tdOverSgxRemote}`);
            return;
          }
        }
        const sizes = opts.sizes.split(',').map((s) => intFlag('sizes', s.trim(), 1, 1_000_000));
        const runtime = enumFlag('runtime', opts.runtime, ['inline', 'isolated'] as const);
        const localShare = Number(opts.localShare);
        if (!(localShare >= 0 && localShare <= 1))
          throw new UsageError(`--local-share: expected a number in [0, 1], got ${opts.localShare}`);
        const clouds = intFlag('clouds', opts.clouds, 1, 64);
        const platformsPerCloud = intFlag('platforms-per-cloud', opts.platformsPerCloud, 1, 64);
        const isolatedMaxSize = intFlag('isolated-max', opts.isolatedMax, 1, 100_000);
        const live = intFlag('live', opts.live, 1, 1_000_000);
        const pipelineFrom = intFlag('pipeline-from', opts.pipelineFrom, 1, 10_000_000);
        const { SingleBar } = await import('cli-progress');
        const { benchCot } = await import('../../bench/cot.ts');
        const { cotPlotSvg } = await import('../../bench/cot-plot.ts');
        const { BenchError } = await import('../../bench/errors.ts');
        const tty = process.stderr.isTTY;
        let bar: SingleBar | undefined;
        let r: CotBenchResult;
        try {
          r = await benchCot({
            sizes,
            runtime,
            localShare,
            clouds,
            platformsPerCloud,
            isolatedMaxSize,
            live,
            pipelineFrom,
            onProgress: (p) => {
              if (!tty || p.size < 1000) return;
              if (p.phase === 'start') {
                bar = new SingleBar({
                  format: `size ${p.size} [{bar}] {value}/{total} {phase} {eta_formatted}`,
                  stream: process.stderr,
                  hideCursor: true,
                });
                bar.start(p.total, 0, { phase: 'build' });
              } else if (p.phase === 'done') {
                bar?.stop();
                bar = undefined;
              } else bar?.update(p.done, { phase: p.phase });
            },
          });
        } catch (e) {
          if (e instanceof BenchError && e.code === 'ERR_BENCH_ARGUMENT') throw new UsageError(e.message);
          throw e;
        } finally {
          bar?.stop();
        }
        if (opts.plot) await writeFile(opts.plot, cotPlotSvg(r));
        if (opts.json) return printJson(r);
        say(
          false,
          `chains of trust over ${r.platforms} platforms in ${r.clouds} clouds, ${r.runtime} runtime, ${Math.round(r.localShare * 100)}% local links (CPU time)`,
        );
        say(false, '      size    build ms      cpu ms   verify ms   peak RSS MB');
        for (const s of r.sizes)
          say(
            false,
            `${String(s.size).padStart(10)} ${s.buildMs.toFixed(1).padStart(11)} ${s.cpuMs.toFixed(1).padStart(11)} ${s.verifyMs.toFixed(1).padStart(11)} ${s.peakRssMb.toFixed(0).padStart(13)}`,
          );
        for (const s of r.skipped) say(false, `${String(s.size).padStart(10)}  skipped: ${s.reason}`);
        say(
          false,
          `start-up offset      ${r.startupOffsetMs} ms CPU (${r.startupOffsetWallMs} ms wall; first in process ${r.coldStartMs} ms; machine setup ${r.machineSetupMs} ms)`,
        );
        say(
          false,
          `marginal per element local ${r.marginalUs.local} µs, remote ${r.marginalUs.remote} µs; enclave launch ${r.launchUs} µs`,
        );
        say(
          false,
          `crypto floor         local ${r.floorUs.local} µs, remote ${r.floorUs.remote} µs (a link's crypto in its order, median of ${r.floorSamples} batches over the run)`,
        );
        say(false, `marginal ÷ floor     local ${r.ratio.local}, remote ${r.ratio.remote}`);
        say(
          false,
          `  ÷ isolated parts   local ${r.ratioIsolated.local}, remote ${r.ratioIsolated.remote} (each primitive alone in a tight loop: ${r.floorIsolatedUs.local} / ${r.floorIsolatedUs.remote} µs)`,
        );
        say(false, `log–log slope        ${Number.isFinite(r.slope) ? r.slope : 'n/a (needs two sizes ≥ 1000)'}`);
        if (opts.plot) say(false, `plot written to ${opts.plot}`);
      },
    );
}
