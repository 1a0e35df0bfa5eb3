import { Worker } from 'node:worker_threads';
import type { Cpu, EnclaveIdentity, EnclaveRef } from '../cpu.ts';
import { ecallOf, type EnclaveHandle, type OcallTable } from '../enclave.ts';
import { SgxError } from '../errors.ts';
import { workerExecArgv } from './worker-exec-argv.ts';
import { fromWire, toWire, type HostMessage, type WorkerInit, type WorkerMessage } from './wire.ts';

const BOOTSTRAP = new URL('./worker-bootstrap.js', import.meta.url);

/**
 * How long a new enclave worker may take to load its module and say it is ready. A launch that
 * stalls (a module that never finishes loading, a loader deadlock) becomes ERR_ENCLAVE_MODULE and
 * its worker is terminated, instead of a launch that never returns.
 */
export const LAUNCH_TIMEOUT_MS = Number(process.env.CATENA_ENCLAVE_LAUNCH_TIMEOUT_MS ?? 60_000);

/**
 * The isolated runtime: one worker_thread per enclave. The host ↔ enclave boundary is messages
 * only — ECALLs in, OCALLs and EREPORT/EGETKEY requests out. This side answers EREPORT/EGETKEY
 * with the CPU using the EnclaveRef it started the worker for; nothing in a message can name
 * another enclave. The worker is unref'd while no call is in flight, so a forgotten enclave does
 * not keep the process alive.
 */
export async function startIsolated(
  cpu: Cpu,
  ref: EnclaveRef,
  identity: EnclaveIdentity,
  moduleUrl: string,
  platformId: string,
  ocalls: OcallTable,
  onDestroy: () => void,
  launchTimeoutMs: number = LAUNCH_TIMEOUT_MS,
): Promise<EnclaveHandle> {
  const targetInfo = cpu.targetInfoOf(ref);
  const init: WorkerInit = { moduleUrl, identity, cpuSvn: cpu.cpuSvn, targetInfo };
  // The bootstrap registers tsx itself; drop an inherited `--import tsx` so it is not registered twice.
  const execArgv = workerExecArgv();
  const worker = new Worker(BOOTSTRAP, { workerData: init, execArgv });
  let alive = true;
  let nextId = 1;
  const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const send = (m: HostMessage) => worker.postMessage(m);
  const refresh = () => (calls.size > 0 ? worker.ref() : worker.unref());

  const reply = async (id: number, work: () => unknown) => {
    try {
      const value = await work();
      if (alive) send({ t: 'reply', id, ok: true, value });
    } catch (e) {
      if (alive) send({ t: 'reply', id, ok: false, error: toWire(e) });
    }
  };

  const failAll = (err: SgxError) => {
    for (const c of calls.values()) c.reject(err);
    calls.clear();
  };

  await new Promise<void>((resolve, reject) => {
    const stalled = setTimeout(
      () => reject(new SgxError('ERR_ENCLAVE_MODULE', `enclave worker was not ready within ${launchTimeoutMs} ms`)),
      launchTimeoutMs,
    );
    const settle =
      <A extends unknown[]>(f: (...a: A) => void) =>
      (...a: A) => {
        clearTimeout(stalled);
        f(...a);
      };
    resolve = settle(resolve);
    reject = settle(reject);
    const onInitExit = (code: number) =>
      reject(new SgxError('ERR_ENCLAVE_MODULE', `enclave worker exited (code ${code}) before it was ready`));
    const onInitError = (e: Error) => reject(new SgxError('ERR_ENCLAVE_MODULE', `enclave worker failed: ${e.message}`));
    worker.once('exit', onInitExit);
    worker.once('error', onInitError);
    worker.on('message', (m: WorkerMessage) => {
      switch (m.t) {
        case 'ready':
          worker.off('exit', onInitExit);
          worker.off('error', onInitError);
          resolve();
          return;
        case 'init-error':
          worker.off('exit', onInitExit);
          reject(new SgxError(m.error.code, m.error.message));
          return;
        case 'ecall-result': {
          const c = calls.get(m.id);
          if (!c) return;
          calls.delete(m.id);
          refresh();
          if (m.ok) c.resolve(m.value);
          else c.reject(fromWire(m.error));
          return;
        }
        case 'ereport':
          void reply(m.id, () => cpu.ereport(ref, m.targetInfo, m.reportData));
          return;
        case 'egetkey':
          void reply(m.id, () => cpu.egetkey(ref, m.keyRequest));
          return;
        case 'ocall':
          void reply(m.id, () => {
            const fn = ecallOf(ocalls, m.name);
            if (!fn) throw new SgxError('ERR_OCALL_UNKNOWN', `no OCALL named ${m.name}`);
            return fn(...m.args);
          });
          return;
      }
    });
  }).catch(async (e) => {
    alive = false;
    await worker.terminate();
    throw e;
  });

  worker.unref();
  worker.on('exit', (code) => {
    if (!alive) return;
    alive = false;
    failAll(new SgxError('ERR_ENCLAVE_CRASHED', `enclave worker exited (code ${code})`));
    onDestroy();
  });
  worker.on('error', () => {
    /* reported through 'exit' */
  });

  return {
    identity,
    platformId,
    runtime: 'isolated',
    targetInfo: () => targetInfo.slice(),
    ecall(name: string, ...args: unknown[]) {
      if (!alive) return Promise.reject(new SgxError('ERR_ENCLAVE_DESTROYED', 'enclave destroyed'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        calls.set(id, { resolve, reject });
        refresh();
        try {
          send({ t: 'ecall', id, name, args });
        } catch (e) {
          calls.delete(id);
          refresh();
          reject(
            new SgxError('ERR_ARGUMENT', `ECALL arguments cannot cross the enclave boundary: ${(e as Error).message}`),
          );
        }
      });
    },
    async destroy() {
      if (!alive) return;
      alive = false;
      failAll(new SgxError('ERR_ENCLAVE_DESTROYED', 'enclave destroyed'));
      onDestroy();
      await worker.terminate();
    },
  };
}
