// Stands in for `node:test` inside the in-process mutation runner (scripts/stryker/inproc-runner.mjs):
// collects a test file's tests and hooks, as it is imported, into the collection the runner set up, so
// the runner can run them under each mutant without a new process. Only what the mutation test set uses
// is supported; anything else throws at collection, which fails the dry run loudly.
const KEY = Symbol.for('catena.mutation.collection');

function collection(what) {
  const c = globalThis[KEY];
  if (!c) throw new Error(`node:test shim: ${what} called outside a collecting import`);
  return c;
}

function parse(name, options, fn) {
  if (typeof options === 'function') [options, fn] = [{}, options];
  if (typeof name === 'function') [name, options, fn] = [name.name, {}, name];
  if (typeof fn !== 'function') throw new Error(`node:test shim: test "${name}" has no function`);
  const unsupported = Object.keys(options ?? {}).filter((k) => k !== 'skip' && k !== 'timeout');
  if (unsupported.length) throw new Error(`node:test shim: option ${unsupported.join(', ')} unsupported`);
  return { name: String(name), skip: Boolean(options?.skip), timeout: options?.timeout, fn };
}

export function test(name, options, fn) {
  const c = collection('test');
  if (c.prefix.length) throw new Error('node:test shim: nested tests are unsupported');
  c.tests.push(parse(name, options, fn));
  return Promise.resolve();
}
export const it = test;

export function before(fn) {
  collection('before').before.push(fn);
}
export function after(fn) {
  collection('after').after.push(fn);
}
export function describe() {
  throw new Error('node:test shim: describe is unsupported (add it to scripts/stryker/node-test-shim.mjs)');
}
export const suite = describe;
export function beforeEach() {
  throw new Error('node:test shim: beforeEach is unsupported');
}
export const afterEach = beforeEach;
export default test;
