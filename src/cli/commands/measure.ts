import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { hex } from '../../bytes/util.ts';
import { CatenaError } from '../../errors.ts';
import { measureSgxs } from '../../sgx/measure.ts';
import { InvalidInputError, printJson, say, UsageError } from '../io.ts';

/** Reads a whole input file; an unreadable one is a usage error (exit 2). Shared by measure and sigstruct. */
export function readInput(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Runs a parser over file bytes, turning a FormatError (truncated, trailing, bad tag…) into exit 1 naming the file: the file was read, its content is rejected. */
export function parseInput<T>(path: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof CatenaError) throw new InvalidInputError(`${path}: not a valid ${what}: ${e.message} (${e.code})`);
    throw e;
  }
}

/** `catena measure FILE.sgxs` → MRENCLAVE, computed record by record as ECREATE/EADD/EEXTEND would. */
export function register(program: Command): void {
  program
    .command('measure')
    .description('compute MRENCLAVE of an SGXS measurement stream (ECREATE, EADD, EEXTEND records)')
    .argument('<file>', 'the .sgxs stream')
    .option('--json', 'print one JSON document')
    .action((file: string, o: { json?: boolean }) => {
      const bytes = readInput(file, 'SGXS stream');
      const mrenclave = hex(parseInput(file, 'SGXS stream', () => measureSgxs(bytes)));
      if (o.json) printJson({ mrenclave });
      say(o.json, `MRENCLAVE ${mrenclave}`);
    });
}
