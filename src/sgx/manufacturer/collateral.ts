import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hex } from '../../bytes/util.ts';
import { certificatePem } from './keys.ts';
import type { CollateralSet } from './manufacturer.ts';

/**
 * Collateral on disk, in the two layouts Catena's verifier reads (issue 3):
 *
 * A directory:
 *   tcb_info.json              the PCS body {"tcbInfo":…,"signature":"…"}
 *   qe_identity.json           the PCS body {"enclaveIdentity":…,"signature":"…"}
 *   tcb_signing_cert.pem       TCB Signing certificate ‖ root (PEM)
 *   root_ca_crl.der            Root CA CRL
 *   pck_processor_crl.der      or pck_platform_crl.der: the PCK CA's CRL
 *   root.der                   the emulated root certificate (pass it explicitly to trust it)
 *
 * A dcap-qvl collateral JSON (all strings): pck_crl_issuer_chain, root_ca_crl (hex DER), pck_crl
 * (hex DER), tcb_info_issuer_chain, tcb_info (exact signed text), tcb_info_signature (hex r‖s),
 * qe_identity_issuer_chain, qe_identity, qe_identity_signature. Chains are PEM, leaf first.
 */
export interface DcapQvlCollateral {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}

const chainPem = (chain: Uint8Array[]) => chain.map(certificatePem).join('');

/** The file names writeCollateralDir uses for a set (relative to the directory). */
export function collateralFileNames(set: Pick<CollateralSet, 'ca'>): string[] {
  return [
    'tcb_info.json',
    'qe_identity.json',
    'tcb_signing_cert.pem',
    'root_ca_crl.der',
    `pck_${set.ca}_crl.der`,
    'root.der',
  ];
}

/** Writes the directory layout; returns the paths written. */
export async function writeCollateralDir(set: CollateralSet, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string | Uint8Array]> = [
    ['tcb_info.json', set.tcbInfo.body],
    ['qe_identity.json', set.qeIdentity.body],
    ['tcb_signing_cert.pem', chainPem(set.tcbSigningChain)],
    ['root_ca_crl.der', set.rootCaCrl],
    [`pck_${set.ca}_crl.der`, set.pckCrl],
    ['root.der', set.root],
  ];
  const written: string[] = [];
  for (const [name, data] of files) {
    const path = join(dir, name);
    await writeFile(path, data);
    written.push(path);
  }
  return written;
}

/** The dcap-qvl collateral object. */
export function collateralJson(set: CollateralSet): DcapQvlCollateral {
  return {
    pck_crl_issuer_chain: chainPem(set.pckCrlIssuerChain),
    root_ca_crl: hex(set.rootCaCrl),
    pck_crl: hex(set.pckCrl),
    tcb_info_issuer_chain: chainPem(set.tcbSigningChain),
    tcb_info: set.tcbInfo.text,
    tcb_info_signature: hex(set.tcbInfo.signature),
    qe_identity_issuer_chain: chainPem(set.tcbSigningChain),
    qe_identity: set.qeIdentity.text,
    qe_identity_signature: hex(set.qeIdentity.signature),
  };
}

/** Writes collateralJson(set) to `file`. */
export async function writeCollateralJson(set: CollateralSet, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(collateralJson(set), null, 2) + '\n');
}
