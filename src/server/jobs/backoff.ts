/** Exponential backoff with "equal jitter": half the step fixed, half random. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before the next try after `attempts` failed attempts (1, 2, …): the step is
 * min(maxMs, baseMs·2^(attempts−1)); the delay is uniformly in [step/2, step] (random() in [0, 1)).
 */
export function backoffDelay(attempts: number, b: Backoff, random: () => number = Math.random): number {
  const step = Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}
