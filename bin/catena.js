#!/usr/bin/env node
// The `catena` command: the compiled CLI in dist/ under plain node (`npm ci` and `npm pack` build it).
import { existsSync, readFileSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('catena: dist/ is missing; build it with `npm run build` (npm ci does it)\n');
  process.exit(2);
}
// `catena --help` and `catena COMMAND --help` from the texts the build recorded (scripts/build.mjs),
// without loading the CLI; anything else, or a missing record, goes to the CLI itself.
const args = process.argv.slice(2);
const isHelp = (a) => a === '--help' || a === '-h';
if (!process.env.CATENA_NO_HELP_CACHE && (args.length === 1 ? isHelp(args[0]) : args.length === 2 && isHelp(args[1]))) {
  let text;
  try {
    const recorded = JSON.parse(readFileSync(new URL('../dist/cli/help.json', import.meta.url), 'utf8'));
    text =
      args.length === 1
        ? recorded.top
        : Object.hasOwn(recorded.commands, args[0])
          ? recorded.commands[args[0]]
          : undefined;
  } catch {
    text = undefined;
  }
  if (typeof text === 'string') {
    process.stdout.write(text);
    process.exit(0);
  }
}
// A reader that stops early (`catena … | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
