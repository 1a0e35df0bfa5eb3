#!/usr/bin/env node
// The `catena` command: the compiled CLI in dist/ under plain node (`npm ci` and `npm pack` build it).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('catena: dist/ is missing; build it with `npm run build` (npm ci does it)\n');
  process.exit(2);
}
// A reader that stops early (`catena … | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
