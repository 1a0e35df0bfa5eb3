import type { Command } from 'commander';
import { printJson, say, UsageError } from '../io.ts';
import { benchCommand } from './bench.ts';

/**
 * `catena bench channel`: RA-TLS handshakes/s (real DCAP quote, warm verifier, cached collateral,
 * loopback) and local-attestation round trips/s, each beside its crypto floor measured in the same
 * run. Definitions: bench/channel.ts and docs/channel.md ("Speed").
 */
export function register(program: Command): void {
  benchCommand(program)
    .command('channel')
    .description('RA-TLS handshakes/s and local-attestation round trips/s, each beside its crypto floor')
    .option('--seconds <n>', 'upper bound on the timing of each channel', '3')
    .option('--handshakes <n>', 'upper bound on RA-TLS handshakes', '300')
    .option('--round-trips <n>', 'upper bound on local-attestation round trips', '1000')
    .option('--json', 'print one JSON document')
    .action(async (opts: { seconds: string; handshakes: string; roundTrips: string; json?: boolean }) => {
      const num = (flag: string, v: string, max: number) => {
        const n = Number(v);
        if (!(Number.isFinite(n) && n > 0 && n <= max))
          throw new UsageError(`--${flag}: expected a number in (0, ${max}], got ${v}`);
        return n;
      };
      const seconds = num('seconds', opts.seconds, 600);
      const handshakes = Math.ceil(num('handshakes', opts.handshakes, 1e6));
      const roundTrips = Math.ceil(num('round-trips', opts.roundTrips, 1e7));
      const { benchChannel } = await import('../../bench/channel.ts');
      const { SingleBar } = await import('cli-progress');
      const bar = process.stderr.isTTY
        ? new SingleBar({
            format: 'bench channel [{bar}] {phase} {value}/{total}',
            stream: process.stderr,
            hideCursor: true,
          })
        : undefined;
      bar?.start(1, 0, { phase: 'setup' });
      let r;
      try {
        r = await benchChannel({
          seconds,
          handshakes,
          roundTrips,
          onProgress: (phase, done, total) => bar?.setTotal(total) ?? bar?.update(done, { phase }),
        });
      } finally {
        bar?.stop();
      }
      if (opts.json) return printJson(r);
      say(
        false,
        `RA-TLS (${r.ratls.evidence}, TCB ${r.ratls.tcbStatus}, ${r.ratls.group}, warm verifier, cached collateral):`,
      );
      say(
        false,
        `  ${r.ratls.handshakesPerSec} handshakes/s   floor ${r.ratls.floorPerSec}/s   (${(r.ratls.ofFloor * 100).toFixed(1)}% of floor; ${r.ratls.handshakes} in ${r.ratls.seconds} s)`,
      );
      say(false, `local attestation (mutual, two enclaves on one platform):`);
      say(
        false,
        `  ${r.local.roundTripsPerSec} round trips/s   floor ${r.local.floorPerSec}/s   (${(r.local.ofFloor * 100).toFixed(1)}% of floor; ${r.local.roundTrips} in ${r.local.seconds} s)`,
      );
    });
}
