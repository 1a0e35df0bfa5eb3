// Entry point of a remote-evidence verifier worker thread. Plain JavaScript so it needs no loader.
// Built (dist/), verifier-worker.js sits beside it and runs under plain node; from the sources (src/,
// tests), it registers tsx in this thread first (tsx is a devDependency, so it is only imported here).
import { existsSync } from 'node:fs';

const built = new URL('./verifier-worker.js', import.meta.url);
if (existsSync(built)) await import(built.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./verifier-worker.ts', import.meta.url).href);
}
