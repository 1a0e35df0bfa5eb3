import { createHmac } from 'node:crypto';
import { ctEqual, equal } from '../bytes/util.ts';
import { sha384 } from '../crypto/sha384.ts';
import { parseReportBody } from '../formats/report.ts';
import {
  ATT_KEY_TYPE_ECDSA_P256,
  CERT_DATA_PCK_CHAIN,
  INTEL_QE_VENDOR_ID_HEX,
  serializeQuote,
  serializeQuoteSignedPart,
  TEE_TYPE_TDX,
  type QuoteHeader,
  type TdReport10,
} from '../formats/quote.ts';
import { TdxError } from './errors.ts';
import { parseTdReport, type TdReport } from '../formats/tdreport.ts';

/**
 * What the TD quoting enclave does with a TDREPORT (docs/formats-tdx.md): check it was made on this
 * platform (MAC under the QE's REPORT key, TEE_TCB_INFO_HASH and TEE_INFO_HASH over the structures that
 * follow), then turn it into a DCAP quote — v4 (tee_type 0x81, TD report 1.0 body) or v5 (body type 2,
 * or 3 = TD report 1.5 for a TDX 1.5 TDREPORT) — signed by the attestation key, with the QE report
 * certification data (type 6 around the PCK chain, type 5).
 */
export function checkTdReport(bytes: Uint8Array, reportKey: Uint8Array): TdReport {
  const r = parseTdReport(bytes);
  const mac = new Uint8Array(createHmac('sha256', reportKey).update(r.macedBytes).digest());
  if (!ctEqual(mac, r.mac))
    throw new TdxError(
      'ERR_TDREPORT_MAC',
      'TDREPORT MAC does not verify (not made by this platform’s TDX module for this QE)',
    );
  if (!equal(sha384(r.teeTcbInfoBytes), r.teeTcbInfoHash))
    throw new TdxError('ERR_TDREPORT_MAC', 'TDREPORT TEE_TCB_INFO_HASH does not match TEE_TCB_INFO');
  if (!equal(sha384(r.tdInfoBytes), r.teeInfoHash))
    throw new TdxError('ERR_TDREPORT_MAC', 'TDREPORT TEE_INFO_HASH does not match TDINFO');
  return r;
}

/** The quote body a TDREPORT gives: TD report 1.0, plus TEE_TCB_SVN2 and MR_SERVICETD for 1.5. */
export function tdQuoteBody(r: TdReport, v15: boolean): TdReport10 {
  const t = r.tdInfo;
  return {
    teeTcbSvn: r.teeTcbInfo.teeTcbSvn,
    mrSeam: r.teeTcbInfo.mrSeam,
    mrSignerSeam: r.teeTcbInfo.mrSignerSeam,
    seamAttributes: r.teeTcbInfo.attributes,
    tdAttributes: t.attributes,
    xfam: t.xfam,
    mrTd: t.mrTd,
    mrConfigId: t.mrConfigId,
    mrOwner: t.mrOwner,
    mrOwnerConfig: t.mrOwnerConfig,
    rtmr: t.rtmr,
    reportData: r.reportData,
    ...(v15 ? { teeTcbSvn2: r.teeTcbInfo.teeTcbSvn2, mrServiceTd: t.servTdHash } : {}),
  };
}

export interface TdQuoteParts {
  version: 4 | 5;
  tdReport: TdReport;
  /** The platform identifier in user_data[0:16] (QE3: QE ID); 20 bytes. */
  userData: Uint8Array;
  sign: (signed: Uint8Array) => Uint8Array;
  attestationKey: Uint8Array;
  qeReportBody: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  pckChain: Uint8Array;
}

export function buildTdQuote(p: TdQuoteParts): Uint8Array {
  // qe_svn / pce_svn are reserved (zero) in v4/v5 headers.
  const header: QuoteHeader = {
    version: p.version,
    attKeyType: ATT_KEY_TYPE_ECDSA_P256,
    teeType: TEE_TYPE_TDX,
    qeSvn: 0,
    pceSvn: 0,
    qeVendorId: Uint8Array.from(Buffer.from(INTEL_QE_VENDOR_ID_HEX, 'hex')),
    userData: p.userData,
  };
  const body = { kind: 'td10' as const, report: tdQuoteBody(p.tdReport, p.version === 5 && p.tdReport.version === 1) };
  const signature = p.sign(serializeQuoteSignedPart(header, body));
  return serializeQuote({
    header,
    body,
    signatureData: {
      signature,
      attestationKey: p.attestationKey,
      qe: {
        qeReport: parseReportBody(p.qeReportBody),
        qeReportSignature: p.qeReportSignature,
        qeAuthData: p.qeAuthData,
        certification: { type: CERT_DATA_PCK_CHAIN, data: p.pckChain },
      },
    },
  });
}
