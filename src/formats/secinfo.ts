import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes, isZero } from '../bytes/util.ts';
import { ArgumentError, FormatError } from '../errors.ts';

/**
 * SECINFO — 64 bytes, 64-byte aligned (Intel SDM Vol 3D, §"Security Information (SECINFO)").
 *
 *   off  len  field
 *     0    8  FLAGS     bit 0 R, 1 W, 2 X, 3 PENDING, 4 MODIFIED, 5 PR, bits 7:6 reserved,
 *                       bits 15:8 PAGE_TYPE (PT_SECS 0, PT_TCS 1, PT_REG 2, PT_VA 3, PT_TRIM 4,
 *                       PT_SS_FIRST 5, PT_SS_REST 6), bits 63:16 reserved
 *     8   56  reserved  must be zero
 *
 * EADD measures the first 48 bytes of SECINFO (FLAGS ‖ 40 reserved bytes), so a SECINFO with
 * non-zero reserved bytes is refused here (EADD would #GP on it).
 */
export const SECINFO_SIZE = 64;

export const SECINFO_FLAGS = {
  R: 0x1n,
  W: 0x2n,
  X: 0x4n,
  PENDING: 0x8n,
  MODIFIED: 0x10n,
  PR: 0x20n,
  PT_SECS: 0n << 8n,
  PT_TCS: 1n << 8n,
  PT_REG: 2n << 8n,
  PT_VA: 3n << 8n,
  PT_TRIM: 4n << 8n,
  PT_SS_FIRST: 5n << 8n,
  PT_SS_REST: 6n << 8n,
} as const;

export const PAGE_TYPE = { SECS: 0, TCS: 1, REG: 2, VA: 3, TRIM: 4, SS_FIRST: 5, SS_REST: 6 } as const;
const PAGE_TYPE_NAMES = ['SECS', 'TCS', 'REG', 'VA', 'TRIM', 'SS_FIRST', 'SS_REST'];

/** Bits of FLAGS that the SDM defines (R W X PENDING MODIFIED PR and PAGE_TYPE); the rest are reserved. */
export const SECINFO_DEFINED_FLAGS = 0x3fn | (0xffn << 8n);

export interface Secinfo {
  flags: bigint;
}

export function secinfoPageType(flags: bigint): number {
  return Number((flags >> 8n) & 0xffn);
}

/** "R W X REG"-style description of SECINFO.FLAGS, for humans. */
export function describeSecinfoFlags(flags: bigint): string {
  const perms = ['R', 'W', 'X', 'PENDING', 'MODIFIED', 'PR'].filter((_, i) => (flags >> BigInt(i)) & 1n);
  const t = secinfoPageType(flags);
  return [...perms, `PT_${PAGE_TYPE_NAMES[t] ?? `0x${t.toString(16)}`}`].join('|');
}

function checkFlags(flags: bigint): bigint {
  // A negative bigint has every bit above the defined ones set (two's complement): the mask refuses it.
  if (typeof flags !== 'bigint' || (flags & ~SECINFO_DEFINED_FLAGS) !== 0n) {
    throw new ArgumentError('secinfo flags: expected a bigint using only R/W/X/PENDING/MODIFIED/PR and PAGE_TYPE bits');
  }
  return flags;
}

/** Parses exactly 64 bytes; ERR_LENGTH on another length, ERR_SECINFO_RESERVED when reserved bits or bytes are set. */
export function parseSecinfo(bytes: Uint8Array): Secinfo {
  abytes(bytes, undefined, 'secinfo');
  if (bytes.length !== SECINFO_SIZE)
    throw new FormatError(`secinfo: expected ${SECINFO_SIZE} bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const r = new Reader(bytes, 'secinfo');
  const flags = r.u64('flags');
  if ((flags & ~SECINFO_DEFINED_FLAGS) !== 0n)
    throw new FormatError(`secinfo: reserved FLAGS bits set (0x${flags.toString(16)})`, 'ERR_SECINFO_RESERVED');
  if (!isZero(r.bytesOf(56, 'reserved')))
    throw new FormatError('secinfo: reserved bytes are not zero', 'ERR_SECINFO_RESERVED');
  r.end();
  return { flags };
}

export function serializeSecinfo(s: Secinfo): Uint8Array {
  return new Writer().u64(checkFlags(s.flags)).zeros(56).finish();
}
