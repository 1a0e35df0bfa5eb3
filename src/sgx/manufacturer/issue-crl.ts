import { sign, type KeyObject } from 'node:crypto';
import { fromHex } from '../../bytes/util.ts';
import { tbsCertList } from '../../formats/x509-crl-writer.ts';
import { signedX509 } from '../../formats/x509-writer.ts';
import { ManufacturerError } from './errors.ts';
import { keyIdentifier } from './issue-certificate.ts';
import { nameDer } from './names.ts';

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

/** RFC 5280 §5.3.1 CRLReason values (7 is unused). */
export const CRL_REASON = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export function assertCrlReason(reason: number): void {
  if (!Number.isInteger(reason) || reason < 1 || reason > 10 || reason === 7) {
    throw new ManufacturerError(
      'ERR_MANUFACTURER_REASON',
      `CRL reason must be a non-zero RFC 5280 CRLReason (1–6, 8–10), got ${reason}`,
    );
  }
}

/** DER-encoded with Catena's one DER writer (src/formats/x509-crl-writer.ts) and signed with the issuer's key. */
export async function issueCrl(spec: CrlSpec): Promise<Uint8Array> {
  for (const e of spec.entries) assertCrlReason(e.reason);
  const tbs = tbsCertList({
    issuer: nameDer(spec.issuer),
    thisUpdate: spec.thisUpdate,
    nextUpdate: spec.nextUpdate,
    crlNumber: spec.crlNumber,
    authorityKeyId: keyIdentifier(spec.issuerKey),
    entries: spec.entries.map((e) => ({
      serial: fromHex(e.serial, undefined, 'CRL entry serial'),
      date: e.date,
      reason: e.reason,
    })),
  });
  return signedX509(tbs, new Uint8Array(sign('sha256', tbs, spec.issuerKey)));
}
