// A StrykerJS test runner that runs the node:test files of the mutation set inside its own long-lived
// process (one per Stryker worker), instead of one new node process per test file per mutant as the tap
// runner does. Each test() is one Stryker test; code run by a file's top level and hooks (its "setup")
// counts for all its tests.
//
// How a run stays faithful to a fresh process:
// - The modules under test are loaded once per process; their module-level code runs before any test
//   (the dry run imports every mutated file first), so Stryker sees it as static coverage and runs those
//   mutants in a new worker (capabilities: no reload), where the mutant is active before the first import.
// - A file's setup (its top level, its test/ helpers and before hooks: hooks.mjs imports them anew with
//   `?catena-run=N`) is re-done under the mutant when the dry run saw the setup reach the mutant.
//   Otherwise the setup would run exactly as without the mutant, so the worker reuses the one it made
//   before (for most mutants the setup — emulated platforms, chains — costs far more than the tests).
// - Tests may change what they share, so a failure seen on a reused setup counts only if the same tests
//   pass on that setup without the mutant right after (a control run); if not, the setup is dropped and
//   the file is set up anew under the mutant, and that run decides.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commonTokens, declareClassPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import {
  determineHitLimitReached,
  DryRunStatus,
  TestStatus,
  toMutantRunResult,
} from '@stryker-mutator/api/test-runner';

const NS = '__stryker__';
const COLLECTION = Symbol.for('catena.mutation.collection');
// Written by the dry run (one worker), read by every worker: per test file, the mutants its setup
// reaches, what the setup cost and what each test cost (to run the cheapest files first).
const PROFILE = '.catena-inproc-profile.json';
// CATENA_MUTATION_TRACE=FILE appends a line per file run: mutant, file, kept/fresh, tests, ms.
const TRACE = process.env.CATENA_MUTATION_TRACE;
let runNumber = 0;

export class InprocTestRunner {
  static inject = tokens(commonTokens.options, commonTokens.logger);

  constructor(options, log) {
    this.log = log;
    this.testFiles = options.catenaInproc.testFiles;
    this.preload = options.catenaInproc.preload;
    /** [test file prefix, [mutated file prefixes it is not run for]] (stryker.config.mjs says why) */
    this.notFor = Object.entries(options.catenaInproc.notFor ?? {});
    this.loaded = false;
    this.failures = [];
    /** file → a setup made without a mutant reaching it, kept for the runs it cannot differ in */
    this.setups = new Map();
    /** file → { reaches: Set of mutant ids its setup reaches, setupMs, testMs: { id → ms } } (dry run) */
    this.profile = undefined;
  }

  capabilities() {
    return { reloadEnvironment: false };
  }

  async init() {
    register(new URL('./hooks.mjs', import.meta.url));
    globalThis[NS] ??= {};
    // A rejection nobody awaited belongs to the test that was running: it fails that test.
    process.on('unhandledRejection', (reason) => this.failures.push(reason));
    process.on('uncaughtException', (error) => this.failures.push(error));
  }

  async dryRun() {
    const ns = globalThis[NS];
    ns.mutantCoverage = { static: {}, perTest: {} };
    ns.currentTestId = undefined;
    if (!this.loaded) {
      for (const file of this.preload) await import(pathToFileURL(resolve(file)).href);
      this.loaded = true;
    }
    const tests = [];
    const profile = {};
    for (const file of this.testFiles) {
      const setup = await this.setUp(file, setupId(file));
      const results = await this.runTests(file, setup, { perTestCoverage: true });
      tests.push(...results);
      profile[file] = {
        reaches: Object.keys(ns.mutantCoverage.perTest[setupId(file)] ?? {}),
        setupMs: setup.setupMs,
        testMs: Object.fromEntries(results.map((t) => [t.id, t.timeSpentMs - setupShareOf(setup)])),
      };
      if (!setup.error) this.setups.set(file, setup);
    }
    writeFileSync(PROFILE, JSON.stringify(profile));
    // Coverage of a file's setup is every one of its tests' coverage.
    const perTest = {};
    for (const t of tests) {
      const file = t.fileName;
      perTest[t.id] = { ...ns.mutantCoverage.perTest[setupId(file)], ...ns.mutantCoverage.perTest[t.id] };
    }
    ns.currentTestId = undefined;
    return {
      status: DryRunStatus.Complete,
      tests,
      mutantCoverage: { static: ns.mutantCoverage.static, perTest },
    };
  }

