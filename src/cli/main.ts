import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CatenaError } from '../errors.ts';
import { EXIT, InvalidInputError, printJsonError, takeExit, UsageError } from './io.ts';
import { COMMANDS } from './commands/index.ts';
import { exitWithParent } from './signals.ts';

/** The package's version, from package.json (two levels up from src/cli and from dist/cli alike). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}

/** The top-level command argv names, if any: the first argument that is not an option (`help X` names X). */
function commandOf(args: string[]): string | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  if (first === 'help') return args[args.indexOf('help') + 1];
  return first;
}

/** Runs the catena CLI and resolves to the process exit code (0 ok, 1 negative verdict, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  exitWithParent();
  const args = argv.slice(2);
  const json = args.includes('--json');
  let usageText = '';
  const program = new Command('catena')
    .description('Chains of trust between Intel SGX enclaves across clouds')
    .version(version(), '-V, --version', 'print the version')
    // catena's own options only before the command: a command's `--version` (emulate td-quote's quote version) is its own.
    .enablePositionalOptions()
    .exitOverride()
    // With --json a usage error becomes the JSON document below, not text on stderr.
    .configureOutput({
      writeErr: (s) => (json ? (usageText += s) : process.stderr.write(s)),
      outputError: (s, write) => write(s),
    });
  const name = commandOf(args);
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry) {
    for (const load of entry.load) (await load()).register(program);
  } else {
    // Only the names and descriptions, for `catena --help` and for refusing an unknown command.
    for (const c of COMMANDS) program.command(c.name).description(c.description);
  }
  try {
    await program.parseAsync(argv);
    return takeExit();
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      if (e.exitCode === 0) return EXIT.OK;
      if (json) printJsonError('ERR_USAGE', (usageText || e.message).replace(/^error: /, '').trim());
      return EXIT.USAGE;
    }
    const code = e instanceof InvalidInputError ? EXIT.NEGATIVE : EXIT.USAGE;
    if (e instanceof CatenaError) {
      if (json) printJsonError(e.code, e.message);
      else
        process.stderr.write(
          `catena: ${e.message}${e instanceof UsageError || e instanceof InvalidInputError ? '' : ` (${e.code})`}\n`,
        );
      return code;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && err.code.startsWith('E') && err.syscall) {
      if (json) printJsonError(err.code, err.message);
      else process.stderr.write(`catena: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
}
