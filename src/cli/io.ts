import { CatenaError } from '../errors.ts';

/**
 * Shared CLI plumbing. Exit codes are the contract: 0 success, 1 negative verdict, 2 bad usage or bad input.
 */
export const EXIT = { OK: 0, NEGATIVE: 1, USAGE: 2 } as const;

/** Thrown by commands for bad flags or unreadable inputs; main turns it into exit 2 with the message on stderr. */
export class UsageError extends CatenaError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

let exitCode: number = EXIT.OK;
export function setExit(code: number): void {
  exitCode = code;
}
export function takeExit(): number {
  const c = exitCode;
  exitCode = EXIT.OK;
  return c;
}

/** Prints one JSON document on stdout (bigints as decimal strings, bytes as hex). */
export function printJson(value: unknown): void {
  process.stdout.write(
    JSON.stringify(
      value,
      (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v),
      2,
    ) + '\n',
  );
}

/** Human output goes to stdout only when --json is off; progress and logs go to stderr. */
export function say(json: boolean | undefined, line: string): void {
  if (!json) process.stdout.write(line + '\n');
}

/** Parses a decimal or 0x-hex integer flag. */
export function intFlag(name: string, v: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? parseInt(v, 10) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer in [${min}, ${max}], got ${v}`);
  return n;
}

/** Parses a time given as ISO 8601 or Unix seconds. */
export function timeFlag(name: string, v: string): Date {
  const d = /^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name}: expected ISO 8601 or Unix seconds, got ${v}`);
  return d;
}
