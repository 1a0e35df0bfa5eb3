import { CatenaError } from '../../errors.ts';
import { EnclaveCallError } from '../errors.ts';

/** An error as it crosses the host ↔ worker boundary: only its code, message and class name. */
export interface WireError {
  code: string;
  message: string;
  name: string;
}

export function toWire(e: unknown): WireError {
  if (e instanceof CatenaError) return { code: e.code, message: e.message, name: e.name };
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERR_ECALL_FAILED', message: e.message, name: e.name };
  }
  return { code: 'ERR_ECALL_FAILED', message: String(e), name: 'Error' };
}

export function fromWire(w: WireError): EnclaveCallError {
  return new EnclaveCallError(w.code, w.message, w.name);
}

/** Messages from the host to the worker. */
export type HostMessage =
  | { t: 'ecall'; id: number; name: string; args: unknown[] }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: WireError };

/**
 * Messages from the worker to the host. None carries an enclave identity: the host side binds
 * every message of a worker to the EnclaveRef it started that worker for.
 */
export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'init-error'; error: WireError }
  | { t: 'ecall-result'; id: number; ok: true; value: unknown }
  | { t: 'ecall-result'; id: number; ok: false; error: WireError }
  | (WorkerRequest & { id: number });

/** The requests an enclave's worker makes of the host: the SGX instructions the CPU answers, and OCALLs. */
export type WorkerRequest =
  | { t: 'ereport'; targetInfo: Uint8Array; reportData: Uint8Array }
  | { t: 'egetkey'; keyRequest: Uint8Array }
  | { t: 'ocall'; name: string; args: unknown[] };

/** What the worker is started with (public values only). */
export interface WorkerInit {
  moduleUrl: string;
  identity: import('../cpu.ts').EnclaveIdentity;
  cpuSvn: Uint8Array;
  targetInfo: Uint8Array;
}
