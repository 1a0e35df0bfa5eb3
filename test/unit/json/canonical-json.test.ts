import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, canonicalNumber, CanonicalJsonError } from '../../../src/json/index.ts';

const isCode = (code: string) => (e: unknown) => e instanceof CanonicalJsonError && e.code === code;

/**
 * RFC 8785 Appendix B: IEEE 754 doubles (hex) and their canonical JSON form. Entries past ±(2^53 − 1)
 * are integers I-JSON refuses: canonicalNumber prints them, canonicalJson refuses them.
 */
const APPENDIX_B: Array<[ieee: string, json: string | null]> = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['7fffffffffffffff', null],
  ['7ff0000000000000', null],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

const double = (ieee: string) => new DataView(Uint8Array.from(Buffer.from(ieee, 'hex')).buffer).getFloat64(0, false);

test('RFC 8785 Appendix B: numbers serialise as ECMAScript prints them; NaN and Infinity are refused', () => {
  for (const [ieee, json] of APPENDIX_B) {
    const n = double(ieee);
    if (json === null) {
      assert.throws(() => canonicalNumber(n), isCode('ERR_CANONICAL_JSON'), ieee);
      assert.throws(() => canonicalJson([n]), isCode('ERR_CANONICAL_JSON'), ieee);
      continue;
    }
    assert.equal(canonicalNumber(n), json, ieee);
    if (Number.isInteger(n) && !Number.isSafeInteger(n))
      assert.throws(() => canonicalJson(n), isCode('ERR_CANONICAL_JSON'), ieee);
    else assert.equal(canonicalJson({ n }), `{"n":${json}}`, ieee);
  }
});

/**
 * RFC 8785 test data from the scheme's reference repository, cyberphone/json-canonicalization,
 * testdata/input/*.json → testdata/output/*.json (inputs given here as the JSON text of the input files).
 * values.json carries 1E30, an integer past 2^53 that I-JSON refuses: it is checked with and without it.
 */
const VALUES = String.raw`{
  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],
  "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`;
const JCS_VECTORS: Array<[name: string, input: string, output: string]> = [
  [
    'values.json (without 1E30)',
    VALUES.replace('1E30, ', ''),
    '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],"numbers":[4.5,333333333.3333333,0.002,1e-27]}',
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

test('RFC 8785 values.json with 1E30: the unsafe integer is refused with ERR_CANONICAL_JSON, not a TypeError', () => {
  assert.throws(() => canonicalJson(JSON.parse(VALUES)), isCode('ERR_CANONICAL_JSON'));
});

test('members sort by UTF-16 code units (RFC 8785 §3.2.3), not by code points or locale', () => {
  // U+1F600 is D83D DE00 in UTF-16: it sorts before U+FB33 although its code point is larger.
  assert.equal(
    canonicalJson({ '\ufb33': 1, '\ud83d\ude00': 2, '\u00e9': 3, e: 4, E: 5 }),
    '{"E":5,"e":4,"é":3,"😀":2,"דּ":1}',
  );
});

/** The oracle: JSON.stringify for every leaf, members in sorted order, built by hand (no object re-insertion). */
function oracle(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(oracle).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return (
      '{' +
      Object.keys(o)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + oracle(o[k]))
        .join(',') +
      '}'
    );
  }
  return JSON.stringify(v);
}

const number = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || Number.isSafeInteger(d)),
);
const text = fc.string({ unit: 'grapheme' });
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    number,
    text,
    fc.string({ minLength: 1024, maxLength: 2048, unit: fc.constantFrom('a', '0', 'f', '"', '\n', 'é') }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(text, tie('v'), { maxKeys: 5 }),
  ),
})).v;

test('canonical JSON equals the sorted JSON.stringify oracle and parses back to the same value (property)', () => {
  fc.assert(
    fc.property(value, (v) => {
      const c = canonicalJson(v);
      assert.equal(c, oracle(v));
      assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(v)));
      assert.equal(canonicalJson(JSON.parse(c)), c);
    }),
    { numRuns: 400 },
  );
});

test('undefined members are dropped; what has no single JSON form is ERR_CANONICAL_JSON, never a TypeError', () => {
  assert.equal(canonicalJson({ b: 1, a: undefined, c: [true, null] }), '{"b":1,"c":[true,null]}');
  assert.equal(canonicalJson(Object.assign(Object.create(null), { z: 1, a: 2 })), '{"a":2,"z":1}');
  const bad: unknown[] = [
    NaN,
    Infinity,
    -Infinity,
    2 ** 53,
    -(2 ** 53),
    1e30,
    10n,
    () => 1,
    Symbol('x'),
    undefined,
    new Date(0),
    new Map(),
    new Uint8Array(2),
    '\ud800',
    'x\udc00y',
    '\udc00\ud800',
  ];
  for (const b of bad) {
    const label = typeof b === 'symbol' ? 'symbol' : String(b);
    assert.throws(() => canonicalJson({ x: b === undefined ? [b] : b }), isCode('ERR_CANONICAL_JSON'), label);
    assert.throws(() => canonicalJson([b]), isCode('ERR_CANONICAL_JSON'), label);
  }
  assert.throws(() => canonicalJson({ ['\ud800']: 1 }), isCode('ERR_CANONICAL_JSON'));
  assert.equal(canonicalJson('\ud83d\ude00'), '"😀"');
  assert.equal(canonicalJson(2 ** 53 - 1), '9007199254740991');
  assert.equal(canonicalJson(-0), '0');
});

test("{ unsafeIntegers: 'allow' } is RFC 8785 over any finite number (the audit log's hashes); the rest is refused alike", () => {
  assert.equal(
    canonicalJson({ b: [1e30, -(2 ** 53)], a: 4.5 }, { unsafeIntegers: 'allow' }),
    '{"a":4.5,"b":[1e+30,-9007199254740992]}',
  );
  assert.throws(() => canonicalJson({ b: [1e30] }), isCode('ERR_CANONICAL_JSON'));
  for (const b of [NaN, Infinity, '\ud800', new Date(0), 1n])
    assert.throws(() => canonicalJson([b], { unsafeIntegers: 'allow' }), isCode('ERR_CANONICAL_JSON'));
});

test('long strings: one that needs no escaping is remembered, and a string of the same length that does is still escaped or refused', () => {
  const safe = 'ab'.repeat(2048);
  assert.equal(canonicalJson({ q: safe }), `{"q":"${safe}"}`);
  assert.equal(canonicalJson({ q: safe }), `{"q":"${safe}"}`);
  const quoted = safe.slice(0, -1) + '"';
  assert.equal(canonicalJson(quoted), JSON.stringify(quoted));
  const control = safe.slice(0, -1) + '\n';
  assert.equal(canonicalJson(control), JSON.stringify(control));
  assert.throws(
    () => canonicalJson(safe.slice(0, -1) + '\ud800'),
    (e: unknown) => (e as { code?: string }).code === 'ERR_CANONICAL_JSON',
  );
});
