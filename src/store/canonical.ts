import { StoreError } from './errors.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values the audit log hashes:
 * object members sorted by the UTF-16 code units of their names, no whitespace, strings escaped as
 * ECMAScript JSON.stringify does, numbers in ECMAScript Number-to-String form (what JSON.stringify
 * prints; -0 is 0). Input must be plain JSON data (null, booleans, finite numbers, strings without
 * lone surrogates, arrays, plain objects); members whose value is undefined are skipped, as
 * JSON.stringify skips them. Anything else is ERR_STORE_INVALID.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new StoreError('ERR_STORE_INVALID', 'canonical JSON: string with a lone surrogate');
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StoreError('ERR_STORE_INVALID', `canonical JSON: ${value} is not a finite number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map((v) => canonicalJson(v === undefined ? null : v)).join(',') + ']';
  if (typeof value === 'object' && isPlainObject(value)) {
    const o = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is exactly what RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return '{' + keys.map((k) => canonicalJson(k) + ':' + canonicalJson(o[k])).join(',') + '}';
  }
  throw new StoreError('ERR_STORE_INVALID', `canonical JSON: unsupported value of type ${typeof value}`);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
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
 * agree on every plain value, member order aside), so it is stored as is and hashed directly.
 * Anything else (Dates, toJSON, functions to skip…) takes the general path: JSON.stringify, parse
 * back, canonicalise.
 */
export function canonicalDocument(value: unknown, what: string, hash: (canonical: string) => string): { text: string; sha256: string } {
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
