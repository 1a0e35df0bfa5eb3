// Characters JSON.stringify would escape: '"', '\\', controls, and (well-formed JSON.stringify) lone surrogates.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonString(s: string): string {
  // Hex and base64 fields (a quote is ~9.5 KB of hex) need no escaping: a scan is ≈ 3× cheaper than stringify.
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * Canonical JSON for signing: object keys sorted, no whitespace, no undefined members.
 * Only JSON-native values are allowed (numbers must be safe integers), so two encoders agree.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return jsonString(value);
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON: ${value} is not a safe integer`);
    return String(value);
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return '{' + keys.map((k) => jsonString(k) + ':' + canonicalJson(o[k])).join(',') + '}';
  }
  throw new TypeError(`canonical JSON: unsupported ${typeof value}`);
}

const enc = new TextEncoder();

/** Domain-separated signing input: "catena/<what>/v1\n" ‖ canonical JSON. */
export function signingBytes(what: string, value: unknown): Uint8Array {
  return enc.encode(`catena/${what}/v1\n${canonicalJson(value)}`);
}
