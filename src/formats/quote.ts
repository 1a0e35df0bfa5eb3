import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes, isZero } from '../bytes/util.ts';
import { FormatError } from '../errors.ts';
import { readReportBody, writeReportBody, REPORT_BODY_SIZE, type ReportBody } from './report.ts';

/**
 * Intel DCAP ECDSA quotes, version 3 (`sgx_quote_3_t`, SGX), version 4 (`sgx_quote_4_t`, SGX or TDX) and
 * version 5 (`sgx_quote_5_t`: a body descriptor u16 type ‖ u32 size before the body; type 2 = TD report 1.0,
 * 3 = TD report 1.5 = TD report 1.0 ‖ tee_tcb_svn2 (16) ‖ mr_servicetd (48); signed with the descriptor),
 * from Intel's "SGX ECDSA Quote Library API" (appendix A) and "TDX DCAP Quoting Library API" (appendix A.3).
 * All integers little-endian.
 *
 * Header (48 bytes, both versions):
 *
 *   off  len  field
 *     0    2  version                3 or 4
 *     2    2  att_key_type           2 = ECDSA-256 with P-256
 *     4    4  tee_type               v4: 0x00000000 SGX, 0x00000081 TDX; v3: reserved (att_key_data_0), 0
 *     8    2  qe_svn                 (v4: reserved)
 *    10    2  pce_svn                (v4: reserved)
 *    12   16  qe_vendor_id           Intel: 939a7233f79c4ca9940a0db3957f0607
 *    28   20  user_data              first 16 bytes: platform identifier (QE3)
 *
 * Body, at 48:  SGX: the enclave's REPORT body (384, see report.ts);  TDX (tee_type 0x81): TD report 1.0 (584):
 *
 *     0   16  tee_tcb_svn      16  48 mr_seam         64  48 mr_signer_seam   112  8 seam_attributes
 *   120    8  td_attributes   128   8 xfam           136  48 mr_td           184  48 mr_config_id
 *   232   48  mr_owner        280  48 mr_owner_config 328  48×4 rtmr0..rtmr3  520  64 report_data
 *
 * Then, at 48 + body: u32 sig_data_len, followed by the signature data.
 *
 * Signature data, v3 (`sgx_ql_ecdsa_sig_data_t`):
 *
 *     0   64  ECDSA signature (r‖s) over header ‖ body, by the attestation key
 *    64   64  attestation public key (X‖Y)
 *   128  384  QE report body
 *   512   64  QE report signature (r‖s) by the PCK key
 *   576    2  qe_auth_data size N, then N bytes
 *  578+N   2  certification data type (5 = PEM PCK chain, leaf first), u32 size M, then M bytes
 *
 * Signature data, v4: signature (64) ‖ attestation key (64) ‖ certification data of type 6, whose M bytes
 * are the QE report certification data: QE report body (384) ‖ QE report signature (64) ‖ u16 N ‖ auth data
 * ‖ u16 type (5) ‖ u32 size ‖ PCK chain.
 *
 * The signed bytes are header ‖ body (`signedBytes`); the QE report body is signed by the PCK key.
 */
export const QUOTE_HEADER_SIZE = 48;
export const TD_REPORT10_SIZE = 584;
/** TD report 1.5 (TDX 1.5): TD report 1.0 ‖ tee_tcb_svn2 (16) ‖ mr_servicetd (48). */
export const TD_REPORT15_SIZE = 648;
/** Quote v5 body descriptor types. */
export const BODY_SGX_ENCLAVE = 1;
export const BODY_TD_REPORT10 = 2;
export const BODY_TD_REPORT15 = 3;
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const CERT_DATA_PCK_CHAIN = 5;
export const CERT_DATA_QE_REPORT = 6;
export const INTEL_QE_VENDOR_ID_HEX = '939a7233f79c4ca9940a0db3957f0607';

