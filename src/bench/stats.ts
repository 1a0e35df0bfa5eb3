/**
 * The arithmetic of the benchmarks: ordinary least squares, the log–log slope, medians. Pure; no I/O.
 */

export interface LinearFit {
  /** Change of y per unit of x. */
  slope: number;
  /** y at x = 0. */
  intercept: number;
  /** Coefficient of determination (1 = a perfect line; NaN when y does not vary). */
  r2: number;
  n: number;
}

/** Ordinary least squares y ≈ intercept + slope·x. Needs at least two distinct x values. */
export function leastSquares(xs: readonly number[], ys: readonly number[]): LinearFit {
  if (xs.length !== ys.length) throw new RangeError(`leastSquares: ${xs.length} x values but ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) throw new RangeError('leastSquares: need at least two points');
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new RangeError('leastSquares: all x values are equal');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? NaN : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2, n };
}

/**
 * The slope of log(y) against log(x) by least squares: 1 means y grows linearly with x, below 1
 * sub-linearly. Points with x or y ≤ 0 are refused (their logarithm is undefined).
 */
export function logLogSlope(points: ReadonlyArray<readonly [number, number]>): number {
  for (const [x, y] of points)
    if (!(x > 0 && y > 0)) throw new RangeError(`logLogSlope: point (${x}, ${y}) is not positive`);
  return leastSquares(
    points.map(([x]) => Math.log(x)),
    points.map(([, y]) => Math.log(y)),
  ).slope;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rounds to `digits` significant decimals for reports (keeps JSON readable, not for maths). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const p = 10 ** Math.max(0, digits - Math.ceil(Math.log10(Math.abs(x))));
  return Math.round(x * p) / p;
}
