import { createHash, type Hash } from 'node:crypto';
import { abytes } from '../bytes/util.ts';
import { ArgumentError, FormatError } from '../errors.ts';
import { SECINFO_DEFINED_FLAGS } from '../formats/secinfo.ts';
import { parseSgxs, SGXS_DATA_SIZE, SGXS_RECORD_SIZE, SGXS_TAGS, type SgxsRecord } from '../formats/sgxs.ts';

/**
 * MRENCLAVE, computed as the CPU does (Intel SDM Vol 3D: ECREATE, EADD, EEXTEND): a running SHA-256
 * over 64-byte blocks.
 *
 *   ECREATE  "ECREATE\0"    ‖ SSAFRAMESIZE u32 ‖ SIZE u64 ‖ 44 zero bytes
 *   EADD     "EADD\0\0\0\0" ‖ OFFSET u64 ‖ SECINFO[0:48] (FLAGS u64 ‖ 40 zero bytes)
 *   EEXTEND  "EEXTEND\0"    ‖ OFFSET u64 ‖ 48 zero bytes, then the 256 measured bytes
 *
 * OFFSET is the page's (or chunk's) offset from the enclave base, so MRENCLAVE does not depend on
 * where the enclave is loaded. The order rules are the CPU's: ECREATE once and first; EADD at a
 * page-aligned offset inside SIZE, each page once; EEXTEND 256-byte aligned inside a page already
 * added. Breaking one is a FormatError `ERR_MEASUREMENT_ORDER`.
 */
const PAGE = 4096n;
const CHUNK = BigInt(SGXS_DATA_SIZE);
const show = (v: unknown) => (typeof v === 'bigint' && v >= 0n ? `0x${v.toString(16)}` : String(v));

export class Measurement {
  readonly #hash: Hash = createHash('sha256');
  #size: bigint | undefined;
  #finished = false;
  readonly #pages = new Set<bigint>();
  readonly #block = new Uint8Array(SGXS_RECORD_SIZE);
  readonly #view = new DataView(this.#block.buffer);

