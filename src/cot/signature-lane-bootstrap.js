// Entry point of a SignatureLane's worker thread. Plain JavaScript so it needs no loader: built (dist/),
// signature-lane-worker.js sits beside it; from the sources (src/, tests) it registers tsx in this
// thread first (tsx is a devDependency, so it is only imported here).
import { existsSync } from 'node:fs';

const built = new URL('./signature-lane-worker.js', import.meta.url);
if (existsSync(built)) await import(built.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./signature-lane-worker.ts', import.meta.url).href);
}
