import { CatenaError } from '../errors.ts';

/**
 * Shared CLI plumbing. Exit codes are the contract (docs/cli.md): 0 success, 1 negative verdict
 * (including evidence that does not parse), 2 bad usage or an unreadable file.
 */
export const EXIT = { OK: 0, NEGATIVE: 1, USAGE: 2 } as const;

/** Thrown by commands for bad flags or unreadable inputs; main turns it into exit 2 with the message on stderr. */
export class UsageError extends CatenaError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * Thrown for input that was read but is not what it should be (a quote, SIGSTRUCT, SGXS stream or
 * bundle that does not parse): a rejected appraisal, so main turns it into exit 1, not a usage error.
 */
export class InvalidInputError extends CatenaError {
  constructor(message: string) {
    super('ERR_INVALID_INPUT', message);
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
      (_k, v: unknown) =>
        typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
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
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected an integer in [${min}, ${max}], got ${v}`);
  return n;
}

// RFC 3339 date-time: full date, 'T' (or space, as RFC 3339 allows), time with optional fraction, and a zone.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses a time flag: `now`, RFC 3339 (2025-07-01T00:00:00Z), a date (2025-07-01, UTC midnight) or Unix seconds. */
export function timeFlag(name: string, v: string, now: () => Date = () => new Date()): Date {
  const t = v.trim();
  let d: Date;
  if (t === 'now') d = now();
  else if (/^\d+(\.\d+)?$/.test(t)) d = new Date(Number(t) * 1000);
  else if (RFC3339.test(t) || /^\d{4}-\d{2}-\d{2}$/.test(t)) d = new Date(t.replace(' ', 'T'));
  else d = new Date(NaN);
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`--${name}: expected now, RFC 3339 (e.g. 2025-07-01T00:00:00Z) or Unix seconds, got ${v}`);
  return d;
}

/** Checks an enumerated flag value; an unknown value is a usage error listing the valid ones. */
export function enumFlag<T extends string>(name: string, v: string, valid: readonly T[]): T {
  if (!(valid as readonly string[]).includes(v))
    throw new UsageError(`--${name}: unknown value ${JSON.stringify(v)}; valid: ${valid.join(', ')}`);
  return v as T;
}

/** A comma-separated list of enumerated values (e.g. --accept-tcb UpToDate,SWHardeningNeeded). */
export function enumListFlag<T extends string>(name: string, v: string, valid: readonly T[]): T[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${name}: no value given; valid: ${valid.join(', ')}`);
  return items.map((i) => enumFlag(name, i, valid));
}

/** With --json, an error is one JSON document on stdout: {"error":{"code","message"}}. */
export function printJsonError(code: string, message: string): void {
  process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
}

/** A duration flag: `90`, `90s`, `5m` or `1h` (seconds without a unit), from 1 s to 24 h; milliseconds out. */
export function durationFlag(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v);
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'] : NaN;
  if (!(ms >= 1000 && ms <= 86_400_000))
    throw new UsageError(`--${name}: a duration from 1s to 24h (e.g. 60s, 5m), not ${JSON.stringify(v)}`);
  return Math.round(ms);
}
