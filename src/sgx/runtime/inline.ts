import type { Cpu, EnclaveIdentity, EnclaveRef } from '../cpu.ts';
import {
  ecallOf,
  makeContext,
  type EcallTable,
  type EnclaveFactory,
  type EnclaveHandle,
  type OcallTable,
} from '../enclave.ts';
import { SgxError } from '../errors.ts';

/**
 * The inline runtime: the enclave's module runs on the host's thread and its context calls the
 * CPU directly with the enclave's EnclaveRef. No worker, no message, no copy — for chains of
 * very many enclaves and for benchmarks. Node caches a module per URL, so all inline enclaves of
 * one image share the module instance; per-enclave state belongs in the factory's closure.
 */
// Node would return the same module instance for a URL anyway; caching the namespace skips the
// loader hooks (tsx), which cost ~0.4 ms per dynamic import() even for a loaded module.
const modules = new Map<string, Promise<{ default?: unknown }>>();
function importOnce(url: string): Promise<{ default?: unknown }> {
  let m = modules.get(url);
  if (!m) {
    m = import(url) as Promise<{ default?: unknown }>;
    m.catch(() => modules.delete(url));
    modules.set(url, m);
  }
  return m;
}

export async function startInline(
  cpu: Cpu,
  ref: EnclaveRef,
  identity: EnclaveIdentity,
  moduleUrl: string,
  platformId: string,
  ocalls: OcallTable,
  onDestroy: () => void,
): Promise<EnclaveHandle> {
  const targetInfo = cpu.targetInfoOf(ref);
  let alive = true;
  const ctx = makeContext(
    {
      ereport: async (ti, rd) => cpu.ereport(ref, ti, rd),
      egetkey: async (kr) => cpu.egetkey(ref, kr),
      ocall: async (name, args) => {
        const fn = ecallOf(ocalls, name);
        if (!fn) throw new SgxError('ERR_OCALL_UNKNOWN', `no OCALL named ${name}`);
        return fn(...args);
      },
    },
    identity,
    cpu.cpuSvn,
    targetInfo,
    'inline',
  );
  let table: EcallTable;
  try {
    const mod = await importOnce(moduleUrl);
    if (typeof mod.default !== 'function')
      throw new SgxError('ERR_ENCLAVE_MODULE', 'enclave module has no default export factory');
    table = await (mod.default as EnclaveFactory)(ctx);
    if (typeof table !== 'object' || table === null)
      throw new SgxError('ERR_ENCLAVE_MODULE', 'enclave factory did not return an ECALL table');
  } catch (e) {
    if (e instanceof SgxError) throw e;
    throw new SgxError('ERR_ENCLAVE_MODULE', `enclave module failed to load: ${(e as Error).message}`);
  }
  return {
    identity,
    platformId,
    runtime: 'inline',
    targetInfo: () => targetInfo.slice(),
    async ecall(name: string, ...args: unknown[]) {
      if (!alive) throw new SgxError('ERR_ENCLAVE_DESTROYED', 'enclave destroyed');
      const fn = ecallOf(table, name);
      if (!fn) throw new SgxError('ERR_ECALL_UNKNOWN', `enclave exports no ECALL named ${name}`);
      return fn.apply(table, args);
    },
    async destroy() {
      if (!alive) return;
      alive = false;
      onDestroy();
    },
  };
}
