#!/usr/bin/env node
// npm run test:mutation [-- full|ci|GLOB,…] — StrykerJS over the verification core (stryker.config.mjs).
// Emulating the named bad evidence takes ~30 s of CPU: it is done once here, into a cache the variant
// tests read (CATENA_VARIANT_CACHE), so no mutant pays for it and the generator's code is not counted as
// covered by those tests. The JSON report goes to reports/mutation/mutation.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const scope = process.argv.slice(2).at(-1) ?? process.env.CATENA_MUTATION_SCOPE ?? 'full';
const cache = join(root, 'reports', 'mutation', 'variant-cache');
mkdirSync(cache, { recursive: true });
// Stryker's sandbox is a copy of the project elsewhere: point the vector tests at the real ../shared/vectors.
const vectors = process.env.CATENA_VECTORS ?? join(root, '..', 'shared', 'vectors');
const env = { ...process.env, CATENA_VARIANT_CACHE: cache, CATENA_MUTATION_SCOPE: scope, CATENA_VECTORS: vectors };

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const t0 = Date.now();
// Writes (or reuses) the variant cache, and proves the unmutated suite passes on it.
// catena-src: `catena/...` self-imports (the emulated QE's enclave modules) resolve to src/, as in
// scripts/run-tests.mjs, never to a dist/ that may be absent or stale.
run(process.execPath, [
  '--conditions=catena-src',
  '--import',
  'tsx',
  '--test',
  '--test-force-exit',
  'test/unit/attestation/variants.test.ts',
]);
run(process.execPath, [
  join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'),
  'run',
  'stryker.config.mjs',
]);
process.stderr.write(`mutation (${scope}): ${Math.round((Date.now() - t0) / 1000)} s\n`);
