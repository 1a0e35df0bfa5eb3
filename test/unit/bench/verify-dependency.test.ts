import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BenchError } from '../../../src/bench/errors.ts';
import { loadQvl } from '../../../src/bench/verify.ts';

test('bench verify without @phala/dcap-qvl installed: ERR_BENCH_DEPENDENCY naming the package', () => {
  const absent = (id: string): never => {
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  };
  assert.throws(
    () => loadQvl(absent),
    (e: unknown) =>
      e instanceof BenchError && e.code === 'ERR_BENCH_DEPENDENCY' && e.message.includes('@phala/dcap-qvl'),
  );
});

test('bench verify with the devDependency present: the peer loads and has verify()', () => {
  assert.equal(typeof loadQvl().verify, 'function');
});
