// A StrykerJS test runner that runs the node:test files of the mutation set inside its own long-lived
// process (one per Stryker worker), instead of one new node process per test file per mutant as the tap
// runner does: a mutant costs the tests that cover it, not ~1 s of start-up and TypeScript loading per file.
//
// How a run stays faithful to a fresh process:
// - every run imports each test file anew (`?catena-run=N`, and its test/ helpers with it: hooks.mjs), so
//   the file's top-level code and its before/after hooks run under the active mutant;
// - the modules under test are loaded once per process; their module-level code runs before any test
//   (the dry run imports every mutated file first), so Stryker sees it as static coverage and runs those
//   mutants in a new worker (capabilities: no reload), where the mutant is active before the first import.
// Each test() is one Stryker test; code run by a file's top level and hooks counts for all its tests.
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
let runNumber = 0;

export class InprocTestRunner {
  static inject = tokens(commonTokens.options, commonTokens.logger);

  constructor(options, log) {
    this.log = log;
    this.testFiles = options.catenaInproc.testFiles;
    this.preload = options.catenaInproc.preload;
    this.loaded = false;
    this.failures = [];
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
    for (const file of this.testFiles) tests.push(...(await this.runFile(file, { dryRun: true })));
    // Coverage of a file's top level and hooks is every one of its tests' coverage.
    const perTest = {};
    for (const t of tests) {
      perTest[t.id] = { ...ns.mutantCoverage.perTest[t.fileSetup], ...ns.mutantCoverage.perTest[t.id] };
      delete t.fileSetup;
    }
    const result = {
      status: DryRunStatus.Complete,
      tests,
      mutantCoverage: { static: ns.mutantCoverage.static, perTest },
    };
    ns.currentTestId = undefined;
    return result;
  }

  async mutantRun(options) {
    const ns = globalThis[NS];
    this.loaded = true; // a worker's first run may be a mutant's: no preload, the mutant must be active first
    ns.activeMutant = options.activeMutant.id;
    ns.hitLimit = options.hitLimit;
    ns.hitCount = options.hitLimit === undefined ? undefined : 0;
    ns.mutantCoverage = { static: {}, perTest: {} };
    try {
      const wanted = options.testFilter ? new Set(options.testFilter) : undefined;
      const files = wanted
        ? this.testFiles.filter((f) => options.testFilter.some((id) => id.startsWith(`${f} > `)))
        : this.testFiles;
      const tests = [];
      for (const file of files) {
        const results = await this.runFile(file, { wanted, bail: !options.disableBail });
        tests.push(...results);
        if (!options.disableBail && results.some((t) => t.status === TestStatus.Failed)) break;
      }
      const hit = determineHitLimitReached(ns.hitCount, ns.hitLimit);
      if (hit) return toMutantRunResult(hit);
      for (const t of tests) delete t.fileSetup;
      return toMutantRunResult({ status: DryRunStatus.Complete, tests });
    } finally {
      ns.activeMutant = undefined;
      ns.hitLimit = undefined;
      ns.hitCount = undefined;
      ns.currentTestId = undefined;
    }
  }

  /** Imports `file` anew and runs its tests (those in `wanted`, if given) between its hooks. */
  async runFile(file, { dryRun = false, wanted, bail = false }) {
    const ns = globalThis[NS];
    const setupId = `${file} (top level and hooks)`;
    const collected = { tests: [], before: [], after: [], prefix: [] };
    const started = Date.now();
    ns.currentTestId = setupId;
    this.failures = [];
    let setupError;
    globalThis[COLLECTION] = collected;
    try {
      await import(`${pathToFileURL(resolve(file)).href}?catena-run=${++runNumber}`);
    } catch (e) {
      setupError = e;
    } finally {
      globalThis[COLLECTION] = undefined;
    }
    if (!setupError) setupError = await runAll(collected.before);
    const setupMs = Date.now() - started;
    const results = [];
    for (const t of collected.tests) {
      const id = `${file} > ${t.name}`;
      if (wanted && !wanted.has(id)) continue;
      const base = { id, name: id, fileName: file, fileSetup: setupId };
      if (t.skip) {
        results.push({ ...base, status: TestStatus.Skipped, timeSpentMs: 0 });
        continue;
      }
      ns.currentTestId = dryRun ? id : setupId;
      const t0 = Date.now();
      const error = setupError ?? (await runOne(t));
      const late = this.failures.shift();
      const failure = error ?? late;
      // The mutant's timeout is derived from these times: a run also imports the file and runs its hooks.
      const timeSpentMs = Date.now() - t0 + setupMs;
      results.push(
        failure === undefined
          ? { ...base, status: TestStatus.Success, timeSpentMs }
          : { ...base, status: TestStatus.Failed, timeSpentMs, failureMessage: describe(failure) },
      );
      if (failure !== undefined && bail) break;
    }
    ns.currentTestId = setupId;
    await runAll(collected.after);
    return results;
  }
}

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
