import { canonicalJson } from '../json/canonical-json.ts';

/**
 * Domain-separated signing input: "catena/<what>/v1\n" ‖ canonical JSON (RFC 8785, src/json), UTF-8.
 * Buffer's UTF-8 encoder, not TextEncoder: the same bytes (a lone surrogate is refused by canonicalJson
 * first), ≈ 2.5× faster on the ≈ 10 KB of a remote link (every link is encoded by its parent and again
 * by each verifier). A plain Uint8Array over its own memory, not a view into Buffer's shared pool.
 */
export function signingBytes(what: string, value: unknown): Uint8Array {
  const s = `catena/${what}/v1\n${canonicalJson(value)}`;
  // Stryker disable next-line StringLiteral: Buffer.from's default encoding is utf8
  const b = Buffer.from(s, 'utf8');
  // Buffer.from pools results under 4 KB: those are copied out (cheap at that size); larger ones own theirs.
  // What is observable is that the result owns its memory (test/unit/chain/signing-bytes.test.ts): copying always
  // (true), or at exactly poolSize/2 (<=, Buffer.from no longer pools there), gives equal bytes that own theirs.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: see above (false and >= are killed by that test)
  return b.byteLength < Buffer.poolSize >>> 1
    ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
