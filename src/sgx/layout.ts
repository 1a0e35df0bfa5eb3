import { Reader, Writer } from '../bytes/cursor.ts';
import { ctEqual, equal, isZero } from '../bytes/util.ts';
import { sha256 } from '../crypto/sha256.ts';
import { SgxError } from './errors.ts';

/**
 * How an enclave (a JavaScript module + its config) is laid out into 4 KiB pages, and the SGXS
 * measurement stream those pages produce.
 *
 * Page layout (offsets relative to the enclave base, all page-aligned):
 *
 *   0x0000            header page, SECINFO R|PT_REG, fully measured (layout below)
 *   0x1000            module pages: the module text (UTF-8) zero-padded, SECINFO R|X|PT_REG, fully measured
 *   heapOffset        heap: heapSize bytes, SECINFO R|W|PT_REG, EADD only (content not measured, zero)
 *   then per TCS i:   stack: stackSize bytes, R|W|PT_REG, EADD only
 *                     TCS page, SECINFO PT_TCS (0x100), fully measured (TCS layout below)
 *                     SSA: NSSA (2) × ssaFrameSize pages, R|W|PT_REG, fully measured (zeros)
 *
 * ECREATE's SIZE is the smallest power of two ≥ the laid-out size (at least 2 pages).
 *
 * Header page, little-endian:
 *   off len  field
 *     0  16  magic "CATENA-ENCLAVE\0\0"
 *    16   4  layout version (1)
 *    20   4  TCS count
 *    24   8  module offset (0x1000)
 *    32   8  module length in bytes
 *    40   8  heap offset
 *    48   8  heap size
 *    56   8  stack size per TCS
 *    64   4  SSA frame size (pages)
 *    68   4  NSSA
 *    72  32  SHA-256 of the module text
 *   104 3992 zero
 *
 * TCS page (Intel SDM "Thread Control Structure"), the fields we fill:
 *   off 16 OSSA (offset of the thread's first SSA frame), off 28 NSSA, off 32 OENTRY (module offset),
 *   off 48 OFSBASGX and off 56 OGSBASGX (the thread's stack base), off 64 FSLIMIT and off 68 GSLIMIT (0xfff);
 *   everything else zero.
 *
 * SGXS stream (Fortanix `doc/SGXS.md`; MRENCLAVE = SHA-256 of the whole stream), 64-byte records:
 *   ECREATE: "ECREATE\0" ‖ SSAFRAMESIZE u32 ‖ SIZE u64 ‖ 44 zero
 *   EADD:    "EADD\0\0\0\0" ‖ OFFSET u64 ‖ SECINFO[0:48] (FLAGS u64 ‖ 40 zero)
 *   EEXTEND: "EEXTEND\0" ‖ OFFSET u64 ‖ 48 zero, followed by the 256 measured bytes
 */
export const PAGE_SIZE = 4096;
export const LAYOUT_VERSION = 1;
export const NSSA = 2;
export const HEADER_MAGIC = new TextEncoder().encode('CATENA-ENCLAVE\0\0');
export const MODULE_OFFSET = 0x1000n;

/** SECINFO.FLAGS values used by the layout (Intel SDM: R 0x1, W 0x2, X 0x4, PAGE_TYPE in bits 8–15). */
export const PAGE_FLAGS = {
  HEADER: 0x201n, // R | PT_REG
  CODE: 0x205n, // R | X | PT_REG
  DATA: 0x203n, // R | W | PT_REG
  TCS: 0x100n, // PT_TCS
} as const;

export interface LayoutParams {
  heapSize: number;
  stackSize: number;
  tcsCount: number;
  ssaFrameSize: number;
}

export interface PageSpec {
  offset: bigint;
  secinfoFlags: bigint;
  /** Page content (4096 bytes), or undefined for an unmeasured zero page. */
  data: Uint8Array | undefined;
  measured: boolean;
}

export interface EnclaveLayout {
  enclaveSize: bigint;
  ssaFrameSize: number;
  pages: PageSpec[];
}

const TAG_ECREATE = new TextEncoder().encode('ECREATE\0');
const TAG_EADD = new TextEncoder().encode('EADD\0\0\0\0');
const TAG_EEXTEND = new TextEncoder().encode('EEXTEND\0');

const pages = (bytes: number) => Math.ceil(bytes / PAGE_SIZE);

function headerPage(moduleText: Uint8Array, p: LayoutParams, heapOffset: bigint): Uint8Array {
  const w = new Writer()
    .bytes(HEADER_MAGIC)
    .u32(LAYOUT_VERSION)
    .u32(p.tcsCount)
    .u64(MODULE_OFFSET)
    .u64(BigInt(moduleText.length))
    .u64(heapOffset)
    .u64(BigInt(p.heapSize))
    .u64(BigInt(p.stackSize))
    .u32(p.ssaFrameSize)
    .u32(NSSA)
    .bytes(sha256(moduleText));
  w.zeros(PAGE_SIZE - w.length);
  return w.finish();
}

