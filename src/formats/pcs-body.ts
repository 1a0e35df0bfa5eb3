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
 * JSON object with exactly two members, `key` (an object) and `signature` (a hex string), each once.
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
  const sig = (parsed as Record<string, unknown>).signature;
  if (typeof sig !== 'string') fail('signature is not a string');
  // Scan the top-level members, skipping nested values: exactly two (a repeated member is refused: JSON.parse
  // keeps the last of each, the slice would be the first), one named `key` as written (not escaped), whose
  // object text is sliced as it stands, the other `signature` (JSON.parse found it, a string). An array or a
  // scalar other than a string is no member value either may have.
  let i = body.indexOf('{');
  const re = /\s*"((?:[^"\\]|\\.)*)"\s*:\s*/y;
  const sep = /\s*([,}])/y;
  i++;
  let members = 0;
  let text: string | undefined;
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(body);
    // Stryker disable next-line ConditionalExpression: unreachable: JSON.parse accepted an object, so a quoted key starts every member the scan reaches
    if (!m) fail('cannot locate members');
    members++;
    const valueStart = re.lastIndex;
    let valueEnd: number;
    const first = body[valueStart];
    if (first === '{') valueEnd = objectEnd(body, valueStart);
    else if (
      // Stryker disable next-line ConditionalExpression: a scalar (number, true, false, null) is refused either way: stringEnd stops at the next key's opening quote, which no `,` or `}` follows, and key's text would not be an object
      first === '"'
    )
      valueEnd = stringEnd(body, valueStart);
    else fail('unexpected member value');
    if (m[1] === key) text = body.slice(valueStart, valueEnd);
    sep.lastIndex = valueEnd;
    const end = sep.exec(body);
    // Stryker disable next-line ConditionalExpression: unreachable: JSON.parse accepted the object, so a `,` or `}` follows every member value
    if (!end) fail('expected , or } after a member');
    if (end[1] === '}') break;
    i = sep.lastIndex;
  }
  if (members !== 2) fail(`expected 2 members (${key}, signature), got ${members}`);
  if (text === undefined) fail(`member ${key} not found`);
  if (text[0] !== '{') fail(`${key} is not an object`);
  return { text, signature: fromHex(sig, 64, 'signature') };
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
