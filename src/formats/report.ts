import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes } from '../bytes/util.ts';
import { FormatError } from '../errors.ts';
import { readAttributes, writeAttributes, type Attributes } from './attributes.ts';

/**
 * sgx_report_body_t — 384 bytes (Intel SDK `sgx_report.h`; also the enclave report body of a DCAP quote).
 *
 *   off  len  field
 *     0   16  cpu_svn
 *    16    4  misc_select
 *    20   12  reserved1
 *    32   16  isv_ext_prod_id
 *    48   16  attributes (u64 flags, u64 xfrm)
 *    64   32  mr_enclave
 *    96   32  reserved2
 *   128   32  mr_signer
 *   160   32  reserved3
 *   192   64  config_id
 *   256    2  isv_prod_id
 *   258    2  isv_svn
 *   260    2  config_svn
 *   262   42  reserved4
 *   304   16  isv_family_id
 *   320   64  report_data
 *
 * sgx_report_t — 432 bytes: body (384) ‖ key_id (32) ‖ mac (16). The MAC is AES-128-CMAC over the body
 * under the REPORT key of the target enclave, derived with key_id.
 */
export const REPORT_BODY_SIZE = 384;
export const REPORT_SIZE = 432;

export interface ReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  isvExtProdId: Uint8Array;
  attributes: Attributes;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  configId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Uint8Array;
  reportData: Uint8Array;
}

export interface Report {
  body: ReportBody;
  keyId: Uint8Array;
  mac: Uint8Array;
  /** The exact 384 bytes the MAC covers. */
  rawBody: Uint8Array;
}

/** Reads a report body from a cursor (used inside larger structures such as quotes). Reserved bytes are skipped. */
export function readReportBody(r: Reader): ReportBody {
  const cpuSvn = r.bytesOf(16, 'cpu_svn');
  const miscSelect = r.u32('misc_select');
  r.skip(12, 'reserved1');
  const isvExtProdId = r.bytesOf(16, 'isv_ext_prod_id');
  const attributes = readAttributes(r);
  const mrEnclave = r.bytesOf(32, 'mr_enclave');
  r.skip(32, 'reserved2');
  const mrSigner = r.bytesOf(32, 'mr_signer');
  r.skip(32, 'reserved3');
  const configId = r.bytesOf(64, 'config_id');
  const isvProdId = r.u16('isv_prod_id');
  const isvSvn = r.u16('isv_svn');
  const configSvn = r.u16('config_svn');
  r.skip(42, 'reserved4');
  const isvFamilyId = r.bytesOf(16, 'isv_family_id');
  const reportData = r.bytesOf(64, 'report_data');
  return {
    cpuSvn,
    miscSelect,
    isvExtProdId,
    attributes,
    mrEnclave,
    mrSigner,
    configId,
    isvProdId,
    isvSvn,
    configSvn,
    isvFamilyId,
    reportData,
  };
}

/** Parses exactly 384 bytes. */
export function parseReportBody(bytes: Uint8Array): ReportBody {
  if (bytes.length !== REPORT_BODY_SIZE)
    throw new FormatError(`report body: expected 384 bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const r = new Reader(bytes, 'report body');
  const body = readReportBody(r);
  r.end();
  return body;
}

export function writeReportBody(w: Writer, b: ReportBody): void {
  w.bytes(abytes(b.cpuSvn, 16, 'cpu_svn'))
    .u32(b.miscSelect)
    .zeros(12)
    .bytes(abytes(b.isvExtProdId, 16, 'isv_ext_prod_id'));
  writeAttributes(w, b.attributes);
  w.bytes(abytes(b.mrEnclave, 32, 'mr_enclave'))
    .zeros(32)
    .bytes(abytes(b.mrSigner, 32, 'mr_signer'))
    .zeros(32)
    .bytes(abytes(b.configId, 64, 'config_id'))
    .u16(b.isvProdId)
    .u16(b.isvSvn)
    .u16(b.configSvn)
    .zeros(42)
    .bytes(abytes(b.isvFamilyId, 16, 'isv_family_id'))
    .bytes(abytes(b.reportData, 64, 'report_data'));
}

export function serializeReportBody(b: ReportBody): Uint8Array {
  const w = new Writer();
  writeReportBody(w, b);
  return w.finish();
}

/** Parses exactly 432 bytes. */
export function parseReport(bytes: Uint8Array): Report {
  if (bytes.length !== REPORT_SIZE)
    throw new FormatError(`report: expected 432 bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const r = new Reader(bytes, 'report');
  const rawBody = bytes.subarray(0, REPORT_BODY_SIZE);
  const body = readReportBody(r);
  const keyId = r.bytesOf(32, 'key_id');
  const mac = r.bytesOf(16, 'mac');
  r.end();
  return { body, keyId, mac, rawBody };
}

export function serializeReport(body: ReportBody | Uint8Array, keyId: Uint8Array, mac: Uint8Array): Uint8Array {
  const w = new Writer();
  if (body instanceof Uint8Array) w.bytes(body, REPORT_BODY_SIZE);
  else writeReportBody(w, body);
  w.bytes(abytes(keyId, 32, 'key_id')).bytes(abytes(mac, 16, 'mac'));
  return w.finish();
}

/** An all-default body, convenient for building reports field by field. */
export function emptyReportBody(): ReportBody {
  return {
    cpuSvn: new Uint8Array(16),
    miscSelect: 0,
    isvExtProdId: new Uint8Array(16),
    attributes: { flags: 0n, xfrm: 0n },
    mrEnclave: new Uint8Array(32),
    mrSigner: new Uint8Array(32),
    configId: new Uint8Array(64),
    isvProdId: 0,
    isvSvn: 0,
    configSvn: 0,
    isvFamilyId: new Uint8Array(16),
    reportData: new Uint8Array(64),
  };
}
