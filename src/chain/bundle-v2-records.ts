import { fromHex, hex } from '../bytes/util.ts';
import { CborMap, CborTag, type CborValue } from '../formats/cbor.ts';
import { BundleError, ChainError } from './errors.ts';
import type { ChainHeader, ElementIdentity, EnclaveIdentity, Link, LinkAppraisal, Revocation } from './types.ts';
import { canonicalJson } from '../json/canonical-json.ts';
import { isEnclaveIdentity } from './layers.ts';
import { layerIdentityOk } from './bundle-shape.ts';

/**
 * The records of the proof bundle v2 (docs/chain.md, "Proof bundle (version 2)") and their CBOR
 * form: each record is a CBOR array whose first item is its kind. Hex fields of the v1 model travel
 * as byte strings, absent optional fields as null; the v1 objects are rebuilt exactly (the signatures
 * cover their canonical JSON), so a v2 bundle verifies with the same checks as v1.
 */

/** "CATENA\n" 0x02: the first 8 bytes of a v2 bundle (a v1 bundle is JSON and starts with "{"). */
export const BUNDLE_V2_MAGIC = Uint8Array.from([0x43, 0x41, 0x54, 0x45, 0x4e, 0x41, 0x0a, 0x02]);
/** Largest record a reader accepts by default (declared frame size); collateral is ≈ 11 KB. */
export const MAX_RECORD_BYTES = 1 << 20;
export const KIND = { header: 0, blob: 1, revocation: 2, link: 3, platform: 4, trailer: 5 } as const;
export const BLOB = { policy: 0, collateral: 1, qeContext: 2 } as const;
export type BlobKind = 'policy' | 'collateral' | 'qe-context';
export const BLOB_NAMES: readonly BlobKind[] = ['policy', 'collateral', 'qe-context'];

/** A remote link's quote is split here: header ‖ body (432) ‖ signature data length (4) ‖ signature (64). */
export const QUOTE_HEAD_BYTES = 500;

/** A remote link as stored: the quote's own part and references (SHA-256 hex) to what it shares. */
export interface StoredRemoteEvidence {
  kind: 'dcap-quote';
  quoteHead: Uint8Array;
  context: string | null;
  collateral: string;
  /** A TD's event log (hex), issue 16. */
  eventLog?: string;
}
export type StoredLink = Omit<Link, 'evidence'> & { evidence: Link['evidence'] | StoredRemoteEvidence };

export type BundleRecord =
  | { kind: 'header'; header: Omit<ChainHeader, 'policy'>; policyHash: string }
  | { kind: 'blob'; blob: BlobKind; content: Uint8Array }
  | { kind: 'revocation'; revocation: Revocation }
  | { kind: 'link'; link: StoredLink; cloud?: string }
  | { kind: 'platform'; platform: string; cloud?: string; fmspc?: string; tcbStatus?: string; advisoryIds?: string[] }
  | {
      kind: 'trailer';
      records: number;
      links: { local: number; remote: number; measured?: number };
      blobs: number;
    };

const LOWER_HEX = /^[0-9a-f]*$/;

