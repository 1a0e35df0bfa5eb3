/**
 * `npm run fuzz` / `npm run fuzz:quick`: structure-aware fuzzing of every Catena parser (docs/testing.md,
 * "Fuzzing"). Options:
 *   --seed N          run seed (default: random, printed)     --count N       inputs in total, split evenly over the targets
 *   --target a,b      only these targets (--list shows them)  --from I        start at input index I of each target
 *   --corpus FILE     seeds from a saved corpus instead of the emulator and the vectors
 *   --corpus-out FILE save the corpus this run uses           --no-vectors / --no-emulated   drop a seed source
 *   --json            print the summary as one JSON document
 * Exit 1 when any input was neither parsed nor refused with a typed error; each failure is printed with
 * the seed, target, input index and the input itself, and the corpus is saved beside it so it replays.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCorpus, mergeCorpora, saveCorpus, type Corpus } from './corpus.ts';
import { documentedCodes } from './judge.ts';
import { fuzzTarget, type FuzzFailure, type TargetStats } from './run-fuzz.ts';
import { emulatedCorpus } from './seeds-emulated.ts';
import { vectorCorpus } from './seeds-vectors.ts';
import { setContext, targetByName, TARGETS } from './targets.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const flag = (n: string) => args.includes(`--${n}`);
const opt = (n: string) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (n: string, d: number) => {
  const v = opt(n);
  if (v === undefined) return d;
  const x = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(x) || x < 0) throw new Error(`--${n}: expected a non-negative integer, got ${v}`);
  return x;
};

if (flag('list')) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(16)} ${t.kind.padEnd(5)} ${t.drives}`);
  process.exit(0);
}

const seed = num('seed', Math.floor(Math.random() * 0x100000000)) >>> 0;
const targets = opt('target') ? opt('target')!.split(',').map(targetByName) : TARGETS;
const total = num('count', 20_000);
const from = num('from', 0);
const log = (s: string) => (flag('json') ? process.stderr.write(`${s}\n`) : console.log(s));

const t0 = performance.now();
let corpus: Corpus;
if (opt('corpus')) corpus = loadCorpus(opt('corpus')!);
else {
  const parts: Corpus[] = [];
  if (!flag('no-emulated')) parts.push(await emulatedCorpus());
  if (!flag('no-vectors')) {
    const v = await vectorCorpus();
    if (v.note) log(`note: ${v.note}`);
    parts.push(v.corpus);
  }
  corpus = mergeCorpora(...parts);
}
if (opt('corpus-out')) saveCorpus(corpus, opt('corpus-out')!);
setContext(corpus);
const codes = documentedCodes(join(ROOT, 'docs', 'errors.md'));
const seedMs = performance.now() - t0;
log(
  `fuzz: seed ${seed}, ${total} inputs over ${targets.length} targets, corpus ready in ${(seedMs / 1000).toFixed(1)} s`,
);

const failures: FuzzFailure[] = [];
const stats: TargetStats[] = [];
for (const [i, t] of targets.entries()) {
  const count = Math.floor(total / targets.length) + (i < total % targets.length ? 1 : 0);
  const seeds = corpus.seeds[t.name] ?? [];
  if (seeds.length === 0) log(`  ${t.name}: no seeds, skipped`);
  const s = await fuzzTarget(t, seeds, { seed, count, from, codes }, failures);
  stats.push(s);
  const top = Object.entries(s.codes)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  log(
    `  ${t.name.padEnd(16)} ${String(s.inputs).padStart(8)} inputs (${s.seeds} seeds)  parsed ${s.parsed}  refused ${s.refused}  failures ${s.failures}  ${(s.ms / 1000).toFixed(1)} s  slowest ${s.slowestMs.toFixed(1)} ms (#${s.slowestIndex})  [${top}]`,
  );
  for (const b of s.badSeeds) log(`    warning: unmutated seed refused: ${b}`);
}
const ms = performance.now() - t0;
const inputs = stats.reduce((n, s) => n + s.inputs, 0);

if (failures.length) {
  const dir = join(ROOT, 'reports', 'fuzz');
  mkdirSync(dir, { recursive: true });
  const corpusFile = join(dir, `corpus-${seed}.json`);
  saveCorpus(corpus, corpusFile);
  for (const f of failures) {
    const file = join(dir, `failure-${f.target}-${f.seed}-${f.index}.txt`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...f, stack: undefined })}\n${f.stack ?? ''}\n`);
    console.error(`\nFAIL ${f.target}  seed ${f.seed}  input #${f.index}  (mutated from ${f.from})`);
    console.error(`  ${f.problem}`);
    if (f.stack) console.error(f.stack.split('\n').slice(1, 6).join('\n'));
    console.error(
      `  input (${f.input.length > 20_000 ? `first 20000 of ${f.input.length} chars; all in ${file}` : file}):\n  ${f.input.slice(0, 20_000)}`,
    );
    console.error(
      `  replay: node --import tsx test/fuzz/main.ts --corpus ${corpusFile} --seed ${f.seed} --target ${f.target} --from ${f.index} --count 1`,
    );
  }
}
const summary = {
  seed,
  inputs,
  targets: stats.length,
  failures: failures.length,
  seconds: Math.round(ms / 100) / 10,
  corpusSeconds: Math.round(seedMs / 100) / 10,
  stats,
};
if (flag('json')) console.log(JSON.stringify(summary));
else log(`fuzz: ${inputs} inputs, ${failures.length} failures, ${(ms / 1000).toFixed(1)} s (seed ${seed})`);
process.exit(failures.length ? 1 : 0);
