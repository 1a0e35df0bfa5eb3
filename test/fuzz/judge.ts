import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { CatenaError } from '../../src/errors.ts';

/**
 * The fuzzing oracle: an input may be parsed, or refused with the project's typed error — a CatenaError
 * whose `code` is a stable ERR_… code documented in docs/errors.md. Anything else (a TypeError, a
 * RangeError, an OpenSSL error, a CatenaError with an undocumented code) is a finding.
 */
export function documentedCodes(errorsMd: string): Set<string> {
  return new Set(readFileSync(errorsMd, 'utf8').match(/ERR_[A-Z0-9_]+/g) ?? []);
}

/** Why a thrown value is not an acceptable refusal, or undefined when it is. */
export function whyUntyped(e: unknown, codes?: ReadonlySet<string>): string | undefined {
  if (!(e instanceof CatenaError)) {
    const name = e instanceof Error ? e.constructor.name : typeof e;
    const code = (e as { code?: unknown } | null)?.code;
    return `untyped ${name}${code !== undefined ? ` (code ${typeof code === 'string' ? code : inspect(code)})` : ''}: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (typeof e.code !== 'string' || !/^ERR_[A-Z0-9_]+$/.test(e.code))
    return `${e.name} with a malformed code ${String(e.code)}`;
  if (codes && !codes.has(e.code)) return `${e.name} with code ${e.code}, which docs/errors.md does not document`;
  return undefined;
}
