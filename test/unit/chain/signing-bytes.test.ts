import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../../src/json/index.ts';
import { signingBytes } from '../../../src/chain/signing-bytes.ts';
import { headerSigningBytes, linkSigningBytes, revocationSigningBytes } from '../../../src/chain/signing.ts';

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

test('signing bytes own their memory, small (pooled by Buffer) or large: no view into a shared pool', () => {
  for (const n of [0, 10, (Buffer.poolSize >>> 1) - 40, Buffer.poolSize >>> 1, Buffer.poolSize, 20000]) {
    const b = signingBytes('link', 'x'.repeat(n));
    assert.equal(b.byteOffset, 0, String(n));
    assert.equal(b.buffer.byteLength, b.byteLength, String(n));
    assert.equal(new TextDecoder().decode(b), `catena/link/v1\n"${'x'.repeat(n)}"`);
  }
});

test('signing bytes of a header, a link, a revocation: their domains, no signature, a revocation with its chain id (docs/chain.md)', () => {
  const d = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(d(linkSigningBytes({ a: 1, signature: 'ff' } as never)), 'catena/link/v1\n{"a":1}');
  assert.equal(d(headerSigningBytes({ a: 1, signature: 'ff' } as never)), 'catena/chain-header/v1\n{"a":1}');
  const r = { element: 'e1', reason: 'r', at: '2026-01-01T00:00:00.000Z', signature: 'ff' };
  assert.equal(
    new TextDecoder().decode(revocationSigningBytes('c1', r)),
    'catena/revocation/v1\n{"at":"2026-01-01T00:00:00.000Z","chain":"c1","element":"e1","reason":"r"}',
  );
});