  async mutantRun(options) {
    const ns = globalThis[NS];
    this.loaded = true; // a worker's first run may be a mutant's: no preload, the mutant must be active first
    this.profile ??= new Map(
      Object.entries(JSON.parse(readFileSync(PROFILE, 'utf8'))).map(([f, p]) => [
        f,
        { ...p, reaches: new Set(p.reaches) },
      ]),
    );
    const id = options.activeMutant.id;
    ns.activeMutant = id;
    ns.hitLimit = options.hitLimit;
    ns.hitCount = options.hitLimit === undefined ? undefined : 0;
    ns.mutantCoverage = { static: {}, perTest: {} };
    try {
      const wanted = options.testFilter ? new Set(options.testFilter) : undefined;
      const mutated = options.activeMutant.fileName.replaceAll('\\', '/');
      const excluded = (f) =>
        this.notFor.some(([tests, srcs]) => f.startsWith(tests) && srcs.some((s) => mutated.includes(`/${s}`)));
      const files = this.cheapestFirst(
        (wanted
          ? this.testFiles.filter((f) => options.testFilter.some((t) => t.startsWith(`${f} > `)))
          : this.testFiles
        ).filter((f) => !excluded(f)),
        id,
        wanted,
      );
      const bail = !options.disableBail;
      const tests = [];
      for (const file of files) {
        const results = await this.runFileUnder(file, id, { wanted, bail });
        tests.push(...results);
        if (bail && results.some((t) => t.status === TestStatus.Failed)) break;
      }
      const hit = determineHitLimitReached(ns.hitCount, ns.hitLimit);
      if (hit) return toMutantRunResult(hit);
      return toMutantRunResult({ status: DryRunStatus.Complete, tests });
    } finally {
      ns.activeMutant = undefined;
      ns.hitLimit = undefined;
      ns.hitCount = undefined;
      ns.currentTestId = undefined;
    }
  }

  /** The files in the order of what running them under mutant `id` should cost: the first kill ends a run. */
  cheapestFirst(files, id, wanted) {
    const cost = (file) => {
      const p = this.profile.get(file);
      if (!p) return Infinity;
      const setup = p.reaches.has(id) || !this.setups.has(file) ? p.setupMs : 0;
      const tests = Object.entries(p.testMs).reduce((sum, [t, ms]) => sum + (!wanted || wanted.has(t) ? ms : 0), 0);
      return setup + tests;
    };
    return files
      .map((file) => ({ file, cost: cost(file) }))
      .sort((a, b) => a.cost - b.cost)
      .map((f) => f.file);
  }

  /** Runs `file`'s wanted tests under mutant `id`, on a kept setup where the mutant cannot change it. */
  async runFileUnder(file, id, opts) {
    const reaches = this.profile.get(file)?.reaches.has(id) ?? true;
    const kept = reaches ? undefined : this.setups.get(file);
    const t0 = Date.now();
    const trace = (how, results) => {
      if (TRACE) {
        const failed = results.some((t) => t.status === TestStatus.Failed);
        const line = `${id}\t${file}\t${how}\t${results.length}\t${failed ? 'fail' : 'pass'}\t${Date.now() - t0}\n`;
        appendFileSync(TRACE, line);
      }
    };
    if (kept) {
      const results = await this.runTests(file, kept, opts);
      trace('kept', results);
      if (!results.some((t) => t.status === TestStatus.Failed)) return results;
      // A failure on a kept setup is a kill only if the same tests, on the same setup, pass without
      // the mutant right after; otherwise what earlier runs left there may be the cause: the setup is
      // dropped, and a fresh one decides.
      const ns = globalThis[NS];
      ns.activeMutant = undefined;
      const control = await this.runTests(file, kept, { wanted: new Set(results.map((t) => t.id)) });
      ns.activeMutant = id;
      trace('control', control);
      if (!control.some((t) => t.status === TestStatus.Failed)) return results;
      this.setups.delete(file);
    }
    const fresh = await this.setUp(file, undefined);
    const results = await this.runTests(file, fresh, opts);
    trace(reaches ? 'fresh' : 'fresh-after-kept', results);
    if (reaches || fresh.error) await runAll(fresh.after);
    else if (!results.some((t) => t.status === TestStatus.Failed)) this.setups.set(file, fresh);
    return results;
  }

