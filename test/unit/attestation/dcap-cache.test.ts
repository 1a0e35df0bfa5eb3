import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap, contentKey, VerificationCache } from '../../../src/attestation/dcap/cache.ts';

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

test('BoundedMap: past its bound the oldest entry goes; setting a key it holds evicts nothing', () => {
  const m = new BoundedMap<string, number>(2);
  m.set('a', 1).set('b', 2);
  m.set('a', 3);
  assert.deepEqual(
    [...m],
    [
      ['a', 3],
      ['b', 2],
    ],
  );
  m.set('c', 4);
  assert.deepEqual(
    [...m],
    [
      ['b', 2],
      ['c', 4],
    ],
  );
  m.set('d', 5);
  assert.deepEqual([...m.keys()], ['c', 'd']);
  const none = new BoundedMap<string, number>(0);
  none.set('x', 1);
  assert.deepEqual([...none], [['x', 1]], 'nothing to evict');
});

test('memo: counts hits and misses; the maps are bounded (8,192 per kind)', () => {
  const c = new VerificationCache();
  c.memo('k', 'a', () => 1);
  c.memo('k', 'a', () => 2);
  c.memo('k', 'b', () => 3);
  assert.deepEqual([c.hits, c.misses], [1, 2]);
  for (let i = 0; i < 8192; i++) c.memo('k', `fill${i}`, () => i);
  assert.equal(
    c.memo('k', 'a', () => 'recomputed'),
    'recomputed',
    'the oldest entry was forgotten',
  );
  assert.equal(
    c.memo('other', 'a', () => 'other kind'),
    'other kind',
  );
});

test('memoBytes counts a repeat of the same array as a hit', () => {
  const c = new VerificationCache();
  const a = new Uint8Array([1, 2]);
  c.memoBytes('x', a, () => 1);
  c.memoBytes('x', a, () => 2);
  assert.deepEqual([c.hits, c.misses], [1, 1]);
});

/** Fills `kind`'s memo map so every earlier content key is forgotten: only memoRecent's own list remembers. */
function evict(c: VerificationCache, kind: string): void {
  for (let i = 0; i < 8192; i++) c.memo(kind, `evict${i}`, () => i);
}

test('memoRecent: the same parts hit; other bytes, another part count or another kind compute', () => {
  const c = new VerificationCache();
  let calls = 0;
  const f = () => ++calls;
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array([4]);
  assert.equal(c.memoRecent('k', [a, b], f), 1);
  evict(c, 'k');
  assert.equal(c.memoRecent('k', [new Uint8Array([1, 2, 3]), new Uint8Array([4])], f), 1, 'equal bytes, other arrays');
  assert.equal(c.memoRecent('k', [a], f), 2, 'a prefix of the parts is other input');
  assert.equal(c.memoRecent('k', [a, b, b], f), 3, 'more parts is other input');
  assert.equal(c.memoRecent('k', [a, new Uint8Array([5])], f), 4, 'one byte differs');
  assert.equal(c.memoRecent('j', [a, b], f), 5, 'another kind');
  const hits = c.hits;
  assert.equal(c.memoRecent('k', [a, b], f), 1);
  assert.equal(c.hits, hits + 1);
  a[0] = 9;
  assert.equal(c.memoRecent('k', [a, b], f), 6, 'altered in place: its copy no longer matches');
});

test('memoRecent: remembers the last 8 distinct inputs, the most recently used first', () => {
  const c = new VerificationCache();
  let calls = 0;
  const f = () => ++calls;
  const input = (i: number) => [new Uint8Array([i])];
  for (let i = 1; i <= 8; i++) assert.equal(c.memoRecent('k', input(i), f), i);
  evict(c, 'k');
  assert.equal(c.memoRecent('k', input(1), f), 1, 'the 8th most recent is still known');
  assert.equal(c.memoRecent('k', input(9), f), 9, 'pushes out input 2, not input 1 (used again)');
  evict(c, 'k');
  assert.equal(c.memoRecent('k', input(1), f), 1);
  assert.equal(c.memoRecent('k', input(3), f), 3);
  assert.equal(c.memoRecent('k', input(2), f), 10, 'forgotten');
});

test('memoBytes: a repeat of the same unaltered array is answered without the content map', () => {
  const c = new VerificationCache();
  const a = new Uint8Array([1, 2, 3]);
  assert.equal(
    c.memoBytes('x', a, () => 1),
    1,
  );
  evict(c, 'x');
  assert.equal(
    c.memoBytes('x', a, () => 2),
    1,
    'recognised by the object and its private copy',
  );
  assert.equal(
    c.memoBytes('x', new Uint8Array([1, 2, 3]), () => 3),
    3,
    'another array: by content, forgotten',
  );
});
