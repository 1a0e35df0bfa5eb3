import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleState, sourceFiles } from '../../helpers/import-graph.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Module-level state that remains, each with why it is not a cache an owner should hold. src/server and
 * src/cli are restructured on another branch (issue 12) and are not scanned here.
 */
const ALLOWED: Record<string, string> = {
  'src/sgx/runtime/worker-main.ts: let nextId':
    'the isolated enclave worker itself: one module instance per worker thread',
  'src/sgx/runtime/worker-main.ts: waiting = new Map': 'the isolated enclave worker itself: its pending OCALLs',
  'src/sgx/runtime/worker-main.ts: let table': 'the isolated enclave worker itself: its ECALL table',
  'src/cot/signature-lane-worker.ts: keys = new Lru':
    "the signature lane's worker itself (one module instance per worker thread, one lane per chain): parents' keys, at most 4,096",
  'src/sgx/runtime/inline.ts: modules = new Map':
    "mirrors Node's ESM registry, which is process-wide and never unloads a module",
  'src/store/sqlite-driver.ts: queues = new Map':
    'one write queue per database file for every driver of the process (correctness, not a cache); entries go with their last user',
  'src/channel/attested-http.ts: peers = new WeakMap':
    'a verdict per live TLS socket, held weakly by the socket (its certificate cannot change)',
  'src/chain/verify-bundle.ts: collateralIds = new WeakMap':
    "collateralId's hash per collateral object, held weakly by the object and re-checked when a field changes; its callers are mostly in src/server",
  'src/cot/dcap-remote-verifier.ts: verifiers = new Map':
    'dcapRemoteVerifier(root): the warm verifier per root shared by element enclaves of one module instance and by src/server and src/cli (createDcapRemoteVerifier is the owned form); at most 17 roots',
  'src/cot/dcap-remote-verifier.ts: let lastShared':
    'the last root asked of dcapRemoteVerifier (a memcmp instead of a hex key per admission)',
  'src/cot/dcap-remote-verifier.ts: contextsOf = new WeakMap':
    "a verifier's QE-context hit counter for tests and benchmarks, held weakly by the verifier",
};

const found = sourceFiles(`${repo}src`)
  .map((abs) => relative(repo, abs))
  .filter((f) => !f.startsWith('src/server/') && !f.startsWith('src/cli/'))
  .flatMap((f) => moduleState(f, readFileSync(`${repo}${f}`, 'utf8')));

test('no module-level cache outside src/server and src/cli, except the listed ones (each with its reason)', () => {
  const unexpected = found.filter((s) => !(s in ALLOWED));
  assert.deepEqual(
    unexpected,
    [],
    `module-level state: make it an object owned by whoever creates it (an Lru from src/bytes/lru.ts), passed in:\n${unexpected.join('\n')}`,
  );
  const stale = Object.keys(ALLOWED).filter((k) => !found.includes(k));
  assert.deepEqual(stale, [], 'allow-listed state that is gone: remove it from ALLOWED');
});

test('the scanner finds top-level lets and mutable collections, and leaves constant tables and locals alone', () => {
  const src = [
    'let a = 1;',
    'const b = new Map<string, number>();',
    'export const c = new WeakMap();',
    'const d: ReadonlyMap<string, number> = new Map();',
    'const e = Object.freeze({});',
    'function f() { const g = new Map(); let h = 0; return [g, h]; }',
    'const i = new Lru(4);',
  ].join('\n');
  assert.deepEqual(moduleState('x.ts', src), [
    'x.ts: let a',
    'x.ts: b = new Map',
    'x.ts: c = new WeakMap',
    'x.ts: i = new Lru',
  ]);
});
