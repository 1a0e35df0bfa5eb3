import { context, oid, seq, smallInteger, time, tlv, unsignedInteger } from './der-writer.ts';
import { ECDSA_WITH_SHA256, extension, wholeSeconds } from './x509-writer.ts';

/** One revoked certificate: its serial (unsigned magnitude), date, and RFC 5280 CRLReason (non-zero). */
export interface CrlEntrySpec {
  serial: Uint8Array;
  date: Date;
  reason: number;
}

export interface TbsCertListSpec {
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  /** SHA-1 key identifier of the issuer's key (Authority Key Identifier, keyIdentifier only). */
  authorityKeyId: Uint8Array;
  entries: CrlEntrySpec[];
}

const REASON_CODE = oid('2.5.29.21');
const CRL_NUMBER = oid('2.5.29.20');
const AUTHORITY_KEY_ID = oid('2.5.29.35');

/**
 * TBSCertList v2 (RFC 5280 §5.1.2), ecdsa-with-SHA256, in the profile of Intel's Root CA CRL and PCK
 * CRLs: thisUpdate/nextUpdate; each entry its serial, date and a reasonCode entry extension; then the
 * CRL extensions CRL Number and Authority Key Identifier. No entries → no revokedCertificates field.
 */
export function tbsCertList(t: TbsCertListSpec): Uint8Array {
  const parts = [
    smallInteger(1),
    ECDSA_WITH_SHA256,
    t.issuer,
    time(wholeSeconds(t.thisUpdate)),
    time(wholeSeconds(t.nextUpdate)),
  ];
  if (t.entries.length) {
    parts.push(
      seq(
        ...t.entries.map((e) =>
          seq(
            unsignedInteger(e.serial),
            time(wholeSeconds(e.date)),
            seq(extension(REASON_CODE, false, tlv(0x0a, smallInteger(e.reason).subarray(2)))),
          ),
        ),
      ),
    );
  }
  parts.push(
    context(
      0,
      true,
      seq(
        extension(CRL_NUMBER, false, smallInteger(t.crlNumber)),
        extension(AUTHORITY_KEY_ID, false, seq(context(0, false, t.authorityKeyId))),
      ),
    ),
  );
  return seq(...parts);
}
