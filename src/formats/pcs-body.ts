import { fromHex } from '../bytes/util.ts';
import { FormatError } from '../errors.ts';

/**
 * Intel PCS signed JSON bodies: `{"tcbInfo":{...},"signature":"<hex r‖s>"}` and
 * `{"enclaveIdentity":{...},"signature":"..."}` (and `{"tcbEvaluationDataNumbers":{...},…}`). The ECDSA signature covers the inner object's bytes
 * exactly as they appear in the body, so the object's text is sliced out, never re-serialised.
 */
export interface SignedJson {
  /** The exact signed text of the inner object. */
  text: string;
  /** 64-byte ECDSA P-256 r‖s. */
  signature: Uint8Array;
}

function fail(message: string): never {
  throw new FormatError(`PCS body: ${message}`, 'ERR_PCS_BODY');
}

/** End index (exclusive) of the JSON object starting at `start` (which must be `{`), honouring strings. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  // Stryker disable next-line EqualityOperator: JSON.parse has accepted the body, so the object ends before the text does
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  fail('unterminated object');
}

/**
 * Slices the exact text of `body[key]` out of a PCS body and decodes its signature. The body must be a
 * JSON object with exactly the keys `key` and `signature`.
 */
export function slicePcsBody(
  body: string,
  key: 'tcbInfo' | 'enclaveIdentity' | 'tcbEvaluationDataNumbers',
): SignedJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) /* Stryker disable next-line BlockStatement: an empty catch leaves parsed undefined, which the next line refuses with the same code */ {
    fail(`not JSON (${(e as Error).message})`);
  }
  // Stryker disable next-line ConditionalExpression: a string, number or boolean has no key "signature" (Object.keys gives indices at most): refused below with the same code
  if (typeof parsed !== 'object') fail('not a JSON object');
  if (parsed === null || Array.isArray(parsed)) fail('not a JSON object');
  const keys = Object.keys(parsed);
  if (keys.length !== 2 || !keys.includes('signature') || !keys.includes(key))
    fail(`expected keys ${key} and signature, got ${keys.join(', ')}`);
  const sig = (parsed as Record<string, unknown>).signature;
  if (typeof sig !== 'string') fail('signature is not a string');
  // Locate "key" as a top-level member: scan the top-level object, skipping nested values.
  let i = body.indexOf('{');
  const re = /\s*"((?:[^"\\]|\\.)*)"\s*:\s*/y;
  i++;
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(body);
    // Stryker disable next-line ConditionalExpression: unreachable: JSON.parse accepted an object whose keys are key and signature only, so a quoted key starts every member the scan reaches before key
    if (!m) fail('cannot locate members');
    const valueStart = re.lastIndex;
    let valueEnd: number;
    const first = body[valueStart];
    if (first === '{' || first === '[') valueEnd = objectEnd(body, valueStart);
    else if (
      // Stryker disable next-line ConditionalExpression: a scalar (number, true, false, null) is refused either way: stringEnd stops at the next key's opening quote, which no `,` follows, and key's text would not be an object
      first === '"'
    )
      valueEnd = stringEnd(body, valueStart);
    else fail('unexpected member value');
    if (m[1] === key) {
      const text = body.slice(valueStart, valueEnd);
      if (text[0] !== '{') fail(`${key} is not an object`);
      return { text, signature: fromHex(sig, 64, 'signature') };
    }
    const after = /\s*,/y;
    after.lastIndex = valueEnd;
    if (!after.exec(body)) fail(`member ${key} not found`);
    i = after.lastIndex;
  }
}

function stringEnd(text: string, start: number): number {
  // Stryker disable next-line EqualityOperator: JSON.parse has accepted the body, so the string ends before the text does
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  fail('unterminated string');
}
