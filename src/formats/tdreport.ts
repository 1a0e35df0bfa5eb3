import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes, isZero } from '../bytes/util.ts';
import { sha384 } from '../crypto/sha384.ts';
import { FormatError } from '../errors.ts';

/**
 * TDREPORT_STRUCT (1024 bytes) as TDG.MR.REPORT returns it (Intel TDX Module ABI; docs/formats-tdx.md):
 *
 *   0  256  REPORTMACSTRUCT: REPORTTYPE (4: type 0x81, subtype 0, version 0 = TDX 1.0 / 1 = 1.5, reserved)
 *           | reserved (12) | CPUSVN (16) | TEE_TCB_INFO_HASH (48) | TEE_INFO_HASH (48) | REPORTDATA (64)
 *           | reserved (32) | MAC (32, over bytes 0..223)
 *   256 239 TEE_TCB_INFO: VALID (8) | TEE_TCB_SVN (16) | MRSEAM (48) | MRSIGNERSEAM (48) | ATTRIBUTES (8)
 *           | TEE_TCB_SVN2 (16, version 1) | reserved (95)
 *   495  17 reserved
 *   512 512 TDINFO: ATTRIBUTES (8) | XFAM (8) | MRTD (48) | MRCONFIGID (48) | MROWNER (48) | MROWNERCONFIG (48)
 *           | RTMR0..3 (4×48) | SERVTD_HASH (48, version 1) | reserved (64)
 *
 * TEE_TCB_INFO_HASH = SHA-384(TEE_TCB_INFO), TEE_INFO_HASH = SHA-384(TDINFO).
 */
export const TDREPORT_SIZE = 1024;
export const REPORTMACSTRUCT_MACED = 224;
export const TEE_TCB_INFO_OFFSET = 256;
export const TEE_TCB_INFO_SIZE = 239;
export const TDINFO_OFFSET = 512;
export const TDINFO_SIZE = 512;

export interface TeeTcbInfo {
  valid: Uint8Array; // 8
  teeTcbSvn: Uint8Array; // 16
  mrSeam: Uint8Array; // 48
  mrSignerSeam: Uint8Array; // 48
  attributes: Uint8Array; // 8
  teeTcbSvn2: Uint8Array; // 16 (zero in TDX 1.0)
}

export interface TdInfo {
  attributes: Uint8Array; // 8
  xfam: Uint8Array; // 8
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  servTdHash: Uint8Array; // 48 (zero in TDX 1.0 / a TD bound to no service TD)
}

export interface TdReport {
  /** REPORTTYPE.VERSION: 0 = TDX 1.0, 1 = TDX 1.5. */
  version: number;
  cpuSvn: Uint8Array;
  teeTcbInfoHash: Uint8Array;
  teeInfoHash: Uint8Array;
  reportData: Uint8Array;
  mac: Uint8Array;
  teeTcbInfo: TeeTcbInfo;
  tdInfo: TdInfo;
  /** The exact 224 MACed bytes of REPORTMACSTRUCT. */
  macedBytes: Uint8Array;
  teeTcbInfoBytes: Uint8Array;
  tdInfoBytes: Uint8Array;
}

export function writeTeeTcbInfo(t: TeeTcbInfo): Uint8Array {
  return new Writer()
    .bytes(abytes(t.valid, 8, 'VALID'))
    .bytes(abytes(t.teeTcbSvn, 16, 'TEE_TCB_SVN'))
    .bytes(abytes(t.mrSeam, 48, 'MRSEAM'))
    .bytes(abytes(t.mrSignerSeam, 48, 'MRSIGNERSEAM'))
    .bytes(abytes(t.attributes, 8, 'ATTRIBUTES'))
    .bytes(abytes(t.teeTcbSvn2, 16, 'TEE_TCB_SVN2'))
    .zeros(95)
    .finish();
}

export function writeTdInfo(t: TdInfo): Uint8Array {
  const w = new Writer()
    .bytes(abytes(t.attributes, 8, 'ATTRIBUTES'))
    .bytes(abytes(t.xfam, 8, 'XFAM'))
    .bytes(abytes(t.mrTd, 48, 'MRTD'))
    .bytes(abytes(t.mrConfigId, 48, 'MRCONFIGID'))
    .bytes(abytes(t.mrOwner, 48, 'MROWNER'))
    .bytes(abytes(t.mrOwnerConfig, 48, 'MROWNERCONFIG'));
  t.rtmr.forEach((m, i) => w.bytes(abytes(m, 48, `RTMR${i}`)));
  return w
    .bytes(abytes(t.servTdHash, 48, 'SERVTD_HASH'))
    .zeros(64)
    .finish();
}

