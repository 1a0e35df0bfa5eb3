import { Command } from 'commander';

const parents = new WeakMap<Command, Command>();

/** The single `catena bench` parent command; benchmark files attach their subcommands to it. */
export function benchCommand(program: Command): Command {
  let cmd = parents.get(program);
  if (!cmd) {
    cmd = program.command('bench').description('benchmarks: each prints JSON with --json and can draw a plot');
    parents.set(program, cmd);
  }
  return cmd;
}
