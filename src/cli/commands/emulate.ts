import { Command } from 'commander';

const parents = new WeakMap<Command, Command>();

/** The single `catena emulate` parent command; subcommand files attach to it. */
export function emulateCommand(program: Command): Command {
  let cmd = parents.get(program);
  if (!cmd) {
    cmd = program.command('emulate').description('run pieces of the emulated SGX platform and manufacturer');
    parents.set(program, cmd);
  }
  return cmd;
}
