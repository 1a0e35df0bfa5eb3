import type { Command } from 'commander';
import { benchCommand } from './bench.ts';
import type { BenchAgentsFlags } from './bench-agents-run.ts';

/**
 * `catena bench agents`: N lightweight emulated agents (one https listener each on 127.0.0.1,
 * answering GET /healthz) register with one `catena manager` process and are health-checked by it
 * for a few rounds; reports the manager's event-loop delay and memory (docs/benchmarks.md).
 */
export function register(program: Command): void {
  benchCommand(program)
    .command('agents')
    .description('many agents registering with and health-checked by one manager: its event-loop delay and memory')
    .option('--agents <n>', 'emulated agents', '1000')
    .option('--rounds <n>', 'health-check rounds measured', '3')
    .option('--check-interval <ms>', "the manager's health-check interval", '3000')
    .option('--concurrency <n>', 'registrations in flight', '32')
    .option('--json', 'print {agents, registered, eventLoopDelayP99Ms, managerRssMb, …} (docs/benchmarks.md)')
    .action(async (o: BenchAgentsFlags) => {
      const { runBenchAgents } = await import('./bench-agents-run.ts');
      await runBenchAgents(o);
    });
}
