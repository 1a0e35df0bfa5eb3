/**
 * `npm test` guards the fuzz harness (test/fuzz, docs/testing.md "Fuzzing"): a small fixed-seed fuzz of
 * every parser must be clean, every unmutated seed must parse, and the mutations must reach refusals.
 * A self-test proves the oracle: a parser that throws an untyped error (or a typed one with an
 * undocumented code) fails the run, and the failure names the seed, the index and the input.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { FormatError } from '../../../src/errors.ts';
import { mergeCorpora, type Corpus, type Seed } from '../../fuzz/corpus.ts';
import { documentedCodes } from '../../fuzz/judge.ts';
import { fuzzTarget, generateInput, showInput, type FuzzFailure } from '../../fuzz/run-fuzz.ts';
import { emulatedCorpus } from '../../fuzz/seeds-emulated.ts';
import { vectorCorpus } from '../../fuzz/seeds-vectors.ts';
import { setContext, TARGETS, type Target } from '../../fuzz/targets.ts';

const SEED = 0xc47e;
const PER_TARGET = 300;
const codes = documentedCodes(join(resolve(import.meta.dirname, '..', '..', '..'), 'docs', 'errors.md'));
let corpus: Corpus;

before(async () => {
  corpus = mergeCorpora(await emulatedCorpus(), (await vectorCorpus()).corpus);
  setContext(corpus);
});

/** The check each target must pass (the self-tests below run it on a deliberately bad parser). */
async function checkTarget(target: Target, seeds: Seed[], count: number): Promise<void> {
  assert.ok(seeds.length > 0, `the emulator gives ${target.name} seeds`);
  const failures: FuzzFailure[] = [];
  const s = await fuzzTarget(target, seeds, { seed: SEED, count, codes }, failures);
  assert.deepEqual(
    failures.map((f) => `#${f.index} from ${f.from}: ${f.problem}`),
    [],
  );
  assert.equal(s.inputs, count);
  assert.deepEqual(s.badSeeds, [], 'every unmutated seed parses');
  assert.ok(s.parsed >= seeds.length, 'the seeds parse');
  assert.ok(s.refused > 0, 'mutations reach refusals');
}

for (const target of TARGETS) {
  test(`fuzz ${target.name}: ${PER_TARGET} inputs (seed ${SEED}), each parsed or refused with a documented typed error`, async () => {
    await checkTarget(target, corpus.seeds[target.name] ?? [], PER_TARGET);
  });
}

/** A deliberately bad parser: a TypeError for inputs whose first byte is odd, a typed refusal otherwise. */
const badParser: Target = {
  name: 'self-test-bad',
  kind: 'bytes',
  drives: 'a parser with a bug',
  parse: (b: Uint8Array) => {
    if ((b[0] ?? 0) & 1) return (undefined as unknown as { x: number }).x; // TypeError
    throw new FormatError('refused', 'ERR_FORMAT');
  },
};
const selfSeeds: Seed[] = [{ name: 'two bytes', data: Uint8Array.of(0x10, 0x20) }];

test('harness self-test: the per-target check above fails on a parser that throws an untyped error', async () => {
  await assert.rejects(checkTarget(badParser, selfSeeds, PER_TARGET), (e: Error) =>
    /untyped TypeError/.test(e.message),
  );
  // …and passes on the same parser once its bug is gone (so it is the bug, not the seeds, that fails it).
  const fixed: Target = {
    ...badParser,
    parse: (b: Uint8Array) => {
      if (b.length !== 2) throw new FormatError('refused', 'ERR_LENGTH');
      return b;
    },
  };
  await checkTarget(fixed, selfSeeds, PER_TARGET);
});

test('harness self-test: an untyped exception fails the run, with the seed, the index and the input to reproduce it', async () => {
  const failures: FuzzFailure[] = [];
  const s = await fuzzTarget(badParser, selfSeeds, { seed: SEED, count: 400, codes, maxFailures: 3 }, failures);
  assert.equal(s.failures, 3);
  assert.equal(failures.length, 3);
  for (const f of failures) {
    assert.match(f.problem, /^untyped TypeError/);
    assert.equal(f.seed, SEED);
    // The recorded input is exactly what input #index regenerates to, and it is the one that throws.
    const again = generateInput(badParser, selfSeeds, f.seed, f.index);
    assert.equal(showInput(again.input), f.input);
    assert.equal(Number.parseInt(f.input.slice(0, 2), 16) & 1, 1);
  }
  assert.ok(s.refused > 0, 'the typed refusals in between are accepted');
});

test('harness self-test: a typed error with an undocumented code, or a non-Catena error with a code, is a failure', async () => {
  const mk = (e: () => Error): Target => ({
    ...badParser,
    name: 'self-test-code',
    parse: () => {
      throw e();
    },
  });
  const failures: FuzzFailure[] = [];
  await fuzzTarget(
    mk(() => new FormatError('x', 'ERR_NOT_DOCUMENTED_ANYWHERE')),
    selfSeeds,
    { seed: SEED, count: 5, codes, maxFailures: 1 },
    failures,
  );
  await fuzzTarget(
    mk(() => Object.assign(new Error('node-ish'), { code: 'ERR_OUT_OF_RANGE' })),
    selfSeeds,
    { seed: SEED, count: 5, codes, maxFailures: 1 },
    failures,
  );
  assert.equal(failures.length, 2);
  assert.match(failures[0].problem, /ERR_NOT_DOCUMENTED_ANYWHERE, which docs\/errors.md does not document/);
  assert.match(failures[1].problem, /^untyped Error \(code ERR_OUT_OF_RANGE\)/);
});

test('harness self-test: a well-behaved parser gives a clean run, and inputs are reproducible from (seed, index)', async () => {
  const good: Target = { ...badParser, name: 'self-test-good', parse: (b: Uint8Array) => b.length };
  const failures: FuzzFailure[] = [];
  const s = await fuzzTarget(good, selfSeeds, { seed: SEED, count: 200, codes }, failures);
  assert.equal(failures.length, 0);
  assert.equal(s.parsed, 200);
  const a = Array.from({ length: 50 }, (_, i) => showInput(generateInput(good, selfSeeds, SEED, i).input));
  const b = Array.from({ length: 50 }, (_, i) => showInput(generateInput(good, selfSeeds, SEED, i).input));
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size > 25, 'mutations differ from input to input');
  assert.notDeepEqual(
    a,
    Array.from({ length: 50 }, (_, i) => showInput(generateInput(good, selfSeeds, SEED + 1, i).input)),
    'another seed, other inputs',
  );
});
