import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { AttestationSpec } from './attestation-spec.ts';
import { MockQuotingBackend, type QuotingBackend } from './issuer.ts';
import { createMockAttestationRoot, mockRootFromPem } from './mock-evidence.ts';
import { MockQuoteValidator } from './validator.ts';
import type { QuoteValidator } from './types.ts';

/*
 * >>> LEAD: THE SWITCH POINT between MOCK evidence and real DCAP quotes for `catena channel …` and
 * `catena bench channel`. Everything else (certificates, TLS, relay, enclave endpoint, CLI) is
 * independent of the evidence kind. To switch: return a QuotingService (src/sgx/qe) started on the
 * platform as `backend`, the emulated manufacturer root as `root`, and make the two functions below
 * build a DCAP validator / a `{ kind: 'dcap', … }` AttestationSpec. <<<
 */

export interface ChannelAttestation {
  kind: 'mock' | 'dcap';
  /** Turns the server enclave's REPORTs into evidence (host side of EnclaveQuoteIssuer). */
  backend: QuotingBackend;
  /** The trust anchor relying parties need (`--root`), PEM. */
  rootPem: string;
  stop(): Promise<void>;
}

const ROOT_CERT = 'mock-root.pem';
const ROOT_KEY = 'mock-root.key.pem';

/** The attestation a channel server uses. MOCK today: a mock root kept in `stateDir` (reused if present). */
export async function channelAttestation(opts: { stateDir?: string } = {}): Promise<ChannelAttestation> {
  let root;
  if (opts.stateDir) {
    const certPath = join(opts.stateDir, ROOT_CERT);
    const keyPath = join(opts.stateDir, ROOT_KEY);
    try {
      root = mockRootFromPem(await readFile(certPath, 'utf8'), await readFile(keyPath, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      root = await createMockAttestationRoot();
      await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
      await writeFile(keyPath, root.keyPem, { mode: 0o600 });
      await writeFile(certPath, root.certPem, { mode: 0o644 });
    }
  } else root = await createMockAttestationRoot();
  return { kind: 'mock', backend: new MockQuotingBackend(root.privateKey), rootPem: root.certPem, stop: async () => undefined };
}

/** Trust anchors given as PEM/DER certificates → the AttestationSpec an enclave validates peers with. */
export function attestationSpecForRoots(roots: Uint8Array[]): AttestationSpec {
  return { kind: 'mock', roots };
}

/** Trust anchors → the validator a non-enclave relying party uses. */
export function validatorForRoots(roots: Uint8Array[]): QuoteValidator {
  return new MockQuoteValidator(roots);
}

/** Reads one or more certificates from PEM text or a DER file's bytes. */
export function certificatesFromFile(bytes: Uint8Array): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) return [new Uint8Array(new X509Certificate(bytes).raw)];
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new Uint8Array(new X509Certificate(b).raw));
}
