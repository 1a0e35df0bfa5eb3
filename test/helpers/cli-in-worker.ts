import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../../src/sgx/runtime/worker-exec-argv.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * The CLI in a worker thread of this process (src through tsx, no spawn per call): `run(args)`
 * resolves to the exit code main() returned and what the command printed. The worker shares this
 * process's current directory; its environment is a copy of process.env taken at start.
 */
export async function startCli(): Promise<{ run: (...args: string[]) => Promise<CliRun>; close: () => Promise<void> }> {
  const worker = new Worker(new URL('./cli-worker.mjs', import.meta.url), {
    env: { ...process.env },
    execArgv: workerExecArgv(),
  });
  const waiting = new Map<number, (r: CliRun) => void>();
  let next = 1;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { ready?: boolean; id?: number } & CliRun) => {
      if (m.ready) return resolve();
      waiting.get(m.id!)?.(m);
      waiting.delete(m.id!);
    });
  });
  return {
    run: (...args) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        worker.postMessage({ id, args });
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}
