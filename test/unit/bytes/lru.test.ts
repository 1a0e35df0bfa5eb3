import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Lru } from '../../../src/bytes/lru.ts';

test('Lru keeps at most max entries and evicts the least recently used', () => {
  const c = new Lru<string, number>(2);
  c.set('a', 1).set('b', 2);
  assert.equal(c.get('a'), 1); // a is now the most recent
  c.set('c', 3);
  assert.equal(c.size, 2);
  assert.equal(c.get('b'), undefined, 'b was the least recently used');
  assert.equal(c.get('a'), 1);
  assert.equal(
    c.getOrSet('c', () => 99),
    3,
  );
  assert.equal(
    c.getOrSet('d', () => 4),
    4,
  );
  assert.equal(c.get('a'), undefined);
  assert.throws(() => new Lru(0), RangeError);
});

test('Lru behaves as a reference model of recency (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.tuple(fc.boolean(), fc.nat(8)), { maxLength: 60 }),
      (max, ops) => {
        const c = new Lru<number, number>(max);
        let model: number[] = []; // keys, most recent last
        for (const [isSet, k] of ops) {
          if (isSet) {
            c.set(k, k * 10);
            model = [...model.filter((x) => x !== k), k].slice(-max);
          } else {
            const hit = model.includes(k);
            assert.equal(c.get(k), hit ? k * 10 : undefined);
            if (hit) model = [...model.filter((x) => x !== k), k];
          }
          assert.equal(c.size, model.length);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('Lru.delete removes one key and says whether it was there; clear empties the map', () => {
  const l = new Lru<string, number>(3).set('a', 1).set('b', 2);
  assert.equal(l.delete('a'), true);
  assert.equal(l.delete('a'), false);
  assert.equal(l.get('a'), undefined);
  assert.equal(l.get('b'), 2);
  assert.equal(l.size, 1);
  l.clear();
  assert.equal(l.size, 0);
  assert.equal(l.get('b'), undefined);
});
