import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes } from '../bytes/util.ts';
import { ArgumentError, FormatError } from '../errors.ts';
import { readAttributes, writeAttributes, type Attributes } from './attributes.ts';

/**
 * SECS — SGX Enclave Control Structure, 4096 bytes, one page (Intel SDM Vol 3D, §"SGX Enclave Control
 * Structure (SECS)"; Linux `arch/x86/include/asm/sgx.h` struct sgx_secs). All integers little-endian.
 *
 *   off   len  field
 *     0     8  SIZE           enclave size in bytes (a power of two)
 *     8     8  BASEADDR       enclave base linear address (naturally aligned to SIZE)
 *    16     4  SSAFRAMESIZE   SSA frame size in pages
 *    20     4  MISCSELECT
 *    24    24  reserved       (CET_LEG_BITMAP_OFFSET / CET_ATTRIBUTES on CET-capable parts; zero here)
 *    48    16  ATTRIBUTES     (u64 flags, u64 xfrm)
 *    64    32  MRENCLAVE
 *    96    32  reserved
 *   128    32  MRSIGNER
 *   160    32  reserved
 *   192    64  CONFIGID
 *   256     2  ISVPRODID
 *   258     2  ISVSVN
 *   260     2  CONFIGSVN
 *   262  3834  reserved       (the CPU keeps its own fields here; software writes zero)
 *
 * Note: CONFIGID sits at 192, not 160 — the kernel's struct and the REPORT body agree, and
 * ISVPRODID at 256 only fits with CONFIGID at 192. The KSS fields ISVFAMILYID/ISVEXTPRODID are
 * CPU-held in the reserved area and not modelled. Parsing skips reserved bytes; serialising writes zeros.
 */
export const SECS_SIZE = 4096;

export interface Secs {
  size: bigint;
  baseAddr: bigint;
  ssaFrameSize: number;
  miscSelect: number;
  attributes: Attributes;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  configId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
}

/** Parses exactly 4096 bytes (FormatError ERR_LENGTH otherwise). */
export function parseSecs(bytes: Uint8Array): Secs {
  abytes(bytes, undefined, 'secs');
  if (bytes.length !== SECS_SIZE)
    throw new FormatError(`secs: expected ${SECS_SIZE} bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const r = new Reader(bytes, 'secs');
  const size = r.u64('size');
  const baseAddr = r.u64('baseaddr');
  const ssaFrameSize = r.u32('ssaframesize');
  const miscSelect = r.u32('miscselect');
  r.skip(24, 'reserved1');
  const attributes = readAttributes(r);
  const mrEnclave = r.bytesOf(32, 'mrenclave');
  r.skip(32, 'reserved2');
  const mrSigner = r.bytesOf(32, 'mrsigner');
  r.skip(32, 'reserved3');
  const configId = r.bytesOf(64, 'config_id');
  const isvProdId = r.u16('isvprodid');
  const isvSvn = r.u16('isvsvn');
  const configSvn = r.u16('config_svn');
  r.skip(3834, 'reserved4');
  r.end();
  return {
    size,
    baseAddr,
    ssaFrameSize,
    miscSelect,
    attributes,
    mrEnclave,
    mrSigner,
    configId,
    isvProdId,
    isvSvn,
    configSvn,
  };
}

function u64(v: bigint, name: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn)
    throw new ArgumentError(`${name}: expected a u64 bigint`);
  return v;
}
function uint(v: number, bits: 16 | 32, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits)
    throw new ArgumentError(`${name}: expected a u${bits}, got ${v}`);
  return v;
}

export function serializeSecs(s: Secs): Uint8Array {
  const w = new Writer()
    .u64(u64(s.size, 'size'))
    .u64(u64(s.baseAddr, 'baseAddr'))
    .u32(uint(s.ssaFrameSize, 32, 'ssaFrameSize'))
    .u32(uint(s.miscSelect, 32, 'miscSelect'))
    .zeros(24);
  writeAttributes(w, {
    flags: u64(s.attributes?.flags, 'attributes.flags'),
    // Stryker disable next-line OptionalChaining: a missing attributes is refused on the line above (attributes.flags) first
    xfrm: u64(s.attributes?.xfrm, 'attributes.xfrm'),
  });
  w.bytes(abytes(s.mrEnclave, 32, 'mrEnclave'))
    .zeros(32)
    .bytes(abytes(s.mrSigner, 32, 'mrSigner'))
    .zeros(32)
    .bytes(abytes(s.configId, 64, 'configId'))
    .u16(uint(s.isvProdId, 16, 'isvProdId'))
    .u16(uint(s.isvSvn, 16, 'isvSvn'))
    .u16(uint(s.configSvn, 16, 'configSvn'))
    .zeros(3834);
  return w.finish();
}
