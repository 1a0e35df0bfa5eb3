import { parentPort, workerData } from 'node:worker_threads';
import { ecallOf, makeContext, type EcallTable, type EnclaveFactory } from '../enclave.ts';
import { SgxError } from '../errors.ts';
import { fromWire, toWire, type HostMessage, type WorkerInit, type WorkerMessage, type WorkerRequest } from './wire.ts';

/**
 * Inside an isolated enclave's worker: loads the measured module, then serves ECALLs. EREPORT,
 * EGETKEY and OCALLs become requests to the host; they name no enclave — the host knows which
 * enclave this worker is.
 */
const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => port.postMessage(m);

let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
function ask(m: WorkerRequest): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    post({ ...m, id });
  });
}

const ctx = makeContext(
  {
    ereport: (targetInfo, reportData) => ask({ t: 'ereport', targetInfo, reportData }) as Promise<Uint8Array>,
    egetkey: (keyRequest) => ask({ t: 'egetkey', keyRequest }) as Promise<Uint8Array>,
    ocall: (name, args) => ask({ t: 'ocall', name, args }),
  },
  init.identity,
  init.cpuSvn,
  init.targetInfo,
  'isolated',
);

let table: EcallTable | undefined;

port.on('message', (m: HostMessage) => {
  if (m.t === 'reply') {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(fromWire(m.error));
    return;
  }
  if (m.t === 'ecall') {
    void (async () => {
      try {
        const fn = table ? ecallOf(table, m.name) : undefined;
        if (!fn) throw new SgxError('ERR_ECALL_UNKNOWN', `enclave exports no ECALL named ${m.name}`);
        const value = await fn.apply(table, m.args);
        post({ t: 'ecall-result', id: m.id, ok: true, value });
      } catch (e) {
        post({ t: 'ecall-result', id: m.id, ok: false, error: toWire(e) });
      }
    })();
  }
});

try {
  const mod = (await import(init.moduleUrl)) as { default?: unknown };
  if (typeof mod.default !== 'function')
    throw new SgxError('ERR_ENCLAVE_MODULE', 'enclave module has no default export factory');
  const t = await (mod.default as EnclaveFactory)(ctx);
  if (typeof t !== 'object' || t === null)
    throw new SgxError('ERR_ENCLAVE_MODULE', 'enclave factory did not return an ECALL table');
  table = t;
  post({ t: 'ready' });
} catch (e) {
  const w = toWire(e);
  post({
    t: 'init-error',
    error:
      w.code === 'ERR_ENCLAVE_MODULE'
        ? w
        : { ...w, code: 'ERR_ENCLAVE_MODULE', message: `enclave module failed to load: ${w.message}` },
  });
}