/** REPORTMACSTRUCT's first 224 bytes (what the MAC covers), hashes computed from the two structures. */
export function macedPart(
  version: number,
  cpuSvn: Uint8Array,
  teeTcbInfo: Uint8Array,
  tdInfo: Uint8Array,
  reportData: Uint8Array,
): Uint8Array {
  return new Writer()
    .u8(0x81)
    .u8(0)
    .u8(version)
    .u8(0)
    .zeros(12)
    .bytes(abytes(cpuSvn, 16, 'CPUSVN'))
    .bytes(sha384(teeTcbInfo))
    .bytes(sha384(tdInfo))
    .bytes(abytes(reportData, 64, 'REPORTDATA'))
    .zeros(32)
    .finish();
}

export function assembleTdReport(
  maced: Uint8Array,
  mac: Uint8Array,
  teeTcbInfo: Uint8Array,
  tdInfo: Uint8Array,
): Uint8Array {
  return new Writer()
    .bytes(abytes(maced, REPORTMACSTRUCT_MACED, 'REPORTMACSTRUCT'))
    .bytes(abytes(mac, 32, 'MAC'))
    .bytes(abytes(teeTcbInfo, TEE_TCB_INFO_SIZE, 'TEE_TCB_INFO'))
    .zeros(17)
    .bytes(abytes(tdInfo, TDINFO_SIZE, 'TDINFO'))
    .finish();
}

/** Parses a TDREPORT (exactly 1024 bytes; REPORTTYPE 0x81; reserved bytes zero). FormatError otherwise. */
export function parseTdReport(bytes: Uint8Array): TdReport {
  if (bytes.length < TDREPORT_SIZE)
    throw new FormatError(`TDREPORT: ${bytes.length} bytes, not ${TDREPORT_SIZE}`, 'ERR_SHORT_INPUT');
  if (bytes.length > TDREPORT_SIZE)
    throw new FormatError(`TDREPORT: ${bytes.length} bytes, not ${TDREPORT_SIZE}`, 'ERR_TRAILING_BYTES');
  const r = new Reader(bytes, 'TDREPORT');
  const type = r.u8('REPORTTYPE.TYPE');
  r.u8('REPORTTYPE.SUBTYPE');
  const version = r.u8('REPORTTYPE.VERSION');
  if (type !== 0x81 || version > 1)
    throw new FormatError(`TDREPORT: REPORTTYPE ${type}/${version} is not a TDX 1.0/1.5 report`, 'ERR_TDREPORT_FORMAT');
  r.skip(13, 'reserved');
  const cpuSvn = r.bytesOf(16, 'CPUSVN');
  const teeTcbInfoHash = r.bytesOf(48, 'TEE_TCB_INFO_HASH');
  const teeInfoHash = r.bytesOf(48, 'TEE_INFO_HASH');
  const reportData = r.bytesOf(64, 'REPORTDATA');
  r.skip(32, 'reserved');
  const mac = r.bytesOf(32, 'MAC');
  const teeTcbInfoBytes = r.bytesOf(TEE_TCB_INFO_SIZE, 'TEE_TCB_INFO');
  r.skip(17, 'reserved');
  const tdInfoBytes = r.bytesOf(TDINFO_SIZE, 'TDINFO');
  const t = new Reader(teeTcbInfoBytes, 'TEE_TCB_INFO');
  const teeTcbInfo: TeeTcbInfo = {
    valid: t.bytesOf(8, 'VALID'),
    teeTcbSvn: t.bytesOf(16, 'TEE_TCB_SVN'),
    mrSeam: t.bytesOf(48, 'MRSEAM'),
    mrSignerSeam: t.bytesOf(48, 'MRSIGNERSEAM'),
    attributes: t.bytesOf(8, 'ATTRIBUTES'),
    teeTcbSvn2: t.bytesOf(16, 'TEE_TCB_SVN2'),
  };
  const i = new Reader(tdInfoBytes, 'TDINFO');
  const tdInfo: TdInfo = {
    attributes: i.bytesOf(8, 'ATTRIBUTES'),
    xfam: i.bytesOf(8, 'XFAM'),
    mrTd: i.bytesOf(48, 'MRTD'),
    mrConfigId: i.bytesOf(48, 'MRCONFIGID'),
    mrOwner: i.bytesOf(48, 'MROWNER'),
    mrOwnerConfig: i.bytesOf(48, 'MROWNERCONFIG'),
    rtmr: [i.bytesOf(48, 'RTMR0'), i.bytesOf(48, 'RTMR1'), i.bytesOf(48, 'RTMR2'), i.bytesOf(48, 'RTMR3')],
    servTdHash: i.bytesOf(48, 'SERVTD_HASH'),
  };
  if (!isZero(i.rest()) || !isZero(t.rest()))
    throw new FormatError('TDREPORT: reserved bytes are not zero', 'ERR_TDREPORT_FORMAT');
  return {
    version,
    cpuSvn,
    teeTcbInfoHash,
    teeInfoHash,
    reportData,
    mac,
    teeTcbInfo,
    tdInfo,
    macedBytes: bytes.subarray(0, REPORTMACSTRUCT_MACED),
    teeTcbInfoBytes,
    tdInfoBytes,
  };
}
