import type { Command } from 'commander';

/** Every subcommand registers itself on the program; one file per subcommand in this folder. */
export const commands: Array<(program: Command) => void> = [];
