import type { KeyObject } from 'node:crypto';
import { equal, fromHex } from '../bytes/util.ts';
import { sha256 } from '../crypto/sha256.ts';
import { ATTR, attributesFromBytes, type Attributes } from '../formats/attributes.ts';
import { bcdDate, mrSignerOf, parseSigstruct, signSigstruct } from '../formats/sigstruct.ts';
import { SgxError } from './errors.ts';
import { layoutEnclave, loadSgxs, PAGE_SIZE, sgxsOf } from './layout.ts';
import { Measurement } from './measure.ts';

/**
 * Building an enclave: module text + config → pages (layout.ts) → SGXS stream and MRENCLAVE →
 * SIGSTRUCT signed by the vendor's RSA-3072 key (MRSIGNER).
 */
export interface EnclaveConfig {
  isvProdId: number;
  isvSvn: number;
  /** Build a DEBUG enclave (its SIGSTRUCT then requires DEBUG; a production one forbids it). */
  debug?: boolean;
  /** Extra ATTRIBUTES bits, ORed into flags MODE64BIT (| DEBUG | PROVISIONKEY) and xfrm 0x3. */
  attributes?: Attributes;
  miscSelect?: number;
  /** Bytes, a multiple of 4096. Default 64 KiB. */
  heapSize?: number;
  /** Bytes per TCS, a multiple of 4096. Default 16 KiB. */
  stackSize?: number;
  /** Default 1. */
  tcsCount?: number;
  /** SSA frame size in pages. Default 1. */
  ssaFrameSize?: number;
  /** Request the PROVISIONKEY attribute (QE/PCE); EINIT allows it only for signers the platform's launch policy names. */
  provisionKey?: boolean;
}

export interface EnclaveImage {
  moduleSource: string;
  config: EnclaveConfig;
  /** The SGXS measurement stream: what the loader hands the CPU. */
  sgxs: Uint8Array;
  /** SIGSTRUCT, 1808 bytes. */
  sigstruct: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
}

export const CONFIG_DEFAULTS = {
  heapSize: 64 * 1024,
  stackSize: 16 * 1024,
  tcsCount: 1,
  ssaFrameSize: 1,
  miscSelect: 0,
} as const;
/** SIGSTRUCT masks used by buildEnclave: every flag (DEBUG included, so debug and production images differ) and the SDK's xfrm mask. */
export const SIGSTRUCT_ATTRIBUTE_MASK: Attributes = { flags: 0xffffffffffffffffn, xfrm: 0xffffffffffffff1bn };
export const SIGSTRUCT_MISC_MASK = 0xffffffff;

const CONFIG_KEYS: ReadonlySet<string> = new Set([
  'isvProdId',
  'isvSvn',
  'debug',
  'attributes',
  'miscSelect',
  'heapSize',
  'stackSize',
  'tcsCount',
  'ssaFrameSize',
  'provisionKey',
]);
const cfgErr = (m: string) => new SgxError('ERR_ENCLAVE_CONFIG', `enclave config: ${m}`);

function intIn(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw cfgErr(`${name} must be an integer in [${min}, ${max}]`);
  return v;
}
function pagesOf(v: unknown, name: string, min: number): number {
  const n = intIn(v, name, min, 1 << 30);
  if (n % PAGE_SIZE !== 0) throw cfgErr(`${name} must be a multiple of ${PAGE_SIZE}`);
  return n;
}

/** Checks a config and fills the defaults. */
export function normalizeConfig(
  c: EnclaveConfig,
): Required<Omit<EnclaveConfig, 'attributes'>> & { attributes: Attributes } {
  if (typeof c !== 'object' || c === null) throw cfgErr('not an object');
  for (const k of Object.keys(c)) if (!CONFIG_KEYS.has(k)) throw cfgErr(`unknown field ${k}`);
  const attributes = c.attributes ?? { flags: 0n, xfrm: 0n };
  if (typeof attributes.flags !== 'bigint' || typeof attributes.xfrm !== 'bigint')
    throw cfgErr('attributes must be {flags: bigint, xfrm: bigint}');
  if (c.debug !== undefined && typeof c.debug !== 'boolean') throw cfgErr('debug must be a boolean');
  if (c.provisionKey !== undefined && typeof c.provisionKey !== 'boolean')
    throw cfgErr('provisionKey must be a boolean');
  return {
    isvProdId: intIn(c.isvProdId, 'isvProdId', 0, 0xffff),
    isvSvn: intIn(c.isvSvn, 'isvSvn', 0, 0xffff),
    debug: c.debug ?? false,
    provisionKey: c.provisionKey ?? false,
    attributes,
    miscSelect: intIn(c.miscSelect ?? CONFIG_DEFAULTS.miscSelect, 'miscSelect', 0, 0xffffffff),
    heapSize: pagesOf(c.heapSize ?? CONFIG_DEFAULTS.heapSize, 'heapSize', 0),
    stackSize: pagesOf(c.stackSize ?? CONFIG_DEFAULTS.stackSize, 'stackSize', PAGE_SIZE),
    tcsCount: intIn(c.tcsCount ?? CONFIG_DEFAULTS.tcsCount, 'tcsCount', 1, 256),
    ssaFrameSize: intIn(c.ssaFrameSize ?? CONFIG_DEFAULTS.ssaFrameSize, 'ssaFrameSize', 1, 16),
  };
}

