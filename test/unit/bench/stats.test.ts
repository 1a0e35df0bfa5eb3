import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { leastSquares, logLogSlope, median } from '../../../src/bench/stats.ts';

test('least squares recovers a line from synthetic points (random slope, intercept, x values)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1e3, max: 1e3, noNaN: true }),
      fc.double({ min: -1e3, max: 1e3, noNaN: true }),
      fc.uniqueArray(fc.integer({ min: -1e4, max: 1e4 }), { minLength: 2, maxLength: 40 }),
      (a, b, xs) => {
        const f = leastSquares(
          xs,
          xs.map((x) => a + b * x),
        );
        assert.ok(Math.abs(f.slope - b) <= 1e-6 * (1 + Math.abs(b)), `slope ${f.slope} vs ${b}`);
        assert.ok(
          Math.abs(f.intercept - a) <= 1e-6 * (1 + Math.abs(a) + Math.abs(b) * 1e4),
          `intercept ${f.intercept} vs ${a}`,
        );
      },
    ),
  );
});

test('least squares on noisy data: the known OLS answer, and r² below 1', () => {
  // y = 1 + 2x with residuals +1, −1, −1, +1: the residuals are orthogonal to 1 and x, so OLS gives (1, 2) exactly.
  const f = leastSquares([0, 1, 2, 3], [2, 2, 4, 8]);
  assert.ok(Math.abs(f.slope - 2) < 1e-12 && Math.abs(f.intercept - 1) < 1e-12, JSON.stringify(f));
  assert.ok(f.r2 > 0.8 && f.r2 < 1);
});

test('least squares refuses fewer than two points, mismatched lengths and a single x value', () => {
  assert.throws(() => leastSquares([1], [1]), RangeError);
  assert.throws(() => leastSquares([1, 2], [1]), RangeError);
  assert.throws(() => leastSquares([3, 3, 3], [1, 2, 3]), RangeError);
});

test('log–log slope: the exponent of a power law, and a start-up offset bends it below 1', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.2, max: 3, noNaN: true }),
      fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
      (k, c) => {
        const pts = [1e3, 1e4, 1e5].map((n) => [n, c * n ** k] as const);
        assert.ok(Math.abs(logLogSlope(pts) - k) < 1e-9);
      },
    ),
  );
  // offset + linear: sub-linear on a log–log plot (the seed's observation), tending to 1.
  const s = logLogSlope([10, 100, 1000].map((n) => [n, 1000 + n] as const));
  assert.ok(s > 0 && s < 0.5, String(s));
  assert.throws(
    () =>
      logLogSlope([
        [0, 1],
        [1, 2],
      ]),
    RangeError,
  );
});

test('median of odd and even counts, unsorted input left untouched', () => {
  const v = [5, 1, 3];
  assert.equal(median(v), 3);
  assert.deepEqual(v, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});
