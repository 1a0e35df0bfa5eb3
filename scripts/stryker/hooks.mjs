// Module hooks of the in-process mutation runner (registered with module.register):
// - `node:test` resolves to the collecting shim;
// - a test file imported fresh for a run (`?catena-run=N`) passes that query on to the test-side modules
//   it imports (test/…), so helpers' module state is fresh in every run as in a new process; the modules
//   under test (src/…) stay loaded once, their module-level code being Stryker's "static" part.
const SHIM = new URL('./node-test-shim.mjs', import.meta.url).href;
const RUN = /[?&]catena-run=(\d+)/;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'node:test' || specifier === 'test') return { url: SHIM, shortCircuit: true };
  const result = await nextResolve(specifier, context);
  const run = context.parentURL && RUN.exec(context.parentURL);
  if (run && isTestSide(result.url)) return { ...result, url: `${result.url}?catena-run=${run[1]}` };
  return result;
}

function isTestSide(url) {
  return url.startsWith('file:') && !url.includes('/node_modules/') && /\/test\/[^?]*$/.test(url);
}
