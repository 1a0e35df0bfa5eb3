// StrykerJS (mutation testing) — npm run test:mutation [-- SCOPE], see docs/testing.md ("Mutation testing").
// SCOPE (env CATENA_MUTATION_SCOPE, set by scripts/mutation.mjs): `full` (default) mutates the verification
// core (src/attestation, src/chain, src/crypto, src/formats, src/bytes); `ci` only src/attestation/dcap and
// src/chain; anything else is a comma-separated list of globs. Each test file is one "test" for the tap
// runner: a mutant runs only the files that cover it, and stops at the first failing one.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The files (relative, `/`-separated) matching a glob of `*`, `**` and literal parts. */
function expand(glob) {
  const parts = glob.split('/');
  const source = parts
    .map((part, i) => {
      if (part === '**') return '(?:[^/]+/)*';
      const literal = part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
      return i === parts.length - 1 ? literal : `${literal}/`;
    })
    .join('');
  const re = new RegExp(`^${source}$`);
  const base = parts.findIndex((p) => p.includes('*'));
  const root = parts.slice(0, base < 0 ? -1 : base).join('/') || '.';
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name).split('\\').join('/')],
    );
  return walk(root)
    .filter((f) => re.test(f))
    .sort();
}

/** `file:from-to` for each begin/end marker pair in `files` (the lines strictly between them). */
export function markedRanges(files) {
  return files.flatMap((file) => {
    const ranges = [];
    let from;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const mark = /\[mutation scope `checks`\] (begin|end)/.exec(line)?.[1];
        if (mark === 'begin' && from === undefined) from = i + 2;
        else if (mark === 'end' && from !== undefined) {
          ranges.push(`${file}:${from}-${i}`);
          from = undefined;
        } else if (mark) throw new Error(`${file}:${i + 1}: unpaired mutation scope marker`);
      });
    if (from !== undefined || ranges.length === 0)
      throw new Error(`${file}: mutation scope markers unpaired or absent`);
    return ranges;
  });
}

/** The files whose marked lines decide a verification check's outcome (scripts/mutation-gate.mjs). */
export const CHECK_FILES = [
  'src/attestation/dcap/verify-quote.ts',
  'src/attestation/dcap/crl.ts',
  'src/chain/verify-bundle.ts',
];

const SCOPES = {
  full: [
    'src/attestation/**/*.ts',
    'src/chain/**/*.ts',
    'src/crypto/**/*.ts',
    'src/formats/**/*.ts',
    'src/bytes/**/*.ts',
  ],
  ci: ['src/attestation/dcap/**/*.ts', 'src/chain/**/*.ts'],
  // The lines of the DCAP verifier that decide a check's outcome (and the CRL window check), and the
  // chain verifier's (LinkChecker.check, the header, revocation and platform-element checks): small
  // enough for every CI run. They lie between `[mutation scope \`checks\`] begin` / `end` comments in
  // the source, read here, so the ranges move with the code.
  checks: markedRanges(CHECK_FILES),
};
const scope = process.env.CATENA_MUTATION_SCOPE || 'full';
const mutate = [...(SCOPES[scope] ?? scope.split(',')), '!src/**/index.ts', '!src/**/types.ts'];

/**
 * Focused, fast test sets, the most pointed first (forceBail stops a mutant at its first failing file;
 * each file is one node process, ~1 s of start-up). `ci` (dcap + chain): the named bad variants, the
 * code tests, the dcap unit tests, the chain tests. `full` adds the parsers', crypto and vector tests.
 * Left out as too slow per mutant: the exhaustive flip tests of test/vectors/dcap-quote*.test.ts
 * (14 s and 40 s) and test/unit/cot/qe-context.test.ts (23 s); they run in the ordinary suites.
 */
