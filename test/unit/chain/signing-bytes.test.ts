import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../../src/json/index.ts';
import { signingBytes } from '../../../src/chain/signing-bytes.ts';

// The encoder itself is tested in test/unit/json/canonical-json.test.ts (RFC 8785 vectors, oracle property).

test('signing bytes are domain-separated by what is signed', () => {
  const v = { a: 1 };
  const link = new TextDecoder().decode(signingBytes('link', v));
  assert.equal(link, 'catena/link/v1\n{"a":1}');
  assert.notDeepEqual(signingBytes('link', v), signingBytes('revocation', v));
});

test('signing bytes of a value with no canonical form: ERR_CANONICAL_JSON, never a TypeError', () => {
  assert.throws(
    () => signingBytes('link', { n: 2 ** 53 }),
    (e: { code?: string }) => e.code === 'ERR_CANONICAL_JSON',
  );
});

test('canonicalJson strings: the bytes JSON.stringify gives, for escapes, controls, surrogate pairs and plain hex', () => {
  const samples = [
    '',
    'ab01',
    'a"b',
    'a\\b',
    'line\nfeed',
    '\u0000\u001f\u007f',
    'é€😀',
    '\ud83d\ude00',
    '</script>',
    'f'.repeat(9000),
    '"'.repeat(1500),
  ];
  for (let i = 0; i < 300; i++)
    samples.push(
      String.fromCharCode(...Array.from({ length: 8 }, () => 0x20 + Math.floor(Math.random() * (0xd800 - 0x20)))),
    );
  for (const s of samples) {
    assert.equal(canonicalJson(s), JSON.stringify(s), JSON.stringify(s));
    assert.equal(canonicalJson({ [s]: s }), `{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
  }
});
