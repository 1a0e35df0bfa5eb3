import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalTextSha256, documentSha256 } from '../../../src/store/index.ts';
import { canonicalDocument, canonicalJson, toJsonText } from '../../../src/store/canonical.ts';

// The encoder itself (RFC 8785 vectors, oracle property) is tested in test/unit/json/canonical-json.test.ts.

test('canonical JSON is a fixed point: parse(canonical(x)) canonicalises to the same text (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const c = canonicalJson(v);
      assert.equal(canonicalJson(JSON.parse(c)), c);
      assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: 300 },
  );
});

test('the store refuses what has no single JSON form as ERR_STORE_INVALID (the encoder’s error as cause)', () => {
  for (const bad of [NaN, Infinity, 1n, () => 1, Symbol('x'), new Date(0), '\ud800', { a: '\udc00x' }, [undefined]]) {
    assert.throws(
      () => canonicalJson(bad),
      (e: { code?: string; cause?: { code?: string } }) =>
        e.code === 'ERR_STORE_INVALID' && e.cause?.code === 'ERR_CANONICAL_JSON',
      String(typeof bad),
    );
  }
  assert.equal(canonicalJson({ b: undefined, a: [null] }), '{"a":[null]}');
  // Audit hashes were defined as RFC 8785 over any finite number: stored logs holding 1e30 keep verifying.
  assert.equal(canonicalJson({ n: 1e30, m: -(2 ** 53) }), '{"m":-9007199254740992,"n":1e+30}');
  assert.equal(documentSha256({ n: 1e30 }), canonicalTextSha256('{"n":1e+30}'));
});

test('canonicalDocument: one serialisation gives the text stored and the hash of what that text parses to (property)', () => {
  const general = (v: unknown) => documentSha256(JSON.parse(toJsonText(v, 'v')));
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const d = canonicalDocument(v, 'v', canonicalTextSha256);
      assert.equal(d.sha256, general(v));
      assert.deepEqual(JSON.parse(d.text), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: 300 },
  );
  // Values with no canonical form of their own take the general path (Dates become ISO strings,
  // undefined members and functions vanish as JSON.stringify drops them) and hash alike.
  const odd = { at: new Date(0), skip: () => 1, nested: [{ when: new Date(1000), u: undefined }] };
  const d = canonicalDocument(odd, 'odd', canonicalTextSha256);
  assert.deepEqual(JSON.parse(d.text), {
    at: '1970-01-01T00:00:00.000Z',
    nested: [{ when: '1970-01-01T00:00:01.000Z' }],
  });
  assert.equal(d.sha256, general(odd));
  assert.notEqual(d.sha256, canonicalDocument({ ...odd, at: new Date(1) }, 'odd', canonicalTextSha256).sha256);
  assert.throws(
    () => canonicalDocument(undefined, 'nothing', canonicalTextSha256),
    (e: { code?: string }) => e.code === 'ERR_STORE_INVALID',
  );
  assert.throws(
    () => canonicalDocument({ s: '\ud800' }, 'surrogate', canonicalTextSha256),
    (e: { code?: string }) => e.code === 'ERR_STORE_INVALID',
  );
});
