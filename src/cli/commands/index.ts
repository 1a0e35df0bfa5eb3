import type { Command } from 'commander';
import { register as enclave } from './enclave.ts';

/** Every subcommand registers itself on the program; one file per subcommand in this folder. */
export const commands: Array<(program: Command) => void> = [enclave];
