import { canonicalJson as encode } from '../json/canonical-json.ts';
import { CanonicalJsonError } from '../json/errors.ts';
import { StoreError } from './errors.ts';

/**
 * The one canonical JSON encoder (src/json) for the values the store hashes and keeps. The audit log's
 * hashes were defined as RFC 8785 over any finite number, and logs already stored hold what they hold:
 * integers past 2^53 stay allowed here so every stored record keeps verifying. What the encoder
 * refuses is an argument of the wrong shape here: ERR_STORE_INVALID, the encoder's error as cause.
 */
export function canonicalJson(value: unknown): string {
  try {
    return encode(value, { unsafeIntegers: 'allow' });
  } catch (e) {
    if (e instanceof CanonicalJsonError) throw new StoreError('ERR_STORE_INVALID', e.message, { cause: e });
    throw e;
  }
}

/**
 * The JSON value the store actually keeps for an opaque document: what JSON.stringify makes of it,
 * parsed back (Dates become ISO strings, undefined members vanish). ERR_STORE_INVALID if it has no
 * JSON form (undefined, a function, a bigint, a cycle).
 */
export function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new StoreError('ERR_STORE_INVALID', `${what} is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (text === undefined) throw new StoreError('ERR_STORE_INVALID', `${what} is not JSON-serialisable`);
  return text;
}

/**
 * An opaque document's stored text and the hash the audit log gives it (documentSha256 of the value
 * the text parses back to), computed with one serialisation when the value is plain JSON data:
 * then its canonical JSON is already valid JSON of exactly that value (JSON.stringify and RFC 8785
 * agree on every I-JSON value, member order aside), so it is stored as is and hashed directly.
 * Anything else (Dates, toJSON, functions to skip…) takes the general path: JSON.stringify, parse
 * back, canonicalise.
 */
export function canonicalDocument(
  value: unknown,
  what: string,
  hash: (canonical: string) => string,
): { text: string; sha256: string } {
  let text: string | undefined;
  try {
    text = canonicalJson(value);
  } catch {
    // not plain JSON data: the general path below (or its error)
  }
  if (text !== undefined) return { text, sha256: hash(text) };
  text = toJsonText(value, what);
  return { text, sha256: hash(canonicalJson(JSON.parse(text))) };
}