/** The SECS ATTRIBUTES an enclave with this config runs with (INIT clear; EINIT sets it). */
export function configAttributes(c: EnclaveConfig): Attributes {
  let flags = ATTR.MODE64BIT | (c.attributes?.flags ?? 0n);
  if (c.debug) flags |= ATTR.DEBUG;
  if (c.provisionKey) flags |= ATTR.PROVISIONKEY;
  return { flags, xfrm: 0x3n | (c.attributes?.xfrm ?? 0n) };
}

/**
 * Parses an enclave.json value: the EnclaveConfig fields, with `attributes` given as the hex of
 * the 16 bytes as stored (flags u64 LE ‖ xfrm u64 LE), as Intel's JSON collateral writes them.
 */
export function parseEnclaveConfig(json: unknown): EnclaveConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw cfgErr('not a JSON object');
  const o = { ...(json as Record<string, unknown>) };
  if (o.attributes !== undefined) {
    if (typeof o.attributes !== 'string') throw cfgErr('attributes must be a hex string of 16 bytes');
    try {
      o.attributes = attributesFromBytes(fromHex(o.attributes, 16, 'attributes'));
    } catch {
      throw cfgErr('attributes must be a hex string of 16 bytes');
    }
  }
  const c = o as unknown as EnclaveConfig;
  normalizeConfig(c);
  return c;
}

function today(): string {
  return new Date().toISOString().slice(0, 10).replaceAll('-', '');
}

/** Lays the module out into pages, measures it, and signs its SIGSTRUCT with the vendor key. */
export function buildEnclave(
  moduleSource: string,
  config: EnclaveConfig,
  vendorKey: KeyObject,
  opts: { date?: string } = {},
): EnclaveImage {
  if (typeof moduleSource !== 'string') throw cfgErr('module source must be a string');
  const c = normalizeConfig(config);
  const text = new TextEncoder().encode(moduleSource);
  const layout = layoutEnclave(text, c);
  const sgxs = sgxsOf(layout);
  // Measure the pages independently of the stream writer; both must agree (MRENCLAVE = SHA-256 of the stream).
  const m = new Measurement();
  m.ecreate(layout.ssaFrameSize, layout.enclaveSize);
  for (const p of layout.pages) m.addPage(p.offset, p.secinfoFlags, p.data ?? new Uint8Array(PAGE_SIZE), p.measured);
  const mrEnclave = m.finish();
  if (!equal(mrEnclave, sha256(sgxs))) throw new Error('internal: SGXS stream and measurement disagree');
  const sigstruct = signSigstruct(
    {
      vendor: 0,
      date: bcdDate(opts.date ?? today()),
      swDefined: 0,
      miscSelect: c.miscSelect,
      miscMask: SIGSTRUCT_MISC_MASK,
      isvFamilyId: new Uint8Array(16),
      attributes: configAttributes(c),
      attributeMask: SIGSTRUCT_ATTRIBUTE_MASK,
      enclaveHash: mrEnclave,
      isvExtProdId: new Uint8Array(16),
      isvProdId: c.isvProdId,
      isvSvn: c.isvSvn,
    },
    vendorKey,
  );
  return { moduleSource, config, sgxs, sigstruct, mrEnclave, mrSigner: mrSignerOf(parseSigstruct(sigstruct)) };
}

/**
 * An EnclaveImage from the two files `catena enclave build` writes. The module text comes from
 * the measured pages; the config is what the SGXS header page and SIGSTRUCT say.
 */
export function readEnclaveImage(sgxs: Uint8Array, sigstructBytes: Uint8Array): EnclaveImage {
  const loaded = loadSgxs(sgxs);
  const s = parseSigstruct(sigstructBytes);
  const config: EnclaveConfig = {
    isvProdId: s.isvProdId,
    isvSvn: s.isvSvn,
    debug: (s.attributes.flags & ATTR.DEBUG) !== 0n,
    provisionKey: (s.attributes.flags & ATTR.PROVISIONKEY) !== 0n,
    miscSelect: s.miscSelect,
    attributes: {
      flags: s.attributes.flags & ~(ATTR.MODE64BIT | ATTR.DEBUG | ATTR.PROVISIONKEY),
      xfrm: s.attributes.xfrm & ~0x3n,
    },
    heapSize: loaded.heapSize,
    stackSize: loaded.stackSize,
    tcsCount: loaded.tcsCount,
    ssaFrameSize: loaded.ssaFrameSize,
  };
  return {
    moduleSource: loaded.moduleText,
    config,
    sgxs,
    sigstruct: sigstructBytes,
    mrEnclave: loaded.mrEnclave,
    mrSigner: mrSignerOf(s),
  };
}
