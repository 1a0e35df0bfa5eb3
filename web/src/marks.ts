// Timing marks of the first render (read by test/browser/large-chain.test.ts, visible in Chromium's
// performance panel): only the first of each name counts.
export function markOnce(name: string): void {
  if (performance.getEntriesByName(name, 'mark').length === 0) performance.mark(name);
}