  /** Imports `file` anew (with its test/ helpers) and runs its before hooks. */
  async setUp(file, coverageId) {
    const ns = globalThis[NS];
    const collected = { tests: [], before: [], after: [], prefix: [] };
    const started = Date.now();
    ns.currentTestId = coverageId;
    let error;
    globalThis[COLLECTION] = collected;
    try {
      await import(`${pathToFileURL(resolve(file)).href}?catena-run=${++runNumber}`);
    } catch (e) {
      error = e ?? new Error('import threw a nullish value');
    } finally {
      globalThis[COLLECTION] = undefined;
    }
    this.failures = [];
    if (!error) error = await runAll(collected.before);
    return { ...collected, error, setupMs: Date.now() - started };
  }

  /** Runs the set-up file's tests (those in `wanted`, if given) in order. */
  async runTests(file, setup, { wanted, bail = false, perTestCoverage = false }) {
    const ns = globalThis[NS];
    const results = [];
    const setupShare = setupShareOf(setup);
    for (const t of setup.tests) {
      const id = `${file} > ${t.name}`;
      if (wanted && !wanted.has(id)) continue;
      const base = { id, name: id, fileName: file };
      if (t.skip) {
        results.push({ ...base, status: TestStatus.Skipped, timeSpentMs: 0 });
        continue;
      }
      ns.currentTestId = perTestCoverage ? id : undefined;
      this.failures = [];
      const t0 = Date.now();
      const failure = setup.error ?? (await runOne(t)) ?? this.failures.shift();
      // The mutant's timeout is derived from these times (Stryker sums them over the tests that cover
      // the mutant): a run may also set the file up, once, so each test carries an equal share of the
      // setup. Charging every test the whole setup made a mutant covered by all 158 tests of a file with
      // a 0.5 s setup wait 80 s longer before timing out, and one covered by a chain file's 21 tests
      // (8 s setup) over 6 minutes.
      const timeSpentMs = Date.now() - t0 + setupShare;
      results.push(
        failure === undefined
          ? { ...base, status: TestStatus.Success, timeSpentMs }
          : { ...base, status: TestStatus.Failed, timeSpentMs, failureMessage: describe(failure) },
      );
      if (failure !== undefined && bail) break;
    }
    // An import that throws before any test() is registered leaves no test to fail: the mutant broke the
    // file's setup, which is a kill (as the tap runner, which sees the file fail, counts it).
    if (setup.error && setup.tests.length === 0) {
      const own = wanted ? [...wanted].filter((w) => w.startsWith(`${file} > `)) : [];
      for (const id of own.length ? own : [setupId(file)])
        results.push({
          id,
          name: id,
          fileName: file,
          status: TestStatus.Failed,
          timeSpentMs: setup.setupMs,
          failureMessage: describe(setup.error),
        });
    }
    ns.currentTestId = undefined;
    return results;
  }
}

const setupId = (file) => `${file} (setup)`;
/** Each test's share of its file's setup time (see runTests). */
const setupShareOf = (setup) => setup.setupMs / Math.max(1, setup.tests.length);

async function runOne(t) {
  let timer;
  try {
    const run = Promise.resolve(t.fn({ name: t.name, diagnostic() {} }));
    if (t.timeout === undefined || t.timeout === Infinity) await run;
    else
      await Promise.race([
        run,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`test timed out after ${t.timeout} ms`)), t.timeout);
        }),
      ]);
    return undefined;
  } catch (e) {
    return e ?? new Error('test threw a nullish value');
  } finally {
    clearTimeout(timer);
  }
}

async function runAll(fns) {
  for (const fn of fns) {
    try {
      await fn();
    } catch (e) {
      return e ?? new Error('hook threw a nullish value');
    }
  }
  return undefined;
}

function describe(e) {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'catena-inproc', InprocTestRunner)];
