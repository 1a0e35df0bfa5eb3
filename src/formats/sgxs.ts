import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes, isZero } from '../bytes/util.ts';
import { ArgumentError, FormatError } from '../errors.ts';
import { SECINFO_DEFINED_FLAGS } from './secinfo.ts';

/**
 * SGXS — the SGX stream format (Fortanix rust-sgx `doc/SGXS.md`): exactly the bytes SHA-256 hashes
 * into MRENCLAVE, as a sequence of 64-byte records, each an 8-byte tag then 56 bytes.
 *
 *   tag            bytes 8..64 of the record                                        followed by
 *   "ECREATE\0"    SSAFRAMESIZE u32 @8 ‖ SIZE u64 @12 ‖ 44 zero bytes                 —
 *   "EADD\0\0\0\0" OFFSET u64 @8 ‖ SECINFO[0:48] @16 (FLAGS u64 ‖ 40 zero bytes)      —
 *   "EEXTEND\0"    OFFSET u64 @8 ‖ 48 zero bytes                                      256 data bytes
 *
 * and the "enhanced" (ESGXS) records, which are not part of the measurement:
 *
 *   "UNSIZED\0"    as ECREATE, but bytes 12..20 hold the offset where SIZE will be written;
 *                  such a stream cannot be measured until it is replaced by an ECREATE
 *   "UNMEASRD"     as EEXTEND: 256 bytes loaded but not measured (skipped when hashing)
 *
 * OFFSET is relative to the enclave base. Parsing is strict: an unknown tag, non-zero reserved
 * bytes or reserved SECINFO flag bits, or a truncated record is a FormatError.
 */
export const SGXS_RECORD_SIZE = 64;
export const SGXS_DATA_SIZE = 256;

export type SgxsRecord =
  | { tag: 'ECREATE'; ssaFrameSize: number; size: bigint }
  | { tag: 'UNSIZED'; ssaFrameSize: number; sizeOffset: bigint }
  | { tag: 'EADD'; offset: bigint; secinfoFlags: bigint }
  | { tag: 'EEXTEND'; offset: bigint; data: Uint8Array }
  | { tag: 'UNMEASRD'; offset: bigint; data: Uint8Array };

export type SgxsTag = SgxsRecord['tag'];

const enc = (s: string) => new TextEncoder().encode(s.padEnd(8, '\0'));
export const SGXS_TAGS: Readonly<Record<SgxsTag, Uint8Array>> = {
  ECREATE: enc('ECREATE'),
  UNSIZED: enc('UNSIZED'),
  EADD: enc('EADD'),
  EEXTEND: enc('EEXTEND'),
  UNMEASRD: enc('UNMEASRD'),
};
const TAG_BY_U64: ReadonlyMap<bigint, SgxsTag> = new Map<bigint, SgxsTag>(
  (Object.keys(SGXS_TAGS) as SgxsTag[]).map((t) => [new DataView(SGXS_TAGS[t].buffer).getBigUint64(0, true), t]),
);

function reservedZero(r: Reader, n: number, what: string, at: number): void {
  if (!isZero(r.bytesOf(n, `${what} reserved`))) {
    throw new FormatError(`sgxs: ${what} record at byte ${at} has non-zero reserved bytes`, 'ERR_SGXS_RESERVED');
  }
}

/** Reads one record (and its data) from the cursor. */
export function readSgxsRecord(r: Reader): SgxsRecord {
  const at = r.offset;
  const tagWord = r.u64('record tag');
  const tag = TAG_BY_U64.get(tagWord);
  if (tag === undefined) {
    const shown = JSON.stringify(new TextDecoder('latin1').decode(r.bytes.subarray(at, at + 8)));
    throw new FormatError(`sgxs: unknown record tag ${shown} at byte ${at}`, 'ERR_SGXS_TAG');
  }
  switch (tag) {
    case 'ECREATE':
    case 'UNSIZED': {
      const ssaFrameSize = r.u32(`${tag} ssaframesize`);
      const size = r.u64(`${tag} size`);
      reservedZero(r, 44, tag, at);
      return tag === 'ECREATE' ? { tag, ssaFrameSize, size } : { tag, ssaFrameSize, sizeOffset: size };
    }
    case 'EADD': {
      const offset = r.u64('EADD offset');
      const secinfoFlags = r.u64('EADD secinfo flags');
      if ((secinfoFlags & ~SECINFO_DEFINED_FLAGS) !== 0n) {
        throw new FormatError(
          `sgxs: EADD record at byte ${at} sets reserved SECINFO flag bits (0x${secinfoFlags.toString(16)})`,
          'ERR_SGXS_RESERVED',
        );
      }
      reservedZero(r, 40, tag, at);
      return { tag, offset, secinfoFlags };
    }
    case 'EEXTEND':
    case 'UNMEASRD': {
      const offset = r.u64(`${tag} offset`);
      reservedZero(r, 48, tag, at);
      const data = r.bytesOf(SGXS_DATA_SIZE, `${tag} data`);
      return { tag, offset, data };
    }
  }
}

/** Parses a whole stream into records (data are views into `bytes`). */
export function parseSgxs(bytes: Uint8Array): SgxsRecord[] {
  abytes(bytes, undefined, 'sgxs');
  const r = new Reader(bytes, 'sgxs');
  const out: SgxsRecord[] = [];
  while (r.remaining > 0) out.push(readSgxsRecord(r));
  return out;
}

function u64(v: bigint, name: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn)
    throw new ArgumentError(`${name}: expected a u64 bigint`);
  return v;
}

/** Writes one record (and its data). */
export function writeSgxsRecord(w: Writer, rec: SgxsRecord): void {
  // Own keys only: an inherited name ("toString") is no tag.
  const tag = Object.hasOwn(SGXS_TAGS, String(rec?.tag)) ? SGXS_TAGS[rec.tag] : undefined;
  if (!tag) throw new ArgumentError(`sgxs: unknown record tag ${String(rec?.tag)}`);
  w.bytes(tag);
  switch (rec.tag) {
    case 'ECREATE':
    case 'UNSIZED': {
      if (!Number.isInteger(rec.ssaFrameSize) || rec.ssaFrameSize < 0 || rec.ssaFrameSize > 0xffffffff)
        throw new ArgumentError('ssaFrameSize: expected a u32');
      w.u32(rec.ssaFrameSize)
        .u64(u64(rec.tag === 'ECREATE' ? rec.size : rec.sizeOffset, 'size'))
        .zeros(44);
      return;
    }
    case 'EADD':
      if ((u64(rec.secinfoFlags, 'secinfoFlags') & ~SECINFO_DEFINED_FLAGS) !== 0n)
        throw new ArgumentError('secinfoFlags: reserved bits set');
      w.u64(u64(rec.offset, 'offset')).u64(rec.secinfoFlags).zeros(40);
      return;
    case 'EEXTEND':
    case 'UNMEASRD':
      w.u64(u64(rec.offset, 'offset'))
        .zeros(48)
        .bytes(abytes(rec.data, SGXS_DATA_SIZE, `${rec.tag} data`));
  }
}

export function serializeSgxs(records: SgxsRecord[]): Uint8Array {
  const w = new Writer();
  for (const rec of records) writeSgxsRecord(w, rec);
  return w.finish();
}