  #fail(msg: string): never {
    throw new FormatError(`measurement: ${msg}`, 'ERR_MEASUREMENT_ORDER');
  }

  #open(op: string): bigint {
    if (this.#finished) this.#fail(`${op} after finish()`);
    if (this.#size === undefined) this.#fail(`${op} before ECREATE`);
    return this.#size;
  }

  #emit(tag: Uint8Array, fill: (v: DataView) => void): void {
    this.#block.fill(0);
    this.#block.set(tag, 0);
    fill(this.#view);
    this.#hash.update(this.#block);
  }

  /** ECREATE: SSAFRAMESIZE (pages, ≥ 1) and SIZE (a power of two, ≥ 8 KiB). */
  ecreate(ssaFrameSize: number, enclaveSize: bigint): void {
    if (this.#finished) this.#fail('ECREATE after finish()');
    if (this.#size !== undefined) this.#fail('ECREATE twice');
    if (!Number.isInteger(ssaFrameSize) || ssaFrameSize < 1 || ssaFrameSize > 0xffffffff)
      throw new ArgumentError(`ssaFrameSize: expected a u32 ≥ 1, got ${ssaFrameSize}`);
    if (
      typeof enclaveSize !== 'bigint' ||
      enclaveSize < 2n * PAGE ||
      enclaveSize > 0xffffffffffffffffn ||
      (enclaveSize & (enclaveSize - 1n)) !== 0n
    ) {
      throw new ArgumentError(`enclaveSize: expected a power of two ≥ 8192, got ${String(enclaveSize)}`);
    }
    this.#size = enclaveSize;
    this.#emit(SGXS_TAGS.ECREATE, (v) => {
      v.setUint32(8, ssaFrameSize, true);
      v.setBigUint64(12, enclaveSize, true);
    });
  }

  /** EADD of the page at `offset` with these SECINFO.FLAGS (the page content is measured by EEXTEND, not here). */
  eadd(offset: bigint, secinfoFlags: bigint): void {
    const size = this.#open('EADD');
    if (typeof offset !== 'bigint' || offset < 0n || offset % PAGE !== 0n || offset >= size)
      this.#fail(`EADD at offset ${show(offset)} (not page-aligned or outside SIZE 0x${size.toString(16)})`);
    if (typeof secinfoFlags !== 'bigint' || secinfoFlags < 0n || (secinfoFlags & ~SECINFO_DEFINED_FLAGS) !== 0n) {
      throw new ArgumentError(`secinfoFlags: reserved bits set (${String(secinfoFlags)})`);
    }
    if (this.#pages.has(offset)) this.#fail(`EADD of page 0x${offset.toString(16)} twice`);
    this.#pages.add(offset);
    this.#emit(SGXS_TAGS.EADD, (v) => {
      v.setBigUint64(8, offset, true);
      v.setBigUint64(16, secinfoFlags, true);
    });
  }

  /** EEXTEND of the 256 bytes at `offset` (256-byte aligned, inside a page already added). */
  eextend(offset: bigint, chunk: Uint8Array): void {
    this.#open('EEXTEND');
    abytes(chunk, SGXS_DATA_SIZE, 'EEXTEND chunk');
    if (typeof offset !== 'bigint' || offset < 0n || offset % CHUNK !== 0n)
      this.#fail(`EEXTEND at offset ${show(offset)} (not 256-byte aligned)`);
    if (!this.#pages.has(offset - (offset % PAGE)))
      this.#fail(`EEXTEND at 0x${offset.toString(16)} in a page not added`);
    this.#emit(SGXS_TAGS.EEXTEND, (v) => v.setBigUint64(8, offset, true));
    this.#hash.update(chunk);
  }

  /** EADD of a 4096-byte page, then (when `measured`, the default) its 16 EEXTENDs in order. */
  addPage(offset: bigint, secinfoFlags: bigint, page: Uint8Array, measured = true): void {
    abytes(page, Number(PAGE), 'page');
    this.eadd(offset, secinfoFlags);
    if (!measured) return;
    for (let i = 0; i < 16; i++)
      this.eextend(offset + BigInt(i) * CHUNK, page.subarray(i * SGXS_DATA_SIZE, (i + 1) * SGXS_DATA_SIZE));
  }

  /** MRENCLAVE (32 bytes). The measurement cannot be extended afterwards (EINIT closes it). */
  finish(): Uint8Array {
    this.#open('finish()');
    this.#finished = true;
    return new Uint8Array(this.#hash.digest());
  }
}

/**
 * MRENCLAVE of an SGXS stream: the records are parsed strictly (unknown tag, reserved bytes,
 * truncation → FormatError) and replayed through Measurement, so the CPU's order rules apply.
 * UNMEASRD records are loaded but not measured; an UNSIZED stream cannot be measured.
 */
export function measureSgxs(sgxs: Uint8Array): Uint8Array {
  const records = parseSgxs(sgxs);
  if (records.length === 0) throw new FormatError('sgxs: empty stream', 'ERR_SGXS_EMPTY');
  const m = new Measurement();
  try {
    replay(m, records);
  } catch (e) {
    // A value the CPU would refuse (SSAFRAMESIZE 0, SIZE not a power of two) is bad input here, not a caller bug.
    if (e instanceof ArgumentError) throw new FormatError(`sgxs: ${e.message}`, 'ERR_SGXS_VALUE');
    throw e;
  }
  return m.finish();
}

function replay(m: Measurement, records: SgxsRecord[]): void {
  for (const rec of records) {
    switch (rec.tag) {
      case 'ECREATE':
        m.ecreate(rec.ssaFrameSize, rec.size);
        break;
      case 'UNSIZED':
        throw new FormatError(
          'sgxs: an UNSIZED stream cannot be measured until its size is fixed by an ECREATE record',
          'ERR_SGXS_UNSIZED',
        );
      case 'EADD':
        m.eadd(rec.offset, rec.secinfoFlags);
        break;
      case 'EEXTEND':
        m.eextend(rec.offset, rec.data);
        break;
      case 'UNMEASRD':
        break;
    }
  }
}
