import { randomBytes } from 'node:crypto';
import { Cpu, type EnclaveRef } from '../../../src/sgx/cpu.ts';
import { serializeKeyRequest, KEY_NAME, type KeyRequest } from '../../../src/formats/keyrequest.ts';

/** Test helpers for driving the emulated CPU directly (no SIGSTRUCT needed: EINIT's inputs are given). */
export function newCpu(secrets?: Uint8Array, cpuSvn: Uint8Array = new Uint8Array(16).fill(2)): Cpu {
  return new Cpu((secrets ?? new Uint8Array(randomBytes(64))).slice(), cpuSvn);
}

export interface FakeEnclave {
  mrEnclave?: Uint8Array;
  mrSigner?: Uint8Array;
  isvProdId?: number;
  isvSvn?: number;
  flags?: bigint;
}

export const MODE64 = 0x4n;
export const DEBUG = 0x2n;
export const PROVISIONKEY = 0x10n;

/** EINIT of an enclave whose SIGSTRUCT (taken as verified) matches the request exactly. */
export function einit(cpu: Cpu, e: FakeEnclave = {}, allowProvision = false): EnclaveRef {
  const mrEnclave = e.mrEnclave ?? new Uint8Array(randomBytes(32));
  const attributes = { flags: e.flags ?? MODE64, xfrm: 3n };
  return cpu.einit(
    {
      mrEnclave,
      attributes,
      miscSelect: 0,
      sigstruct: {
        enclaveHash: mrEnclave,
        attributes,
        attributeMask: { flags: 0xffffffffffffffffn, xfrm: 0xffffffffffffff1bn },
        miscSelect: 0,
        miscMask: 0xffffffff,
        isvProdId: e.isvProdId ?? 7,
        isvSvn: e.isvSvn ?? 5,
      },
      signatureOk: true,
      signatureFailures: [],
      mrSigner: e.mrSigner ?? new Uint8Array(32).fill(0xab),
    },
    () => allowProvision,
  ).ref;
}

export function keyRequest(k: Partial<KeyRequest> & { keyName: number }): Uint8Array {
  return serializeKeyRequest({
    keyPolicy: 0,
    isvSvn: 0,
    cpuSvn: new Uint8Array(16),
    attributeMask: { flags: 0n, xfrm: 0n },
    keyId: new Uint8Array(32),
    miscMask: 0,
    configSvn: 0,
    ...k,
  });
}

export const reportKeyRequest = (keyId: Uint8Array) => keyRequest({ keyName: KEY_NAME.REPORT, keyId });

export async function rejectsWithCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if ((e as { code?: string }).code === code) return;
    throw new Error(`expected ${code}, got ${(e as { code?: string }).code}: ${(e as Error).message}`);
  }
  throw new Error(`expected ${code}, but it succeeded`);
}
