import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, signingBytes } from '../../../src/chain/canonical.ts';

/** JSON values the chain signs: safe integers, strings, booleans, null, arrays, objects. */
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'grapheme' }), tie('v'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).v;

/** An independent oracle: JSON.stringify with every object's keys inserted in sorted order. */
function sortedStringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));
}

function shuffleKeys(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => shuffleKeys(x, seed + i));
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    const rot = keys.length ? seed % keys.length : 0;
    const order = [...keys.slice(rot), ...keys.slice(0, rot)].reverse();
    return Object.fromEntries(order.map((k) => [k, shuffleKeys((v as Record<string, unknown>)[k], seed + 1)]));
  }
  return v;
}

test('canonical JSON equals sorted-key JSON.stringify and parses back to the same value', () => {
  fc.assert(
    fc.property(value, (v) => {
      const c = canonicalJson(v);
      assert.equal(c, sortedStringify(v));
      assert.deepEqual(JSON.parse(c), v);
    }),
    { numRuns: 300 },
  );
});

test('canonical JSON does not depend on key insertion order', () => {
  fc.assert(
    fc.property(value, fc.nat(1000), (v, seed) => {
      assert.equal(canonicalJson(shuffleKeys(v, seed)), canonicalJson(v));
    }),
    { numRuns: 300 },
  );
});

test('undefined members are dropped; non-integers, unsafe integers and non-JSON values are refused', () => {
  assert.equal(canonicalJson({ b: 1, a: undefined, c: [true, null] }), '{"b":1,"c":[true,null]}');
  for (const bad of [1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 10n, () => 1, Symbol('x')]) {
    assert.throws(() => canonicalJson({ x: bad }), TypeError, String(bad));
    assert.throws(() => canonicalJson([bad]), TypeError, String(bad));
  }
  assert.throws(() => canonicalJson(undefined), TypeError);
});

test('signing bytes are domain-separated by what is signed', () => {
  const v = { a: 1 };
  const link = new TextDecoder().decode(signingBytes('link', v));
  assert.equal(link, 'catena/link/v1\n{"a":1}');
  assert.notDeepEqual(signingBytes('link', v), signingBytes('revocation', v));
});

test('canonicalJson strings: the bytes JSON.stringify gives, for escapes, controls, surrogates and plain hex', () => {
  const samples = ['', 'ab01', 'a"b', 'a\\b', 'line\nfeed', '\u0000\u001f\u007f', 'é€😀', '\ud800', 'x\udc00y', '\ud83d\ude00', '</script>', 'f'.repeat(9000)];
  for (let i = 0; i < 300; i++) samples.push(String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(Math.random() * 0x10000))));
  for (const s of samples) {
    assert.equal(canonicalJson(s), JSON.stringify(s), JSON.stringify(s));
    assert.equal(canonicalJson({ [s]: s }), `{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
  }
});

test('long strings (remembered by value) serialise as JSON.stringify does, escapes included, however they repeat', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ minLength: 1024, maxLength: 3000, unit: fc.constantFrom('a', '0', 'f', '"', '\\', '\n', '\u0001', '\ud800', 'é') }), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 20 }), (strings, order) => {
      for (const i of [...order, ...order.reverse()]) {
        const s = strings[i % strings.length]!;
        assert.equal(canonicalJson(s), JSON.stringify(s));
        assert.equal(canonicalJson({ q: s }), `{"q":${JSON.stringify(s)}}`);
      }
    }),
    { numRuns: 100 },
  );
});