/** Bytes of a lowercase hex field; anything else could not be rebuilt byte for byte from v2. */
function b(h: string, what: string): Uint8Array {
  let out: Uint8Array | undefined;
  try {
    out = fromHex(h);
  } catch /* Stryker disable next-line BlockStatement: out is still undefined when fromHex throws */ {
    out = undefined;
  }
  const refuse = () => new ChainError('ERR_CHAIN_BUNDLE', `${what} is not lowercase hex: cannot be written as v2`);
  if (!out) throw refuse();
  // A short field (keys, nonces, ids, a REPORT): a regex scan allocates nothing. A long one (a 9.5 KB
  // quote): encoding back and comparing costs less than the scan. Both decide the same: where the
  // threshold lies, and which test is used, is speed only.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: see above
  const short = h.length < 1024;
  // Stryker disable next-line ConditionalExpression: see above
  const lower = short ? LOWER_HEX.test(h) : hex(out) === h;
  if (!lower) throw refuse();
  return out;
}
const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/** The CBOR value of a record. */
export function recordValue(r: BundleRecord): CborValue {
  switch (r.kind) {
    case 'header': {
      const h = r.header;
      return [
        KIND.header,
        2,
        h.id,
        h.name,
        h.createdAt,
        b(h.rootSha256, 'rootSha256'),
        h.emulatedRoot,
        b(h.ownerKey, 'ownerKey'),
        b(r.policyHash, 'policy hash'),
        b(h.signature, 'header signature'),
      ];
    }
    case 'blob':
      return [KIND.blob, BLOB_NAMES.indexOf(r.blob), r.content];
    case 'revocation': {
      const v = r.revocation;
      return [KIND.revocation, v.element, v.reason, v.at, b(v.signature, 'revocation signature')];
    }
    case 'link': {
      const l = r.link;
      const i = l.childIdentity;
      const ev = l.evidence;
      // A TD's event log travels as a fourth item of its remote evidence (issue 16).
      const log = ev.kind === 'dcap-quote' && ev.eventLog !== undefined ? [b(ev.eventLog, 'event log')] : [];
      const evidence: CborValue =
        ev.kind === 'sgx-report'
          ? b(ev.report, 'report')
          : ev.kind === 'td-event'
            ? [ev.event, b(ev.digest, 'event digest')]
            : 'quoteHead' in ev
              ? [
                  ev.quoteHead,
                  ev.context === null ? null : b(ev.context, 'context id'),
                  b(ev.collateral, 'collateral id'),
                  ...log,
                ]
              : [b(ev.quote, 'quote'), null, b(ev.collateral, 'collateral id'), ...log];
      // An SGX enclave's identity as before; a TD's or workload's as its canonical JSON (text).
      const identity: CborValue = isEnclaveIdentity(i)
        ? [
            b(i.mrEnclave, 'mrEnclave'),
            b(i.mrSigner, 'mrSigner'),
            i.isvProdId,
            i.isvSvn,
            b(i.attributes, 'attributes'),
            i.debug,
          ]
        : canonicalJson(i);
      const a = l.appraisal;
      return [
        KIND.link,
        l.child,
        l.parent,
        l.type === 'local' ? 0 : l.type === 'remote' ? 1 : 2,
        b(l.nonce, 'nonce'),
        b(l.childKey, 'child key'),
        identity,
        b(l.childPlatform, 'child platform'),
        evidence,
        [opt(a.tcbStatus), a.advisoryIds ? [...a.advisoryIds] : null],
        l.at,
        b(l.signature, 'link signature'),
        opt(r.cloud),
      ];
    }
    case 'platform':
      return [
        KIND.platform,
        b(r.platform, 'platform'),
        opt(r.cloud),
        r.fmspc === undefined ? null : b(r.fmspc, 'fmspc'),
        opt(r.tcbStatus),
        r.advisoryIds ? [...r.advisoryIds] : null,
      ];
    case 'trailer':
      return [
        KIND.trailer,
        r.records,
        r.links.local,
        r.links.remote,
        r.blobs,
        ...(r.links.measured ? [r.links.measured] : []),
      ];
  }
}

