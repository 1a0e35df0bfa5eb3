import { canonicalJson } from '../json/canonical-json.ts';

const enc = new TextEncoder();

/** Domain-separated signing input: "catena/<what>/v1\n" ‖ canonical JSON (RFC 8785, src/json). */
export function signingBytes(what: string, value: unknown): Uint8Array {
  return enc.encode(`catena/${what}/v1\n${canonicalJson(value)}`);
}
