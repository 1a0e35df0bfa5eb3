import type { EnclaveIdentity } from './cpu.ts';
import { sealData, unsealData, type SealPolicy } from './seal.ts';

/**
 * What enclave code sees, and what the host holds.
 *
 * An enclave module is an ES module whose default export is a factory, called once per loaded
 * enclave with that enclave's EnclaveContext; it returns (or resolves to) the table of ECALLs:
 *
 *     export default function enclave(ctx) {
 *       let secret;                                   // per-enclave state lives in the closure
 *       return {
 *         async hello(name) { return `hello ${name}`; },
 *         async report(targetInfo, data) { return ctx.ereport(targetInfo, data); },
 *       };
 *     }
 *
 * ECALL arguments and results cross the isolated runtime's boundary by structured clone
 * (Uint8Array, bigint, plain objects: yes; functions, class instances: no). The inline runtime
 * passes them by reference. Only the module text is measured: whatever it imports (node builtins,
 * `catena/...`, npm packages) is outside MRENCLAVE — as in OpenSGX and the SDK's simulation mode,
 * emulation gives no confidentiality or integrity against the host.
 */
export interface EnclaveContext {
  /** The identity the CPU fixed at EINIT (public values; the CPU does not take them from here). */
  readonly identity: EnclaveIdentity;
  /** The platform's CPUSVN at load time (what REPORTs carry; sealing binds it). */
  readonly cpuSvn: Uint8Array;
  readonly runtime: RuntimeKind;
  /** TARGETINFO naming this enclave (512 bytes), for peers to EREPORT to. */
  selfTargetInfo(): Uint8Array;
  /** EREPORT: a 432-byte REPORT of this enclave, MACed under the target's REPORT key. */
  ereport(targetInfo: Uint8Array, reportData: Uint8Array): Promise<Uint8Array>;
  /** EGETKEY: a 16-byte key for this enclave. */
  egetkey(keyRequest: Uint8Array): Promise<Uint8Array>;
  /** Seals to this enclave ('mrenclave') or to its signer ('mrsigner'); blob format in seal.ts. */
  seal(plaintext: Uint8Array, policy: SealPolicy, aad?: Uint8Array): Promise<Uint8Array>;
  unseal(blob: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  /** Calls a host function registered at load (`loadEnclave(image, { ocalls })`). */
  ocall(name: string, ...args: unknown[]): Promise<unknown>;
}

export type RuntimeKind = 'isolated' | 'inline';
export type EcallTable = Record<string, (...args: never[]) => unknown>;
export type EnclaveFactory = (ctx: EnclaveContext) => EcallTable | Promise<EcallTable>;
export type OcallTable = Record<string, (...args: never[]) => unknown>;

/** The host's handle on a loaded enclave. */
export interface EnclaveHandle {
  readonly identity: EnclaveIdentity;
  readonly platformId: string;
  readonly runtime: RuntimeKind;
  /** TARGETINFO of this enclave (512 bytes). */
  targetInfo(): Uint8Array;
  ecall(name: string, ...args: unknown[]): Promise<unknown>;
  /** Tears the enclave down (terminates its worker; the CPU forgets its SECS). Idempotent. */
  destroy(): Promise<void>;
}

/** The three SGX services a context forwards: to the CPU directly (inline) or as messages (isolated). */
export interface ContextPorts {
  ereport(targetInfo: Uint8Array, reportData: Uint8Array): Promise<Uint8Array>;
  egetkey(keyRequest: Uint8Array): Promise<Uint8Array>;
  ocall(name: string, args: unknown[]): Promise<unknown>;
}

/** Builds the EnclaveContext both runtimes hand to the enclave factory. */
export function makeContext(
  ports: ContextPorts,
  identity: EnclaveIdentity,
  cpuSvn: Uint8Array,
  targetInfo: Uint8Array,
  runtime: RuntimeKind,
): EnclaveContext {
  const egetkey = (keyRequest: Uint8Array) => ports.egetkey(keyRequest);
  const sealing = { egetkey, isvSvn: identity.isvSvn, cpuSvn };
  return Object.freeze({
    identity,
    cpuSvn,
    runtime,
    selfTargetInfo: () => targetInfo.slice(),
    ereport: (target: Uint8Array, reportData: Uint8Array) => ports.ereport(target, reportData),
    egetkey,
    seal: (plaintext: Uint8Array, policy: SealPolicy, aad?: Uint8Array) => sealData(sealing, plaintext, policy, aad),
    unseal: (blob: Uint8Array, aad?: Uint8Array) => unsealData(sealing, blob, aad),
    ocall: (name: string, ...args: unknown[]) => ports.ocall(name, args),
  });
}

/** ECALL names never resolved from the table (so `constructor`, `__proto__`, `toString` … are unknown ECALLs). */
export function ecallOf(table: EcallTable, name: string): ((...args: unknown[]) => unknown) | undefined {
  if (typeof name !== 'string' || name in Object.prototype) return undefined;
  const fn = table[name];
  // The caller passes whatever arguments crossed the enclave boundary.
  return typeof fn === 'function' ? (fn as (...args: unknown[]) => unknown) : undefined;
}