const CI_TESTS = [
  // The first CHECKS_COUNT files are the `checks` scope's test set.
  'test/unit/attestation/pck-chain-stray.test.ts',
  'test/unit/attestation/dcap-crl-window.test.ts',
  'test/unit/attestation/variants.test.ts',
  'test/unit/attestation/verify-codes.test.ts',
  'test/unit/attestation/verify-windows.test.ts',
  'test/unit/attestation/verify-synthetic.test.ts',
  'test/vectors/dcap-tee-mismatch.test.ts',
  'test/vectors/dcap-tdx-module.test.ts',
  // The chain verifier's checks on synthetic chains (milliseconds each, no emulated world): the `checks`
  // scope's test set for the marked lines of src/chain/verify-bundle.ts.
  'test/unit/chain/verify-checks.test.ts',
  'test/unit/attestation/dcap-*.test.ts',
  'test/unit/chain/*.test.ts',
  'test/vectors/dcap-collateral.test.ts',
  'test/unit/attestation/tcb-explanation.test.ts',
  'test/unit/attestation/tcb-explanation-exact.test.ts',
  'test/vectors/tcb-explanation.test.ts',
  // In-process despite its folder (one test spawns the CLI): the chain verifier's named refusals —
  // root-anchor, nonce-reuse, revocation-signature, evidence-age, revoked — on a built two-cloud chain.
  'test/e2e/cot-api.test.ts',
];
const FULL_TESTS = [
  ...CI_TESTS,
  'test/unit/formats/*.test.ts',
  // The emulated PKI's certificates and CRLs against @peculiar/x509 (the DER writers' independent oracle).
  'test/unit/sgx/issue-crl.test.ts',
  'test/unit/sgx/issue-certificate.test.ts',
  'test/unit/attestation/gramine.test.ts',
  'test/unit/attestation/pem.test.ts',
  'test/unit/attestation/td-policy.test.ts',
  'test/unit/attestation/collateral-sources.test.ts',
  'test/unit/attestation/identity-policy.test.ts',
  'test/unit/attestation/ear-vector.test.ts',
  'test/unit/attestation/collateral-pcs.test.ts',
  'test/unit/attestation/local.test.ts',
  'test/unit/tdx/event-log.test.ts',
  'test/unit/tdx/td-measure-report.test.ts',
  'test/unit/fuzz/fuzz-findings.test.ts',
  'test/unit/channel/ratls-cert.test.ts',
  'test/unit/codes/runtime-codes.test.ts',
  'test/vectors/measure.test.ts',
  'test/vectors/sigstruct.test.ts',
  'test/unit/bytes/*.test.ts',
  'test/unit/crypto/*.test.ts',
  'test/unit/channel/cbor.test.ts',
  'test/unit/cot/verification-reuse.test.ts',
  'test/vectors/report-body.test.ts',
];
// CATENA_MUTATION_TESTS (comma-separated globs) overrides the test set, e.g. for a focused re-run.
const CHECKS_COUNT = 9;
const CHECKS_TESTS = CI_TESTS.slice(0, CHECKS_COUNT);
const testFiles = process.env.CATENA_MUTATION_TESTS
  ? process.env.CATENA_MUTATION_TESTS.split(',')
  : scope === 'full'
    ? FULL_TESTS
    : scope === 'checks'
      ? CHECKS_TESTS
      : CI_TESTS;
// CATENA_MUTATION_EXCLUDE (comma-separated mutator names, e.g. StringLiteral) skips those mutators.
// The `checks` scope leaves out StringLiteral mutants: on those lines they only change detail text.
const excludedMutations = process.env.CATENA_MUTATION_EXCLUDE
  ? process.env.CATENA_MUTATION_EXCLUDE.split(',')
  : scope === 'checks'
    ? ['StringLiteral']
    : [];

// The runner: `catena-inproc` (scripts/stryker/inproc-runner.mjs: the test files run inside long-lived
// workers, each test() one Stryker test) unless CATENA_MUTATION_RUNNER=tap (one node process per test
// file per mutant: slower, kept to cross-check a run).
const runner = process.env.CATENA_MUTATION_RUNNER || 'catena-inproc';
const files = (globs) => [...new Set(globs.flatMap(expand))];
// The modules under test, imported before the dry run's first test so their module-level code is
// static coverage (scripts/stryker/inproc-runner.mjs).
const preload = files(mutate.filter((m) => !m.startsWith('!')).map((m) => m.replace(/:\d+-\d+$/, ''))).filter(
  (f) => !/\/(index|types)\.ts$/.test(f),
);

export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  packageManager: 'npm',
  testRunner: runner,
  plugins: [
    '@stryker-mutator/tap-runner',
    './scripts/stryker/inproc-runner.mjs',
    './scripts/stryker/error-message-ignorer.mjs',
    './scripts/stryker/field-label-ignorer.mjs',
    './scripts/stryker/check-detail-ignorer.mjs',
  ],
  // An error's message text is not mutated (scripts/stryker/error-message-ignorer.mjs): tests assert codes.
  // So are the field names parsers give the byte cursor and `abytes` (scripts/stryker/field-label-ignorer.mjs),
  // and the verifier checks' detail text (scripts/stryker/check-detail-ignorer.mjs).
  ignorers: ['catena-error-message', 'catena-field-label', 'catena-check-detail'],
  testRunnerNodeArgs: ['--conditions=catena-src', '--import', 'tsx'],
  catenaInproc: {
    testFiles: files(testFiles),
    preload,
    // The chain tests build emulated chains in their setup (≈ 3–8 s), which verifies quotes: every
    // verifier mutant they do not kill would re-run that setup. They are the chain's tests, not the
    // verifier's: not run for mutants under src/attestation/ (fewer kills, never more).
    notFor: { 'test/unit/chain/': ['src/attestation/'], 'test/e2e/cot-api.test.ts': ['src/attestation/'] },
  },
  // A worker's memory grows with every fresh import of the test files: replace it now and then.
  maxTestRunnerReuse: runner === 'catena-inproc' ? 150 : 0,
  warnings: { unknownOptions: false },
  tap: {
    testFiles,
    nodeArgs: ['--conditions=catena-src', '--import', 'tsx', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  mutate,
  mutator: { excludedMutations },
  // Static mutants (module-level constants) would run every test file each; they are few here and
  // include the check → code table, so they are run, not ignored.
  ignoreStatic: false,
  concurrency: Number(process.env.CATENA_MUTATION_CONCURRENCY || 2),
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ['json', 'clear-text', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: 'reports/mutation/.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 85, break: null },
};