function tcsPage(ossa: bigint, stackBase: bigint): Uint8Array {
  const w = new Writer()
    .u64(0n) // STATE
    .u64(0n) // FLAGS
    .u64(ossa)
    .u32(0) // CSSA
    .u32(NSSA)
    .u64(MODULE_OFFSET) // OENTRY
    .u64(0n) // AEP (set by EENTER)
    .u64(stackBase) // OFSBASGX
    .u64(stackBase) // OGSBASGX
    .u32(0xfff) // FSLIMIT
    .u32(0xfff); // GSLIMIT
  w.zeros(PAGE_SIZE - w.length);
  return w.finish();
}

/** Lays a module and its layout parameters out into pages. Sizes must be page multiples (checked by the config). */
export function layoutEnclave(moduleText: Uint8Array, p: LayoutParams): EnclaveLayout {
  const out: PageSpec[] = [];
  const codePages = Math.max(1, pages(moduleText.length));
  const heapOffset = MODULE_OFFSET + BigInt(codePages * PAGE_SIZE);
  out.push({
    offset: 0n,
    secinfoFlags: PAGE_FLAGS.HEADER,
    data: headerPage(moduleText, p, heapOffset),
    measured: true,
  });
  for (let i = 0; i < codePages; i++) {
    const page = new Uint8Array(PAGE_SIZE);
    page.set(moduleText.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    out.push({
      offset: MODULE_OFFSET + BigInt(i * PAGE_SIZE),
      secinfoFlags: PAGE_FLAGS.CODE,
      data: page,
      measured: true,
    });
  }
  let at = heapOffset;
  for (let i = 0; i < pages(p.heapSize); i++, at += BigInt(PAGE_SIZE)) {
    out.push({ offset: at, secinfoFlags: PAGE_FLAGS.DATA, data: undefined, measured: false });
  }
  for (let t = 0; t < p.tcsCount; t++) {
    const stackBase = at;
    for (let i = 0; i < pages(p.stackSize); i++, at += BigInt(PAGE_SIZE)) {
      out.push({ offset: at, secinfoFlags: PAGE_FLAGS.DATA, data: undefined, measured: false });
    }
    const tcsOffset = at;
    at += BigInt(PAGE_SIZE);
    out.push({ offset: tcsOffset, secinfoFlags: PAGE_FLAGS.TCS, data: tcsPage(at, stackBase), measured: true });
    for (let i = 0; i < NSSA * p.ssaFrameSize; i++, at += BigInt(PAGE_SIZE)) {
      out.push({ offset: at, secinfoFlags: PAGE_FLAGS.DATA, data: new Uint8Array(PAGE_SIZE), measured: true });
    }
  }
  let size = BigInt(2 * PAGE_SIZE);
  while (size < at) size *= 2n;
  return { enclaveSize: size, ssaFrameSize: p.ssaFrameSize, pages: out };
}

/** The SGXS measurement stream of a layout (SHA-256 of it is MRENCLAVE). */
export function sgxsOf(layout: EnclaveLayout): Uint8Array {
  const w = new Writer().bytes(TAG_ECREATE).u32(layout.ssaFrameSize).u64(layout.enclaveSize).zeros(44);
  for (const pg of layout.pages) {
    w.bytes(TAG_EADD).u64(pg.offset).u64(pg.secinfoFlags).zeros(40);
    if (!pg.measured) continue;
    const data = pg.data ?? new Uint8Array(PAGE_SIZE);
    for (let c = 0; c < PAGE_SIZE; c += 256) {
      w.bytes(TAG_EEXTEND)
        .u64(pg.offset + BigInt(c))
        .zeros(48)
        .bytes(data.subarray(c, c + 256));
    }
  }
  return w.finish();
}

/** What the loader recovers from an SGXS stream built by layoutEnclave. */
export interface LoadedImage {
  mrEnclave: Uint8Array;
  enclaveSize: bigint;
  ssaFrameSize: number;
  /** The module text exactly as measured. */
  moduleText: string;
  /** SHA-256 of the module text (from the measured header page, checked). */
  moduleHash: Uint8Array;
  tcsCount: number;
  heapSize: number;
  stackSize: number;
}

const bad = (msg: string) => new SgxError('ERR_EINIT_IMAGE', `enclave image: ${msg}`);

/**
 * Executes an SGXS stream as the CPU would (ECREATE, EADD, EEXTEND), rejecting anything hardware
 * would refuse or that is not a plain measurement record (so MRENCLAVE = SHA-256 of the stream),
 * then reads the Catena header page and the module text back from the measured pages only.
 */
export function loadSgxs(sgxs: Uint8Array): LoadedImage {
  const r = new Reader(sgxs, 'sgxs');
  const measured = new Map<bigint, Uint8Array>(); // page offset → content of measured chunks
  const added = new Set<bigint>();
  const extended = new Set<bigint>();
  let enclaveSize = 0n;
  let ssaFrameSize = 0;
  try {
    if (!equal(r.bytesOf(8, 'ECREATE tag'), TAG_ECREATE)) throw bad('stream does not start with ECREATE');
    ssaFrameSize = r.u32('ssaframesize');
    enclaveSize = r.u64('size');
    if (!isZero(r.bytesOf(44, 'ECREATE reserved'))) throw bad('ECREATE reserved bytes not zero');
    if (ssaFrameSize < 1) throw bad('SSAFRAMESIZE is zero');
    if (enclaveSize < BigInt(2 * PAGE_SIZE) || (enclaveSize & (enclaveSize - 1n)) !== 0n)
      throw bad('SIZE is not a power of two ≥ 8 KiB');
    while (r.remaining > 0) {
      const tag = r.bytesOf(8, 'record tag');
      const offset = r.u64('record offset');
      if (equal(tag, TAG_EADD)) {
        const flags = r.u64('secinfo flags');
        if (!isZero(r.bytesOf(40, 'secinfo reserved'))) throw bad('SECINFO reserved bytes not zero');
        if (offset % BigInt(PAGE_SIZE) !== 0n || offset >= enclaveSize)
          throw bad(`EADD at bad offset 0x${offset.toString(16)}`);
        if (added.has(offset)) throw bad(`page 0x${offset.toString(16)} added twice`);
        if (
          flags !== PAGE_FLAGS.HEADER &&
          flags !== PAGE_FLAGS.CODE &&
          flags !== PAGE_FLAGS.DATA &&
          flags !== PAGE_FLAGS.TCS
        ) {
          throw bad(`unsupported SECINFO flags 0x${flags.toString(16)}`);
        }
        added.add(offset);
      } else if (equal(tag, TAG_EEXTEND)) {
        if (!isZero(r.bytesOf(48, 'EEXTEND reserved'))) throw bad('EEXTEND reserved bytes not zero');
        const data = r.bytesOf(256, 'EEXTEND data');
        const page = offset - (offset % BigInt(PAGE_SIZE));
        if (offset % 256n !== 0n || !added.has(page))
          throw bad(`EEXTEND at 0x${offset.toString(16)} outside an added page`);
        if (extended.has(offset)) throw bad(`chunk 0x${offset.toString(16)} extended twice`);
        extended.add(offset);
        let content = measured.get(page);
        if (!content) measured.set(page, (content = new Uint8Array(PAGE_SIZE)));
        content.set(data, Number(offset - page));
      } else {
        throw bad('unknown or unmeasured record in the stream');
      }
    }
  } catch (e) {
    if (e instanceof SgxError) throw e;
    throw bad((e as Error).message);
  }
  const fully = (page: bigint) => {
    for (let c = 0n; c < BigInt(PAGE_SIZE); c += 256n) if (!extended.has(page + c)) return false;
    return true;
  };
  const header = measured.get(0n);
  if (!header || !fully(0n) || !equal(header.subarray(0, 16), HEADER_MAGIC))
    throw bad('no fully measured Catena header page at offset 0');
  const h = new Reader(header.subarray(16), 'header');
  const version = h.u32('version');
  if (version !== LAYOUT_VERSION) throw bad(`layout version ${version} unsupported`);
  const tcsCount = h.u32('tcs count');
  const moduleOffset = h.u64('module offset');
  const moduleLength = h.u64('module length');
  h.u64('heap offset');
  const heapSize = Number(h.u64('heap size'));
  const stackSize = Number(h.u64('stack size'));
  h.u32('ssa frame size');
  h.u32('nssa');
  const moduleHash = h.bytesOf(32, 'module hash');
  if (moduleOffset !== MODULE_OFFSET || moduleLength > enclaveSize) throw bad('module bounds out of range');
  const text = new Uint8Array(Number(moduleLength));
  for (let o = 0; o < text.length; o += PAGE_SIZE) {
    const page = MODULE_OFFSET + BigInt(o);
    const content = measured.get(page);
    if (!content || !fully(page)) throw bad(`module page 0x${page.toString(16)} not fully measured`);
    text.set(content.subarray(0, Math.min(PAGE_SIZE, text.length - o)), o);
  }
  if (!ctEqual(sha256(text), moduleHash)) throw bad('module text does not match the hash in the header page');
  let moduleText: string;
  try {
    moduleText = new TextDecoder('utf-8', { fatal: true }).decode(text);
  } catch {
    throw bad('module text is not UTF-8');
  }
  return { mrEnclave: sha256(sgxs), enclaveSize, ssaFrameSize, moduleText, moduleHash, tcsCount, heapSize, stackSize };
}
