import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import type { IdentityPolicy } from '../attestation/identity-policy.ts';
import { quotingOcalls } from '../channel/issuer.ts';
import { ratlsHttpsOptions } from '../channel/attested-http.ts';
import { DcapQuoteValidator, type DcapQuoteValidatorOptions } from '../channel/dcap-validator.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import type { EmulatedWorld } from '../cot/world.ts';
import { buildEnclave, type EnclaveImage } from '../sgx/build.ts';
import type { EnclaveHandle } from '../sgx/enclave.ts';

const AGENT_ENCLAVE_SOURCE = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), 'agent-enclave-module.js'),
  'utf8',
);

/**
 * ISVPRODID of the agent enclave. Distinct from the element enclaves' (1 by default), and the agent
 * API refuses to load elements with it, so a vendor's element enclave never passes for an agent.
 */
export const AGENT_ENCLAVE_PROD_ID = 0xca7a;

/** The agent enclave image (agent-enclave-module.js, measured and signed by the vendor key → MRSIGNER). */
export function buildAgentEnclaveImage(
  vendorKey: KeyObject,
  opts: { isvSvn?: number; debug?: boolean } = {},
): EnclaveImage {
  return buildEnclave(
    AGENT_ENCLAVE_SOURCE,
    { isvProdId: AGENT_ENCLAVE_PROD_ID, isvSvn: opts.isvSvn ?? 1, ...(opts.debug ? { debug: true } : {}) },
    vendorKey,
  );
}

/** Which agents an agent (or the manager) accepts as peers: the vendor's agent enclave, no DEBUG. */
export function agentPeerPolicy(mrSigner: string, minIsvSvn = 1): IdentityPolicy {
  return { mrSigner: mrSigner.toLowerCase(), isvProdId: AGENT_ENCLAVE_PROD_ID, minIsvSvn, allowDebug: false };
}

/** The agent's RA-TLS credentials and the enclave that made them. */
export interface AgentTlsIdentity {
  keyPem: string;
  certPem: string;
  certificate: Uint8Array;
  mrEnclave: string;
  mrSigner: string;
  /** Index of the platform the agent enclave runs on. */
  platform: number;
  enclave: EnclaveHandle;
}

/**
 * Launches the agent enclave on platform `index` of `world` (like any enclave there, with that
 * platform's QE for its quote) and has it make the agent's RA-TLS key and certificate.
 */
export async function launchAgentEnclave(
  world: EmulatedWorld,
  index: number,
  image: EnclaveImage,
  commonName = 'Catena agent',
): Promise<AgentTlsIdentity> {
  const p = world.platforms[index];
  if (!p) throw new RangeError(`no platform ${index} (the agent hosts ${world.platforms.length})`);
  const enclave = await p.platform.loadEnclave(image, { runtime: world.runtime, ocalls: quotingOcalls(p.quoting) });
  try {
    const c = (await enclave.ecall('issueCertificate', commonName)) as {
      keyPem: string;
      certPem: string;
      certificate: Uint8Array;
    };
    return { ...c, mrEnclave: hex(image.mrEnclave), mrSigner: hex(image.mrSigner), platform: index, enclave };
  } catch (e) {
    await enclave.destroy().catch(() => {});
    throw e;
  }
}

/**
 * Has the agent enclave make a fresh key and certificate (RA-TLS certificates live a day, and a
 * fresh quote is judged against current collateral) and puts them into `identity` in place, so
 * every holder of that object (the agent's client calls, its manager link) uses them; `server`
 * (the agent's https server) serves them to new connections.
 */
export async function renewAgentCertificate(
  identity: AgentTlsIdentity,
  server?: { setSecureContext(o: object): void },
  commonName = 'Catena agent',
): Promise<AgentTlsIdentity> {
  const c = (await identity.enclave.ecall('issueCertificate', commonName)) as {
    keyPem: string;
    certPem: string;
    certificate: Uint8Array;
  };
  server?.setSecureContext(ratlsHttpsOptions(c));
  identity.keyPem = c.keyPem;
  identity.certPem = c.certPem;
  identity.certificate = c.certificate;
  return identity;
}

/**
 * How agents (and the manager) judge an agent's RA-TLS certificate: Catena's real DCAP validator
 * against `roots` (omit for Intel's pinned root; an emulated root only when passed explicitly) and
 * `collateral` (a PCS/PCCS source, directory or dcap-qvl JSON), then the agent identity policy
 * (MRSIGNER + the agent enclave's ISVPRODID, DEBUG refused). One warm validator per call site.
 */
export function agentPeerVerification(o: {
  roots?: Uint8Array[];
  collateral: DcapQuoteValidatorOptions['collateral'];
  mrSigner: string;
  minIsvSvn?: number;
}): PeerVerification {
  return {
    validator: new DcapQuoteValidator({ collateral: o.collateral, ...(o.roots ? { trustedRoots: o.roots } : {}) }),
    policy: agentPeerPolicy(o.mrSigner, o.minIsvSvn ?? 1),
  };
}
