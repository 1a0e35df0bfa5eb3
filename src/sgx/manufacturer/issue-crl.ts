import * as asn1js from 'asn1js';
import type { KeyObject } from 'node:crypto';
import { hex } from '../../bytes/util.ts';
import { ManufacturerError } from './errors.ts';
import { keyIdentifier, wholeSeconds } from './issue-certificate.ts';
import { ECDSA_SHA256, signingCryptoKey } from './keys.ts';
import { dn } from './names.ts';
import { x509 } from './x509.ts';

/**
 * Issues a CRL in the profile of Intel's Root CA CRL and PCK CRLs (RFC 5280 §5; Intel SGX PCK
 * Certificate and CRL Profile §2): v2, ecdsa-with-SHA256, thisUpdate/nextUpdate, extensions CRL
 * Number then Authority Key Identifier (keyIdentifier only), and per revoked certificate its
 * serial, revocation date and a reasonCode entry extension. Every entry carries a non-zero reason:
 * reason 0 (unspecified) would be dropped by the encoder and is refused (ERR_MANUFACTURER_REASON).
 */
export interface RevokedEntry {
  /** The certificate's serial number, hex (as in the certificate, without sign padding). */
  serial: string;
  /** RFC 5280 CRLReason, 1–10 except 7. */
  reason: number;
  date: Date;
}

export interface CrlSpec {
  issuer: string;
  issuerKey: KeyObject;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  entries: RevokedEntry[];
}

export const CRL_REASON = x509.X509CrlReason;

export function assertCrlReason(reason: number): void {
  if (!Number.isInteger(reason) || reason < 1 || reason > 10 || reason === 7) {
    throw new ManufacturerError('ERR_MANUFACTURER_REASON', `CRL reason must be a non-zero RFC 5280 CRLReason (1–6, 8–10), got ${reason}`);
  }
}

const CRL_NUMBER_OID = '2.5.29.20';

export async function issueCrl(spec: CrlSpec): Promise<Uint8Array> {
  for (const e of spec.entries) assertCrlReason(e.reason);
  const crlNumber = new Uint8Array(new asn1js.Integer({ value: spec.crlNumber }).toBER(false));
  const crl = await x509.X509CrlGenerator.create({
    issuer: dn(spec.issuer),
    thisUpdate: wholeSeconds(spec.thisUpdate),
    nextUpdate: wholeSeconds(spec.nextUpdate),
    extensions: [new x509.Extension(CRL_NUMBER_OID, false, crlNumber), new x509.AuthorityKeyIdentifierExtension(hex(keyIdentifier(spec.issuerKey)))],
    entries: spec.entries.map((e) => ({ serialNumber: e.serial, revocationDate: wholeSeconds(e.date), reason: e.reason })),
    signingKey: await signingCryptoKey(spec.issuerKey),
    signingAlgorithm: ECDSA_SHA256,
  });
  return new Uint8Array(crl.rawData);
}