/** Reads a record's CBOR value back; anything off its schema is ERR_BUNDLE_FORMAT at `index`. */
export function recordFromValue(v: CborValue, index: number): BundleRecord {
  const bad = (what: string): never => {
    throw new BundleError('ERR_BUNDLE_FORMAT', what, index);
  };
  const arr = (x: CborValue, n: number, what: string): CborValue[] =>
    Array.isArray(x) && x.length === n ? x : bad(`${what}: expected an array of ${n}`);
  const text = (x: CborValue, what: string): string => (typeof x === 'string' ? x : bad(`${what}: expected text`));
  const uint = (x: CborValue, what: string): number =>
    typeof x === 'number' ? x : bad(`${what}: expected an integer`);
  const bool = (x: CborValue, what: string): boolean =>
    typeof x === 'boolean' ? x : bad(`${what}: expected a boolean`);
  const bytes = (x: CborValue, what: string, len?: number): Uint8Array =>
    x instanceof Uint8Array && (len === undefined || x.length === len)
      ? x
      : bad(`${what}: expected ${len === undefined ? 'bytes' : `${len} bytes`}`);
  const hx = (x: CborValue, what: string, len?: number) => hex(bytes(x, what, len));
  const texts = (x: CborValue, what: string): string[] =>
    Array.isArray(x) ? x.map((t) => text(t, what)) : bad(`${what}: expected an array of text`);
  if (!Array.isArray(v) || typeof v[0] !== 'number') return bad('a record is an array led by its kind');
  if (v.some((x) => x instanceof CborMap || x instanceof CborTag)) bad('no maps or tags in a record');
  switch (v[0]) {
    case KIND.header: {
      const r = arr(v, 10, 'header');
      if (r[1] !== 2) bad(`unsupported bundle version ${typeof r[1] === 'number' ? r[1] : typeof r[1]}`);
      return {
        kind: 'header',
        header: {
          version: 1,
          id: text(r[2], 'chain id'),
          name: text(r[3], 'name'),
          createdAt: text(r[4], 'createdAt'),
          rootSha256: hx(r[5], 'rootSha256', 32),
          emulatedRoot: bool(r[6], 'emulatedRoot'),
          ownerKey: hx(r[7], 'ownerKey', 64),
          signature: hx(r[9], 'signature', 64),
        },
        policyHash: hx(r[8], 'policy hash', 32),
      };
    }
    case KIND.blob: {
      const r = arr(v, 3, 'blob');
      const k = uint(r[1], 'blob kind');
      const kind = BLOB_NAMES[k];
      if (!kind) bad(`unknown blob kind ${k}`);
      return { kind: 'blob', blob: kind, content: bytes(r[2], 'blob content') };
    }
    case KIND.revocation: {
      const r = arr(v, 5, 'revocation');
      return {
        kind: 'revocation',
        revocation: {
          element: text(r[1], 'element'),
          reason: text(r[2], 'reason'),
          at: text(r[3], 'at'),
          signature: hx(r[4], 'signature', 64),
        },
      };
    }
    case KIND.link: {
      const r = arr(v, 13, 'link');
      let identity: ElementIdentity;
      if (typeof r[6] === 'string') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(r[6]);
        } catch /* Stryker disable next-line BlockStatement: parsed is still undefined when JSON.parse throws */ {
          parsed = undefined;
        }
        if (!layerIdentityOk(parsed)) bad('identity: not a TD or workload identity');
        identity = parsed as ElementIdentity;
      } else {
        const id = arr(r[6], 6, 'identity');
        identity = {
          mrEnclave: hx(id[0], 'mrEnclave', 32),
          mrSigner: hx(id[1], 'mrSigner', 32),
          isvProdId: uint(id[2], 'isvProdId'),
          isvSvn: uint(id[3], 'isvSvn'),
          attributes: hx(id[4], 'attributes', 16),
          debug: bool(id[5], 'debug'),
        } satisfies EnclaveIdentity;
      }
      const type =
        r[3] === 0 ? 'local' : r[3] === 1 ? 'remote' : r[3] === 2 ? 'measured' : bad('link type: expected 0, 1 or 2');
      let evidence: StoredLink['evidence'];
      if (type === 'local') evidence = { kind: 'sgx-report', report: hx(r[8], 'report') };
      else if (type === 'measured') {
        const e = arr(r[8], 2, 'measured evidence');
        evidence = { kind: 'td-event', event: uint(e[0], 'event index'), digest: hx(e[1], 'event digest', 48) };
      } else {
        const e = Array.isArray(r[8]) && r[8].length === 4 ? r[8] : arr(r[8], 3, 'remote evidence');
        evidence = {
          kind: 'dcap-quote',
          quoteHead: bytes(e[0], 'quote head'),
          context: e[1] === null ? null : hx(e[1], 'context id', 32),
          collateral: hx(e[2], 'collateral id', 32),
          ...(e.length === 4 ? { eventLog: hx(e[3], 'event log') } : {}),
        };
      }
      const ap = arr(r[9], 2, 'appraisal');
      const appraisal: LinkAppraisal = { verdict: 'accepted' };
      if (ap[0] !== null) appraisal.tcbStatus = text(ap[0], 'tcbStatus');
      if (ap[1] !== null) appraisal.advisoryIds = texts(ap[1], 'advisoryIds');
      const link: StoredLink = {
        version: 1,
        chain: '',
        parent: r[2] === null ? null : text(r[2], 'parent'),
        child: text(r[1], 'child'),
        type,
        nonce: hx(r[4], 'nonce', 32),
        childKey: hx(r[5], 'child key', 64),
        childIdentity: identity,
        childPlatform: hx(r[7], 'child platform'),
        evidence,
        appraisal,
        at: text(r[10], 'at'),
        signature: hx(r[11], 'signature', 64),
      };
      return r[12] === null ? { kind: 'link', link } : { kind: 'link', link, cloud: text(r[12], 'cloud') };
    }
    case KIND.platform: {
      const r = arr(v, 6, 'platform');
      return {
        kind: 'platform',
        platform: hx(r[1], 'platform'),
        ...(r[2] === null ? {} : { cloud: text(r[2], 'cloud') }),
        ...(r[3] === null ? {} : { fmspc: hx(r[3], 'fmspc') }),
        ...(r[4] === null ? {} : { tcbStatus: text(r[4], 'tcbStatus') }),
        ...(r[5] === null ? {} : { advisoryIds: texts(r[5], 'advisoryIds') }),
      };
    }
    case KIND.trailer: {
      const r = Array.isArray(v) && v.length === 6 ? v : arr(v, 5, 'trailer');
      return {
        kind: 'trailer',
        records: uint(r[1], 'records'),
        links: {
          local: uint(r[2], 'local links'),
          remote: uint(r[3], 'remote links'),
          ...(r.length === 6 ? { measured: uint(r[5], 'measured links') } : {}),
        },
        blobs: uint(r[4], 'blobs'),
      };
    }
    default:
      return bad(`unknown record kind ${v[0]}`);
  }
}
