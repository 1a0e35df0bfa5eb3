import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, canonicalTextSha256, documentSha256 } from '../../../src/store/index.ts';
import { canonicalDocument, toJsonText } from '../../../src/store/canonical.ts';

/**
 * RFC 8785 (JCS) test data from the scheme's reference repository, cyberphone/json-canonicalization,
 * testdata/input/*.json → testdata/output/*.json (inputs given here as the JSON text of the input files).
 */
const JCS_VECTORS: Array<[name: string, input: string, output: string]> = [
  [
    'values.json',
    String.raw`{
  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],
  "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
    '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
  ],
  [
    'structures.json',
    String.raw`{
  "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
  "10": { },
  "": "empty",
  "a": { },
  "111": [ { } ],
  "A": { }
}`,
    '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
  ],
  [
    'weird.json',
    String.raw`{
  "\u20ac": "Euro Sign",
  "1": "One",
  "\u0080": "Control\u007f",
  "\ud83d\ude02": "Smiley",
  "\u00f6": "Latin Small Letter O With Diaeresis",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "</script>": "Browser Challenge"
}`,
    '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  ],
  [
    'french.json',
    String.raw`{
  "peach": "This sorting order",
  "péché": "is wrong according to French",
  "pêche": "but canonicalization MUST",
  "sin":   "ingnore locale"
}`,
    '{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ingnore locale"}',
  ],
];

for (const [name, input, output] of JCS_VECTORS) {
  test(`RFC 8785 reference vector ${name}`, () => {
    assert.equal(canonicalJson(JSON.parse(input)), output);
  });
}

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

test('canonical JSON refuses what has no single JSON form', () => {
  for (const bad of [NaN, Infinity, 1n, () => 1, Symbol('x'), new Date(0), '\ud800', { a: '\udc00x' }]) {
    assert.throws(() => canonicalJson(bad), (e: { code?: string }) => e.code === 'ERR_STORE_INVALID', String(typeof bad));
  }
  assert.equal(canonicalJson({ b: undefined, a: [undefined] }), '{"a":[null]}');
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
  assert.deepEqual(JSON.parse(d.text), { at: '1970-01-01T00:00:00.000Z', nested: [{ when: '1970-01-01T00:00:01.000Z' }] });
  assert.equal(d.sha256, general(odd));
  assert.notEqual(d.sha256, canonicalDocument({ ...odd, at: new Date(1) }, 'odd', canonicalTextSha256).sha256);
  assert.throws(() => canonicalDocument(undefined, 'nothing', canonicalTextSha256), (e: { code?: string }) => e.code === 'ERR_STORE_INVALID');
  assert.throws(() => canonicalDocument({ s: '\ud800' }, 'surrogate', canonicalTextSha256), (e: { code?: string }) => e.code === 'ERR_STORE_INVALID');
});
