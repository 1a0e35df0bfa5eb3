import { sha384 } from '../crypto/sha384.ts';

/**
 * An emulated TD image: the firmware volume pages the VMM adds before the TD runs (TDVF's BFV/CFV and
 * the TD HOB / mailbox pages), each with its guest-physical address and whether TDH.MR.EXTEND measures
 * its content, plus the TD configuration TDH.MNG.INIT takes (TD_PARAMS: ATTRIBUTES, XFAM, MRCONFIGID,
 * MROWNER, MROWNERCONFIG). Only the pages go into MRTD (mrtd.ts); the configuration goes into TDINFO.
 */
export const PAGE_SIZE = 4096;

export interface TdPage {
  gpa: bigint;
  data: Uint8Array; // 4096
  /** TDH.MR.EXTEND over the page's 16 chunks (firmware code/config); false: added only (TD HOB, mailbox). */
  extend: boolean;
}

export interface TdConfig {
  attributes: Uint8Array; // 8: TD_ATTRIBUTES (bit 0 DEBUG, bit 28 SEPT_VE_DISABLE)
  xfam: Uint8Array; // 8
  mrConfigId: Uint8Array; // 48
  mrOwner: Uint8Array; // 48
  mrOwnerConfig: Uint8Array; // 48
}

export interface TdImage {
  pages: TdPage[];
  config: TdConfig;
}

/** TD_ATTRIBUTES bits as the TDX module ABI numbers them. */
export const TD_ATTR_DEBUG = 1n << 0n;
export const TD_ATTR_SEPT_VE_DISABLE = 1n << 28n;
/** XFAM of a TD with x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM) and PKRU: 0x02e7. */
export const DEFAULT_XFAM = 0x02e7n;

export function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

export interface TdImageOptions {
  /** A label the firmware bytes are derived from: another label, another MRTD. */
  firmware?: string;
  /** Number of firmware pages (measured). Default 8. */
  firmwarePages?: number;
  debug?: boolean;
  mrConfigId?: Uint8Array;
  mrOwner?: Uint8Array;
  mrOwnerConfig?: Uint8Array;
}

/** Deterministic page content: SHA-384 in counter mode over the label (stands in for a TDVF build). */
function pageBytes(label: string, index: number): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE);
  const enc = new TextEncoder();
  for (let o = 0, i = 0; o < PAGE_SIZE; o += 48, i++)
    out.set(sha384(enc.encode(`${label}/${index}/${i}`)).subarray(0, Math.min(48, PAGE_SIZE - o)), o);
  return out;
}

/**
 * A small TDVF-like image: firmware pages at the top of the 4 GiB space (as TDVF's BFV is mapped),
 * measured; one TD HOB page at 0x80_0000 and one mailbox page, added unmeasured.
 */
export function buildTdImage(opts: TdImageOptions = {}): TdImage {
  const label = opts.firmware ?? 'catena-tdvf-1.0';
  const n = opts.firmwarePages ?? 8;
  const pages: TdPage[] = [];
  const top = 0x1_0000_0000n;
  for (let i = 0; i < n; i++)
    pages.push({ gpa: top - BigInt((n - i) * PAGE_SIZE), data: pageBytes(label, i), extend: true });
  pages.push({ gpa: 0x80_0000n, data: new Uint8Array(PAGE_SIZE), extend: false });
  pages.push({ gpa: 0x80_1000n, data: new Uint8Array(PAGE_SIZE), extend: false });
  const attrs = TD_ATTR_SEPT_VE_DISABLE | (opts.debug ? TD_ATTR_DEBUG : 0n);
  return {
    pages,
    config: {
      attributes: u64le(attrs),
      xfam: u64le(DEFAULT_XFAM),
      mrConfigId: opts.mrConfigId ?? new Uint8Array(48),
      mrOwner: opts.mrOwner ?? new Uint8Array(48),
      mrOwnerConfig: opts.mrOwnerConfig ?? new Uint8Array(48),
    },
  };
}
