import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { keyDirectory, readKeyFile, writeNewKeyFile } from '../crypto/key-file.ts';
import type { AttestationSpec } from './attestation-spec.ts';
import { DcapQuoteValidator, type QvlCollateralJson } from './dcap-validator.ts';
import { MockQuotingBackend, type QuotingBackend } from './issuer.ts';
import { createMockAttestationRoot, mockRootFromPem } from './mock-evidence.ts';
import type { Collateral, CollateralSource } from '../attestation/collateral/types.ts';
import { toPem } from '../attestation/pem.ts';

/*
 * The attestation the channel's users get (CLI, `catena bench channel`, library callers that want a
 * ready-made server): REAL DCAP. The quoting side is injected: the caller starts it (the emulated one
 * is `startEmulatedDcapIssuer` in src/sgx/manufacturer: an emulated manufacturer certifies the
 * platform's PCE, the platform's QE turns REPORTs into DCAP v3 quotes), and peers are validated by
 * Catena's DCAP verifier trusting its root explicitly. The channel never imports the manufacturer:
 * enclaves import 'catena/channel' and must not drag it into their module graph.
 * `mockChannelAttestation` is kept for unit tests of the channel mechanics only.
 */

export interface ChannelAttestation {
  kind: 'dcap' | 'mock';
  /** Turns the server enclave's REPORTs into evidence (host side of EnclaveQuoteIssuer). */
  backend: QuotingBackend;
  /** The trust anchor relying parties need (`--root`). */
  rootPem: string;
  rootDer: Uint8Array;
  /** dcap: the dcap-qvl collateral JSON for this platform's FMSPC (what relying parties verify with). */
  collateral?: QvlCollateralJson;
  /** How an enclave on this side validates peers issued under the same root (mutual mode). */
  spec: AttestationSpec;
  stop(): Promise<void>;
}

/** Files a channel server publishes in its state directory for relying parties. */
export const TRUST_FILES = { rootPem: 'root.pem', rootDer: 'root.der', collateral: 'collateral.json' } as const;

/**
 * A DCAP quoting side, started by the caller: its QE (REPORT → quote), the root its PCK chain ends
 * in, and the collateral relying parties verify with. The emulated one is `startEmulatedDcapIssuer`
 * (src/sgx/manufacturer); real hardware would be another.
 */
export interface DcapIssuer {
  backend: QuotingBackend;
  rootDer: Uint8Array;
  collateral: QvlCollateralJson;
  stop(): Promise<void>;
}

/** REAL DCAP attestation for a channel endpoint whose quotes come from `issuer` (see the top of this file). */
export function channelAttestation(issuer: DcapIssuer): ChannelAttestation {
  const collateral = { ...issuer.collateral };
  return {
    kind: 'dcap',
    backend: issuer.backend,
    rootDer: issuer.rootDer,
    rootPem: toPem(issuer.rootDer, 'CERTIFICATE'),
    collateral,
    spec: attestationSpecForRoots([issuer.rootDer], collateral),
    stop: () => issuer.stop(),
  };
}

/** Writes root.pem, root.der and (dcap) collateral.json into `dir`; returns their paths. */
export async function writeTrustFiles(
  dir: string,
  a: ChannelAttestation,
): Promise<{ rootPem: string; rootDer: string; collateral?: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const out = { rootPem: join(dir, TRUST_FILES.rootPem), rootDer: join(dir, TRUST_FILES.rootDer) };
  await writeFile(out.rootPem, a.rootPem);
  await writeFile(out.rootDer, a.rootDer);
  if (!a.collateral) return out;
  const collateral = join(dir, TRUST_FILES.collateral);
  await writeFile(collateral, JSON.stringify(a.collateral, null, 2) + '\n');
  return { ...out, collateral };
}

/** Trust anchors + collateral (dcap-qvl JSON) → the AttestationSpec an enclave validates DCAP peers with. */
export function attestationSpecForRoots(
  roots: Uint8Array[],
  collateral: QvlCollateralJson | string,
  opts: { acceptedTcbStatuses?: string[] } = {},
): AttestationSpec {
  return {
    kind: 'dcap',
    roots,
    collateral,
    ...(opts.acceptedTcbStatuses ? { acceptedTcbStatuses: opts.acceptedTcbStatuses } : {}),
  };
}

/** Trust anchors + collateral → the DCAP validator a non-enclave relying party uses. */
export function validatorForRoots(
  roots: Uint8Array[],
  collateral: Collateral | CollateralSource | QvlCollateralJson | string,
  opts: { acceptedTcbStatuses?: string[] } = {},
): DcapQuoteValidator {
  return new DcapQuoteValidator({
    trustedRoots: roots,
    collateral,
    ...(opts.acceptedTcbStatuses ? { acceptedTcbStatuses: opts.acceptedTcbStatuses } : {}),
  });
}

/**
 * MOCK attestation — FOR UNIT TESTS OF THE CHANNEL MECHANICS ONLY: a mock root kept in `stateDir`
 * (reused if present) signs REPORT bodies as mock evidence, which proves nothing about an enclave
 * (src/channel/mock-evidence.ts). No command or default path uses it.
 */
export async function mockChannelAttestation(opts: { stateDir?: string } = {}): Promise<ChannelAttestation> {
  let root;
  if (opts.stateDir) {
    const certPath = join(opts.stateDir, 'mock-root.pem');
    const keyPath = join(opts.stateDir, 'mock-root.key.pem');
    // The key decides the root: unreadable → stop with its path; absent → a new one, never over an existing file.
    const keyPem = await readKeyFile(keyPath, (pem) => (createPrivateKey(pem), pem));
    if (keyPem !== undefined) root = mockRootFromPem(await readFile(certPath, 'utf8'), keyPem);
    else {
      root = await createMockAttestationRoot();
      await keyDirectory(opts.stateDir);
      await writeNewKeyFile(keyPath, root.keyPem);
      await writeFile(certPath, root.certPem, { mode: 0o644 });
    }
  } else root = await createMockAttestationRoot();
  return {
    kind: 'mock',
    backend: new MockQuotingBackend(root.privateKey),
    rootPem: root.certPem,
    rootDer: root.certificate,
    spec: { kind: 'mock', roots: [root.certificate] },
    stop: async () => undefined,
  };
}

/** Reads one or more certificates from PEM text or a DER file's bytes. */
export function certificatesFromFile(bytes: Uint8Array): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) return [new Uint8Array(new X509Certificate(bytes).raw)];
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new Uint8Array(new X509Certificate(b).raw));
}
