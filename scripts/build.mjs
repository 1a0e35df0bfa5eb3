#!/usr/bin/env node
// Builds dist/: tsc (incremental, tsconfig.build.json) for the TypeScript, then copies the plain .js
// sources of src/ (enclave modules, worker bootstraps) beside their compiled neighbours.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);

const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.js')) {
      const out = join(root, 'dist', relative(join(root, 'src'), p));
      mkdirSync(dirname(out), { recursive: true });
      copyFileSync(p, out);
    }
  }
};
walk(join(root, 'src'));

// The dashboard (web/, Vite + Preact + Cytoscape) → dist/web/, served by the manager at /ui/.
const vite = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'web', 'vite.config.ts')],
  { stdio: 'inherit', cwd: root },
);
if (vite.status !== 0) {
  process.stderr.write(`build: the dashboard's Vite build exited ${vite.status}\n`);
  process.exit(vite.status ?? 1);
}

// The help texts of `catena --help` and `catena COMMAND --help`, as the CLI itself prints them, so
// bin/catena.js can answer those without loading the CLI (help is the one thing a user runs to wait
// for nothing). test/unit/cli/help-cache.test.ts holds them equal to the live output.
const bin = join(root, 'bin', 'catena.js');
const helpOf = (args) => {
  const h = spawnSync(process.execPath, [bin, ...args, '--help'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CATENA_NO_HELP_CACHE: '1' },
  });
  if (h.status !== 0) {
    process.stderr.write(`build: catena ${args.join(' ')} --help exited ${h.status}: ${h.stderr}\n`);
    process.exit(1);
  }
  return h.stdout;
};
const { COMMAND_NAMES } = await import(new URL('../dist/cli/commands/names.js', import.meta.url).href);
const help = { top: helpOf([]), commands: Object.fromEntries(COMMAND_NAMES.map((c) => [c, helpOf([c])])) };
writeFileSync(join(root, 'dist', 'cli', 'help.json'), JSON.stringify(help));
