import type { Command } from 'commander';
import { benchCommand } from './bench.ts';
import type { BenchManagerFlags } from './bench-manager-run.ts';
import { intFlag, UsageError } from '../io.ts';

/**
 * `catena bench manager`: sustained appends with remote evidence over HTTP on loopback. The manager
 * runs as its own process (`catena manager`); this process pre-builds N signed remote links (each a
 * fresh element key inside one child enclave, its quote verified and the link signed inside the
 * parent enclave), then POSTs them with C requests in flight. The manager re-verifies every quote
 * (warm DCAP verifier) and commits each append durably before answering.
 */
export function register(program: Command): void {
  benchCommand(program)
    .command('manager')
    .description('appends per second and latency of the CoT manager (remote evidence, HTTP on loopback)')
    .option('--db <kind>', 'sqlite or postgres', 'sqlite')
    .option(
      '--pg-url <url>',
      'PostgreSQL URL (default $CATENA_PG_URL or postgres://postgres@127.0.0.1:5432/test; a Unix socket: …/test?host=/var/run/postgresql)',
    )
    .option('--appends <n>', 'appends in the timed phase (a run of 1,000 lasts about a second: mostly warm-up)', '5000')
    .option('--concurrency <n>', 'requests in flight', '16')
    .option('--warmup <n>', 'appends sent before the timed phase (not measured: JIT, caches, connections)', '500')
    .option('--manager-url <url>', 'drive a manager that is already running (with --token) instead of starting one')
    .option('--token <token>', 'admin token for --manager-url')
    .option(
      '--send-collateral',
      'send the collateral with every append (default: by reference, the chain already holds it)',
    )
    .option('--verify-threads <n>', "the manager's quote-verifier threads (default: catena manager's, cores − 1)")
    .option(
      '--replicas <n>',
      'PostgreSQL only: N manager processes on one schema serve one chain; reports lost and forks (read back)',
      '1',
    )
    .option('--profile <dir>', 'run the manager under node --cpu-prof, writing its .cpuprofile into <dir>')
    .option('--json', 'print {db, appends, appendsPerSec, p50Ms, p99Ms, …} (docs/benchmarks.md)')
    .action(async (o: BenchManagerFlags) => {
      const replicas = intFlag('replicas', o.replicas, 1, 8);
      if (replicas > 1) {
        if (o.db !== 'postgres') throw new UsageError('--replicas needs --db postgres');
        const { runBenchReplicas } = await import('./bench-manager-replicas.ts');
        await runBenchReplicas(o, replicas);
        return;
      }
      const { runBenchManager } = await import('./bench-manager-run.ts');
      await runBenchManager(o);
    });
}
