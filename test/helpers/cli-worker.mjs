// Runs `catena` (main() from src) on request, in a worker thread: its process.stdout/stderr are its
// own, so capturing them does not capture the test runner's reports, which go to the main thread's.
import { parentPort } from 'node:worker_threads';

// Loader hooks of the main thread do not reach a worker on Node 20: register tsx here (the parent
// strips its `--import tsx`, as src/sgx/runtime/worker-exec-argv.ts does for enclave workers).
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../../src/cli/main.ts');

parentPort.on('message', async ({ id, args }) => {
  let out = '';
  let err = '';
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  process.stdout.write = (s) => ((out += String(s)), true);
  process.stderr.write = (s) => ((err += String(s)), true);
  let code;
  try {
    code = await main(['node', 'catena', ...args]);
  } catch (e) {
    code = -1;
    err += String(e?.stack ?? e);
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
  parentPort.postMessage({ id, code, out, err });
});
parentPort.postMessage({ ready: true });
