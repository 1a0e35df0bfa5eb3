import { Command, CommanderError } from 'commander';
import { CatenaError } from '../errors.ts';
import { EXIT, takeExit, UsageError } from './io.ts';
import { commands } from './commands/index.ts';

/** Runs the catena CLI and resolves to the process exit code (0 ok, 1 negative verdict, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('catena')
    .description('Chains of trust between Intel SGX enclaves across clouds')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
    return takeExit();
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof UsageError || e instanceof CatenaError) {
      process.stderr.write(`catena: ${e.message}${e instanceof UsageError ? '' : ` (${e.code})`}\n`);
      return EXIT.USAGE;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && err.code.startsWith('E') && err.syscall) {
      process.stderr.write(`catena: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
}