export interface QuoteHeader {
  version: number;
  attKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

/** TD report 1.0 as carried in a TDX quote body (584 bytes). */
export interface TdReport10 {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  /** TD report 1.5 only (quote v5 body type 3). */
  teeTcbSvn2?: Uint8Array;
  /** TD report 1.5 only: SHA-384 of the service TDs bound to this TD (zero when none). */
  mrServiceTd?: Uint8Array;
}

export type QuoteBody = { kind: 'sgx'; report: ReportBody } | { kind: 'td10'; report: TdReport10 };

export interface CertificationData {
  type: number;
  data: Uint8Array;
}

export interface QeReportCertificationData {
  qeReport: ReportBody;
  /** The exact 384 bytes the PCK key signed. */
  qeReportRaw: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  certification: CertificationData;
}

export interface QuoteSignatureData {
  signature: Uint8Array;
  attestationKey: Uint8Array;
  qe: QeReportCertificationData;
  /** v4 only: the type-6 wrapper's outer type (always 6 when parsed). */
  outerCertType?: number;
}

export interface Quote {
  header: QuoteHeader;
  body: QuoteBody;
  signatureData: QuoteSignatureData;
  /** header ‖ body: what the attestation key signed. */
  signedBytes: Uint8Array;
  /** Zero bytes after the signature data (only when parsed with allowZeroPadding). */
  paddingLength: number;
}

export interface ParseQuoteOptions {
  /**
   * Accept all-zero bytes after the signature data. Some TDX stacks hand out the quote in a larger
   * zero-filled buffer (the tdx-v4-phala vector carries 70). Off by default: trailing bytes are an error.
   */
  allowZeroPadding?: boolean;
}

function fail(message: string, code = 'ERR_QUOTE_FORMAT'): never {
  throw new FormatError(`quote: ${message}`, code);
}

function readHeader(r: Reader): QuoteHeader {
  const version = r.u16('header.version');
  const attKeyType = r.u16('header.att_key_type');
  const teeType = r.u32('header.tee_type');
  const qeSvn = r.u16('header.qe_svn');
  const pceSvn = r.u16('header.pce_svn');
  const qeVendorId = r.bytesOf(16, 'header.qe_vendor_id');
  const userData = r.bytesOf(20, 'header.user_data');
  return { version, attKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData };
}

function readTdReport10(r: Reader): TdReport10 {
  return {
    teeTcbSvn: r.bytesOf(16, 'td_report.tee_tcb_svn'),
    mrSeam: r.bytesOf(48, 'td_report.mr_seam'),
    mrSignerSeam: r.bytesOf(48, 'td_report.mr_signer_seam'),
    seamAttributes: r.bytesOf(8, 'td_report.seam_attributes'),
    tdAttributes: r.bytesOf(8, 'td_report.td_attributes'),
    xfam: r.bytesOf(8, 'td_report.xfam'),
    mrTd: r.bytesOf(48, 'td_report.mr_td'),
    mrConfigId: r.bytesOf(48, 'td_report.mr_config_id'),
    mrOwner: r.bytesOf(48, 'td_report.mr_owner'),
    mrOwnerConfig: r.bytesOf(48, 'td_report.mr_owner_config'),
    rtmr: [
      r.bytesOf(48, 'td_report.rtmr0'),
      r.bytesOf(48, 'td_report.rtmr1'),
      r.bytesOf(48, 'td_report.rtmr2'),
      r.bytesOf(48, 'td_report.rtmr3'),
    ],
    reportData: r.bytesOf(64, 'td_report.report_data'),
  };
}

/** Quote v5: u16 body type ‖ u32 body size ‖ body; the type fits the TEE type and the size the type. */
function readV5Body(r: Reader, header: QuoteHeader): QuoteBody {
  const type = r.u16('body.type');
  const size = r.u32('body.size');
  const want =
    type === BODY_SGX_ENCLAVE
      ? REPORT_BODY_SIZE
      : type === BODY_TD_REPORT10
        ? TD_REPORT10_SIZE
        : type === BODY_TD_REPORT15
          ? TD_REPORT15_SIZE
          : -1;
  // Stryker disable next-line EqualityOperator: want is a body size or −1, never 0
  if (want < 0) fail(`v5 body type ${type} is not 1, 2 or 3`, 'ERR_QUOTE_VERSION');
  if (size !== want) fail(`v5 body type ${type} has size ${size}, expected ${want}`);
  if (
    (type === BODY_SGX_ENCLAVE) !== (header.teeType === TEE_TYPE_SGX) ||
    (type !== BODY_SGX_ENCLAVE && header.teeType !== TEE_TYPE_TDX)
  )
    fail(`v5 body type ${type} does not fit tee_type 0x${header.teeType.toString(16)}`, 'ERR_QUOTE_VERSION');
  if (type === BODY_SGX_ENCLAVE) return { kind: 'sgx', report: readReportBody(r) };
  const report = readTdReport10(r);
  if (type === BODY_TD_REPORT15) {
    report.teeTcbSvn2 = r.bytesOf(16, 'td_report.tee_tcb_svn2');
    report.mrServiceTd = r.bytesOf(48, 'td_report.mr_servicetd');
  }
  return { kind: 'td10', report };
}

function readCertificationData(r: Reader, field: string): CertificationData {
  const type = r.u16(`${field}.type`);
  const size = r.u32(`${field}.size`);
  return { type, data: r.bytesOf(size, `${field}.data`) };
}

function readQeReportCertData(r: Reader): QeReportCertificationData {
  const start = r.offset;
  const qeReport = readReportBody(r);
  const qeReportRaw = r.bytes.subarray(start, start + REPORT_BODY_SIZE);
  const qeReportSignature = r.bytesOf(64, 'qe_report_signature');
  const authLen = r.u16('qe_auth_data.size');
  const qeAuthData = r.bytesOf(authLen, 'qe_auth_data');
  const certification = readCertificationData(r, 'certification_data');
  return { qeReport, qeReportRaw, qeReportSignature, qeAuthData, certification };
}

/**
 * Parses a v3 or v4 quote. Rejects short input, inner sizes that disagree with sig_data_len, unknown
 * versions/TEE types, a v4 certification wrapper other than type 6, and trailing bytes (see options).
 * Semantics (key type, vendor, cert type 5) are the verifier's business, not the parser's.
 */
export function parseQuote(bytes: Uint8Array, opts: ParseQuoteOptions = {}): Quote {
  const r = new Reader(bytes, 'quote');
  const header = readHeader(r);
  if (header.version !== 3 && header.version !== 4 && header.version !== 5)
    fail(`unsupported version ${header.version}`, 'ERR_QUOTE_VERSION');
  let body: QuoteBody;
  if (header.version === 5) body = readV5Body(r, header);
  else if (header.version === 3) {
    if (header.teeType !== 0) fail(`v3 header reserved field (offset 4) is 0x${header.teeType.toString(16)}, not 0`);
    body = { kind: 'sgx', report: readReportBody(r) };
  } else if (header.teeType === TEE_TYPE_SGX) {
    body = { kind: 'sgx', report: readReportBody(r) };
  } else if (header.teeType === TEE_TYPE_TDX) {
    body = { kind: 'td10', report: readTdReport10(r) };
  } else {
    fail(`unknown tee_type 0x${header.teeType.toString(16)}`, 'ERR_QUOTE_VERSION');
  }
  const signedBytes = bytes.subarray(0, r.offset);
  const sigDataLen = r.u32('sig_data_len');
  const sigBytes = r.bytesOf(sigDataLen, 'signature data');
  const trailing = r.rest();
  let paddingLength = 0;
  if (trailing.length > 0) {
    if (!opts.allowZeroPadding || !isZero(trailing))
      fail(`${trailing.length} trailing bytes after the signature data`, 'ERR_TRAILING_BYTES');
    paddingLength = trailing.length;
  }
  const s = new Reader(sigBytes, 'quote signature data');
  const signature = s.bytesOf(64, 'quote_signature');
  const attestationKey = s.bytesOf(64, 'attestation_key');
  let signatureData: QuoteSignatureData;
  if (header.version === 3) {
    signatureData = { signature, attestationKey, qe: readQeReportCertData(s) };
  } else {
    const outer = readCertificationData(s, 'certification_data');
    if (outer.type !== CERT_DATA_QE_REPORT)
      fail(`v4 certification data type ${outer.type}, expected 6 (QE report certification data)`);
    const inner = new Reader(outer.data, 'QE report certification data');
    const qe = readQeReportCertData(inner);
    inner.end();
    signatureData = { signature, attestationKey, qe, outerCertType: outer.type };
  }
  s.end();
  return { header, body, signatureData, signedBytes, paddingLength };
}

function writeTdReport10(w: Writer, t: TdReport10): void {
  const f = (b: Uint8Array, n: number, name: string) => w.bytes(abytes(b, n, `td_report.${name}`));
  f(t.teeTcbSvn, 16, 'tee_tcb_svn');
  f(t.mrSeam, 48, 'mr_seam');
  f(t.mrSignerSeam, 48, 'mr_signer_seam');
  f(t.seamAttributes, 8, 'seam_attributes');
  f(t.tdAttributes, 8, 'td_attributes');
  f(t.xfam, 8, 'xfam');
  f(t.mrTd, 48, 'mr_td');
  f(t.mrConfigId, 48, 'mr_config_id');
  f(t.mrOwner, 48, 'mr_owner');
  f(t.mrOwnerConfig, 48, 'mr_owner_config');
  t.rtmr.forEach((m, i) => f(m, 48, `rtmr${i}`));
  f(t.reportData, 64, 'report_data');
  if (t.mrServiceTd) {
    f(t.teeTcbSvn2 ?? new Uint8Array(16), 16, 'tee_tcb_svn2');
    f(t.mrServiceTd, 48, 'mr_servicetd');
  }
}

/** header ‖ body: the bytes the attestation key signs. */
export function serializeQuoteSignedPart(header: QuoteHeader, body: QuoteBody): Uint8Array {
  const w = new Writer()
    .u16(header.version)
    .u16(header.attKeyType)
    .u32(header.teeType)
    .u16(header.qeSvn)
    .u16(header.pceSvn)
    .bytes(abytes(header.qeVendorId, 16, 'qe_vendor_id'))
    .bytes(abytes(header.userData, 20, 'user_data'));
  if (header.version === 5) {
    // v5 body descriptor: SGX report (1), TD report 1.0 (2) or 1.5 (3, when it carries MR_SERVICETD).
    if (body.kind === 'sgx') w.u16(BODY_SGX_ENCLAVE).u32(REPORT_BODY_SIZE);
    else if (body.report.mrServiceTd) w.u16(BODY_TD_REPORT15).u32(TD_REPORT15_SIZE);
    else w.u16(BODY_TD_REPORT10).u32(TD_REPORT10_SIZE);
  }
  if (body.kind === 'sgx') writeReportBody(w, body.report);
  else writeTdReport10(w, body.report);
  return w.finish();
}

function writeQeReportCertData(w: Writer, qe: Omit<QeReportCertificationData, 'qeReportRaw'>): void {
  writeReportBody(w, qe.qeReport);
  w.bytes(abytes(qe.qeReportSignature, 64, 'qe_report_signature'))
    .u16(qe.qeAuthData.length)
    .bytes(qe.qeAuthData)
    .u16(qe.certification.type)
    .u32(qe.certification.data.length)
    .bytes(qe.certification.data);
}

/** What serializeQuote needs: the parsed fields, without the raw-byte views parseQuote adds. */
export interface QuoteFields {
  header: QuoteHeader;
  body: QuoteBody;
  signatureData: Omit<QuoteSignatureData, 'qe'> & { qe: Omit<QeReportCertificationData, 'qeReportRaw'> };
}

/**
 * Serialises a quote from its fields (the inverse of parseQuote, without padding). Report bodies are
 * re-encoded from their parsed fields, so reserved bytes come out as zero.
 */
export function serializeQuote(q: QuoteFields): Uint8Array {
  const signed = serializeQuoteSignedPart(q.header, q.body);
  const sd = q.signatureData;
  const s = new Writer()
    .bytes(abytes(sd.signature, 64, 'quote_signature'))
    .bytes(abytes(sd.attestationKey, 64, 'attestation_key'));
  if (q.header.version === 3) {
    writeQeReportCertData(s, sd.qe);
  } else {
    const inner = new Writer();
    writeQeReportCertData(inner, sd.qe);
    const innerBytes = inner.finish();
    s.u16(CERT_DATA_QE_REPORT).u32(innerBytes.length).bytes(innerBytes);
  }
  const sig = s.finish();
  return new Writer().bytes(signed).u32(sig.length).bytes(sig).finish();
}

/** The report data of either body kind (64 bytes). */
export function quoteReportData(q: Quote): Uint8Array {
  return q.body.report.reportData;
}
