import { CanonicalJsonError } from './errors.ts';

// Characters JSON.stringify would escape: '"', '\\', controls, and surrogates (lone ones are refused below).
// eslint-disable-next-line no-control-regex -- U+0000–U+001F are exactly the controls JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
// Lowercase hex only: a simpler class V8 scans ≈ 2× faster, and what long strings here are (quotes, reports).
const HEX_ONLY = /^[0-9a-f]*$/;
const LONG = 1024;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// Long strings last found to need no escaping (a pure function of the content, so exact): a remote link's
// ≈ 9 KB quote is encoded by the parent that signs the link and again by the chain that checks it, and the
// scan is most of a link's canonical JSON. A match is a pointer compare for the same string, and a memcmp
// that stops at the first difference otherwise.
const SAFE_LONG: string[] = [];

function jsonString(s: string): string {
  if (s.length >= LONG) {
    if (SAFE_LONG.includes(s)) return `"${s}"`;
    // Hex and base64 fields need no escaping: a scan is ≈ 3× cheaper than stringify.
    if (HEX_ONLY.test(s) || !NEEDS_ESCAPE.test(s)) {
      SAFE_LONG.unshift(s);
      if (SAFE_LONG.length > 4) SAFE_LONG.pop();
      return `"${s}"`;
    }
  }
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  // I-JSON (RFC 7493 §2.1): strings are Unicode; a lone surrogate has no UTF-8 form to hash or sign.
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError('a string holds a lone surrogate');
  return JSON.stringify(s);
}

/**
 * RFC 8785 §3.2.2.3: a number as ECMAScript's Number::toString prints it (-0 is 0), which is what
 * JSON.stringify gives for a finite number. NaN and ±Infinity have no JSON form.
 */
export function canonicalNumber(n: number): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new CanonicalJsonError(`${String(n)} is not a finite number`);
  return JSON.stringify(n);
}

/**
 * Canonical JSON: RFC 8785 (JCS) over I-JSON data (RFC 7493). Object members sorted by the UTF-16
 * code units of their names, no whitespace, strings escaped as JSON.stringify does, numbers in
 * ECMAScript form. Members whose value is undefined are skipped (as JSON.stringify skips them).
 *
 * Refused with ERR_CANONICAL_JSON (CanonicalJsonError), never a TypeError:
 * - integers outside ±(2^53 − 1): I-JSON §2.2 — another implementation may read a different value,
 *   so a signature or hash over one would not be checkable;
 * - NaN, ±Infinity; strings with a lone surrogate;
 * - undefined as a value (top level or in an array), bigint, functions, symbols, and objects that
 *   are not plain (Date, Map, Uint8Array, class instances): JSON data only, so two encoders agree.
 *
 * `{ unsafeIntegers: 'allow' }` is RFC 8785 without the I-JSON integer rule (any finite number): only
 * for hashes that were defined that way before this rule, i.e. the store's audit log, whose stored
 * records must keep verifying. Everything signed uses the default.
 */
export interface CanonicalJsonOptions {
  unsafeIntegers?: 'refuse' | 'allow';
}

export function canonicalJson(value: unknown, opts?: CanonicalJsonOptions): string {
  return encode(value, opts?.unsafeIntegers !== 'allow');
}

function encode(value: unknown, strict: boolean): string {
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') {
    if (strict && Number.isInteger(value) && !Number.isSafeInteger(value))
      throw new CanonicalJsonError(`${value} is an integer beyond ±(2^53 − 1)`);
    return canonicalNumber(value);
  }
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + encode(value[i], strict);
    return out + ']';
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
    if (proto !== Object.prototype && proto !== null)
      throw new CanonicalJsonError(`a ${proto?.constructor?.name ?? 'non-plain'} object is not JSON data`);
    const o = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, which is exactly what RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(o).sort();
    let out = '{';
    let first = true;
    for (const k of keys) {
      const v = o[k];
      if (v === undefined) continue;
      out += (first ? '' : ',') + jsonString(k) + ':' + encode(v, strict);
      first = false;
    }
    return out + '}';
  }
  throw new CanonicalJsonError(`${typeof value} is not JSON data`);
}
