import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Platform } from '../sgx/platform.ts';
import type { RuntimeKind } from '../sgx/enclave.ts';
import type { AttestationSpec } from './attestation-spec.ts';
import { DcapQuoteValidator, type QvlCollateralJson } from './dcap-validator.ts';
import { MockQuotingBackend, type QuotingBackend } from './issuer.ts';
import { createMockAttestationRoot, mockRootFromPem } from './mock-evidence.ts';
import type { Collateral, CollateralSource } from '../attestation/collateral/types.ts';

/*
 * The attestation the channel's users get (CLI, `catena bench channel`, library callers that want a
 * ready-made server): REAL DCAP. An emulated manufacturer (persisted in the state directory, so the
 * root stays the same across runs) certifies the platform's PCE; the platform's QE turns the
 * enclave's REPORTs into DCAP v3 quotes; peers are validated by Catena's DCAP verifier trusting that
 * root explicitly. `mockChannelAttestation` is kept for unit tests of the channel mechanics only.
 *
 * The sgx modules are imported lazily: enclaves import 'catena/channel' for the endpoint and the
 * validator, and must not drag the manufacturer and the QE into their own module graph.
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

/** The manufacturer's directory inside the state directory (keys mode 0600). */
const MANUFACTURER_DIR = 'manufacturer';

export interface ChannelAttestationOptions {
  /** The platform the server (or client) enclave runs on: its QE/PCE are started there. */
  platform: Platform;
  /** Keeps the emulated manufacturer (root CA …) between runs. Without it, a fresh manufacturer per call. */
  stateDir?: string;
  /** Runtime of the QE and PCE. Default inline. */
  runtime?: RuntimeKind;
}

/** REAL DCAP attestation for a channel endpoint on `platform` (see the comment at the top of this file). */
export async function channelAttestation(opts: ChannelAttestationOptions): Promise<ChannelAttestation> {
  const { Manufacturer } = await import('../sgx/manufacturer/manufacturer.ts');
  const { collateralJson } = await import('../sgx/manufacturer/collateral.ts');
  const { certificatePem } = await import('../sgx/manufacturer/keys.ts');
  const { QuotingService, buildQuotingImages } = await import('../sgx/qe/quoting-service.ts');
  const id = opts.platform.identity;
  const tcb = { components: [...id.tcbComponents], pceSvn: id.pceSvn };
  let manufacturer;
  const dir = opts.stateDir ? join(opts.stateDir, MANUFACTURER_DIR) : undefined;
  if (dir && (await exists(join(dir, 'manufacturer.json')))) {
    manufacturer = await Manufacturer.load(dir); // dates what it issues an hour back by default
    if (manufacturer.ensureFmspc(id.fmspc, tcb, id.pceId)) await manufacturer.save(dir);
  } else {
    manufacturer = await Manufacturer.create();
    manufacturer.ensureFmspc(id.fmspc, tcb, id.pceId);
    void manufacturer.enclaveSigningKey; // created now so it is saved: the QE's MRSIGNER stays stable
    if (dir) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await manufacturer.save(dir);
    }
  }
  const images = buildQuotingImages(manufacturer.enclaveSigningKey, id.pceSvn);
  const quoting = await QuotingService.start(opts.platform, { images, issuer: manufacturer.pckIssuer('processor'), runtime: opts.runtime ?? 'inline' });
  const collateral = { ...collateralJson(await manufacturer.collateral(id.fmspc, 'processor')) } as QvlCollateralJson;
  const rootDer = manufacturer.root;
  return {
    kind: 'dcap',
    backend: quoting,
    rootDer,
    rootPem: certificatePem(rootDer),
    collateral,
    spec: attestationSpecForRoots([rootDer], collateral),
    stop: () => quoting.stop(),
  };
}

/** Writes root.pem, root.der and (dcap) collateral.json into `dir`; returns their paths. */
export async function writeTrustFiles(dir: string, a: ChannelAttestation): Promise<{ rootPem: string; rootDer: string; collateral?: string }> {
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
export function attestationSpecForRoots(roots: Uint8Array[], collateral: QvlCollateralJson | string, opts: { acceptedTcbStatuses?: string[] } = {}): AttestationSpec {
  return { kind: 'dcap', roots, collateral, ...(opts.acceptedTcbStatuses ? { acceptedTcbStatuses: opts.acceptedTcbStatuses } : {}) };
}

/** Trust anchors + collateral → the DCAP validator a non-enclave relying party uses. */
export function validatorForRoots(roots: Uint8Array[], collateral: Collateral | CollateralSource | QvlCollateralJson | string, opts: { acceptedTcbStatuses?: string[] } = {}): DcapQuoteValidator {
  return new DcapQuoteValidator({ trustedRoots: roots, collateral, ...(opts.acceptedTcbStatuses ? { acceptedTcbStatuses: opts.acceptedTcbStatuses } : {}) });
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

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
