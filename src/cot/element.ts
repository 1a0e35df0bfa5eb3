import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import type { ChainPolicy, CollateralBlob, Link, LinkAppraisal } from '../chain/types.ts';
import { buildEnclave, type EnclaveConfig, type EnclaveImage } from '../sgx/build.ts';
import type { EnclaveHandle, OcallTable, RuntimeKind } from '../sgx/enclave.ts';
import type { Platform } from '../sgx/platform.ts';

const ELEMENT_SOURCE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'element-enclave.js'), 'utf8');

/** The element enclave image (element-enclave.js laid out, measured and signed by `vendorKey`). */
export function buildElementImage(
  vendorKey: KeyObject,
  config: EnclaveConfig = { isvProdId: 1, isvSvn: 1 },
): EnclaveImage {
  return buildEnclave(ELEMENT_SOURCE, config, vendorKey);
}

/** The host's handle on a loaded element enclave: its public key, platform and the element ECALLs. */
export class ElementHandle {
  private constructor(
    readonly enclave: EnclaveHandle,
    readonly elementKey: Uint8Array,
    /** Hex PPID of the platform: the platform id chains use. */
    readonly platformPpid: string,
    readonly cloud: string | undefined,
  ) {}

  /**
   * Loads `image` (any enclave exposing the element ECALLs: createKey, evidence, admitLocal, admitRemote)
   * and has it create its element key. `ocalls`: host functions the enclave may call besides the
   * element's (e.g. an RA-TLS relay's and the QE's, for an element that also serves a channel).
   */
  static async load(
    platform: Platform,
    image: EnclaveImage,
    opts: { runtime?: RuntimeKind; cloud?: string; ocalls?: OcallTable } = {},
  ): Promise<ElementHandle> {
    const enclave = await platform.loadEnclave(image, {
      runtime: opts.runtime ?? 'inline',
      ...(opts.ocalls ? { ocalls: opts.ocalls } : {}),
    });
    const key = (await enclave.ecall('createKey')) as Uint8Array;
    return new ElementHandle(enclave, key, hex(platform.identity.ppid), opts.cloud);
  }

  targetInfo(): Uint8Array {
    return this.enclave.targetInfo();
  }
  evidence(targetInfo: Uint8Array, chainId: string, nonceHex: string): Promise<Uint8Array> {
    return this.enclave.ecall(
      'evidence',
      targetInfo,
      chainId,
      Uint8Array.from(Buffer.from(nonceHex, 'hex')),
    ) as Promise<Uint8Array>;
  }
  admitLocal(
    draft: Omit<Link, 'signature'>,
    childReport: Uint8Array,
    policy: ChainPolicy,
    depth: number,
  ): Promise<string> {
    return this.enclave.ecall('admitLocal', draft, childReport, policy, depth) as Promise<string>;
  }
  admitRemote(
    draft: Omit<Link, 'signature' | 'appraisal'>,
    quote: Uint8Array,
    collateral: CollateralBlob,
    at: string,
    root: Uint8Array,
    policy: ChainPolicy,
    depth: number,
  ): Promise<{ appraisal: LinkAppraisal; signature: string }> {
    return this.enclave.ecall('admitRemote', draft, quote, collateral, at, root, policy, depth) as Promise<{
      appraisal: LinkAppraisal;
      signature: string;
    }>;
  }
  destroy(): Promise<void> {
    return this.enclave.destroy();
  }
}
