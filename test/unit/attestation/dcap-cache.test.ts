import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentKey, VerificationCache } from '../../../src/attestation/dcap/cache.ts';

test('memo: one entry per (kind, key); equal content hits, other content or kind computes', () => {
  const c = new VerificationCache();
  let calls = 0;
  const f = () => ++calls;
  assert.equal(c.memo('a', 'k', f), 1);
  assert.equal(c.memo('a', 'k'.repeat(1).slice(0), f), 1);
  assert.equal(c.memo('b', 'k', f), 2, 'another kind is another entry');
  assert.equal(c.memo('a', 'k2', f), 3);
  assert.equal(
    c.memo('a', 'k', () => undefined),
    1,
  );
  assert.equal(
    c.memo('u', 'x', () => undefined),
    undefined,
  );
  assert.equal(c.memo('u', 'x', f), undefined, 'a memoised undefined is a hit');
  assert.equal(calls, 3);
});

test('memoBytes: the same array is recognised, an array altered in place is looked up by its new content', () => {
  const c = new VerificationCache();
  const seen: string[] = [];
  const parse = (b: Uint8Array) => () => {
    seen.push(Buffer.from(b).toString('hex'));
    return Buffer.from(b).toString('hex');
  };
  const a = new Uint8Array([1, 2, 3, 4]);
  assert.equal(c.memoBytes('x', a, parse(a)), '01020304');
  assert.equal(c.memoBytes('x', a, parse(a)), '01020304');
  assert.equal(seen.length, 1);
  a[0] = 9;
  assert.equal(c.memoBytes('x', a, parse(a)), '09020304', 'altered in place: not the old result');
  assert.equal(seen.length, 2);
  assert.equal(
    c.memoBytes('x', new Uint8Array([1, 2, 3, 4]), () => 'recomputed'),
    '01020304',
    'a copy of known content hits by content',
  );
  assert.equal(
    c.memoBytes('y', a, () => 'other kind'),
    'other kind',
    'the object entry is per kind',
  );
  assert.equal(
    c.memoBytes('x', a, () => 'wrong'),
    '09020304',
  );
});

test('textId: equal texts share an id, different texts do not', () => {
  const c = new VerificationCache();
  const t = 'x'.repeat(5000);
  assert.equal(c.textId(t), c.textId('x'.repeat(5000)));
  assert.notEqual(c.textId(t), c.textId(`${t}y`));
});

test('contentKey separates parts by length', () => {
  assert.notEqual(
    contentKey(new Uint8Array([1, 2]), new Uint8Array([3])),
    contentKey(new Uint8Array([1]), new Uint8Array([2, 3])),
  );
  assert.equal(contentKey(new Uint8Array([65, 66])), 'AB');
});

test('cache.iso formats a Date again after it changed', () => {
  const cache = new VerificationCache();
  const d = new Date('2025-01-01T00:00:00Z');
  assert.equal(cache.iso(d), '2025-01-01T00:00:00.000Z');
  d.setTime(Date.parse('2026-02-03T04:05:06Z'));
  assert.equal(cache.iso(d), '2026-02-03T04:05:06.000Z');
});
