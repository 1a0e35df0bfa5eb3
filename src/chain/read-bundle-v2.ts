import { equal, hex } from '../bytes/util.ts';
import { sha256, sha256Parts } from '../crypto/sha256.ts';
import { decodeCbor } from '../formats/cbor.ts';
import { FormatError } from '../errors.ts';
import { canonicalJson } from '../json/canonical-json.ts';
import { BUNDLE_V2_MAGIC, MAX_RECORD_BYTES, recordFromValue, type BlobKind } from './bundle-v2-records.ts';
import { BundleError } from './errors.ts';
import { elementKindOf, identityKind } from './layers.ts';
import type { ChainHeader, ChainPolicy, CollateralBlob, Element, Link, Revocation } from './types.ts';

/** What the reader gives, in stream order: blobs are resolved into the links that reference them. */
export type BundleItem =
  | { index: number; kind: 'header'; header: ChainHeader }
  | { index: number; kind: 'revocation'; revocation: Revocation }
  | {
      index: number;
      kind: 'link';
      link: Link;
      element: Element;
      collateral?: CollateralBlob;
      /** A remote link's quote as bytes: `link.evidence.quote` is their hex (the verifier need not decode it back). */
      quote?: Uint8Array;
    }
  | { index: number; kind: 'platform'; elements: [Element, Element] }
  | { index: number; kind: 'trailer'; records: number; links: { local: number; remote: number }; hash: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A blob's content as canonical JSON text of an object (policy) or of an object of strings (collateral). */
function jsonBlob(content: Uint8Array, kind: BlobKind, index: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(content));
  } catch {
    throw new BundleError('ERR_BUNDLE_FORMAT', `${kind} blob is not JSON`, index);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BundleError('ERR_BUNDLE_FORMAT', `${kind} blob is not a JSON object`, index);
  if (kind === 'collateral' && !Object.values(v).every((x) => typeof x === 'string'))
    throw new BundleError('ERR_BUNDLE_FORMAT', 'collateral blob has a field that is not a string', index);
  let canonical: string | undefined;
  try {
    canonical = canonicalJson(v);
  } catch /* Stryker disable next-line BlockStatement: canonical is still undefined when canonicalJson throws */ {
    canonical = undefined;
  }
  // Stryker disable next-line ConditionalExpression: an undefined canonical form encodes as no bytes, never equal to a blob JSON.parse accepted
  if (canonical === undefined || !equal(new TextEncoder().encode(canonical), content))
    throw new BundleError('ERR_BUNDLE_FORMAT', `${kind} blob is not canonical JSON`, index);
  return v as Record<string, unknown>;
}

/**
 * The streaming reader of a proof bundle v2. Feed it bytes (`push`), take items (`next`) until it
 * needs more; `end()` when the input is over. It holds one record at a time plus the blobs (one per
 * distinct policy, collateral and QE context): never the links. A record's declared size is checked
 * against `maxRecordBytes` before any byte of it is buffered, and the buffer grows only to that size.
 */
export class BundleReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private ended = false;
  private magicSeen = false;
  private prev = sha256(BUNDLE_V2_MAGIC);
  /** Index of the next record. */
  private index = 0;
  private header?: ChainHeader;
  private pendingHeader?: { header: Omit<ChainHeader, 'policy'>; policyHash: string };
  private phase: 'revocations' | 'links' | 'platforms' | 'done' = 'revocations';
  private readonly blobs = new Map<string, { kind: BlobKind; content: Uint8Array; collateral?: CollateralBlob }>();
  private readonly counts = { local: 0, remote: 0, measured: 0 };
  readonly maxRecordBytes: number;

  constructor(opts: { maxRecordBytes?: number } = {}) {
    this.maxRecordBytes = opts.maxRecordBytes ?? MAX_RECORD_BYTES;
  }

  push(chunk: Uint8Array): void {
    const rest = this.buf.length - this.pos;
    // Stryker disable next-line ConditionalExpression: copying the chunk gives the same bytes
    if (rest === 0) this.buf = chunk;
    else {
      const b = new Uint8Array(rest + chunk.length);
      b.set(this.buf.subarray(this.pos));
      b.set(chunk, rest);
      this.buf = b;
    }
    this.pos = 0;
  }

  end(): void {
    this.ended = true;
  }

  /** The next item, or undefined when more input is needed (or the stream is complete). */
  next(): BundleItem | undefined {
    for (;;) {
      if (this.phase === 'done') {
        if (this.pos < this.buf.length)
          throw new BundleError('ERR_BUNDLE_TRAILER', 'bytes follow the trailer', this.index);
        return undefined;
      }
      const avail = this.buf.length - this.pos;
      if (!this.magicSeen) {
        if (avail < BUNDLE_V2_MAGIC.length) return this.starve();
        if (!equal(this.buf.subarray(this.pos, this.pos + BUNDLE_V2_MAGIC.length), BUNDLE_V2_MAGIC))
          throw new BundleError('ERR_BUNDLE_FORMAT', 'not a proof bundle v2 (magic)', 0);
        this.pos += BUNDLE_V2_MAGIC.length;
        this.magicSeen = true;
        continue;
      }
      if (avail < 1) return this.starve();
      const ib = this.buf[this.pos];
      if (ib >> 5 !== 2) throw new BundleError('ERR_BUNDLE_FORMAT', 'a record is a CBOR byte string', this.index);
      const info = ib & 0x1f;
      const extra = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : -1;
      if (extra < 0) throw new BundleError('ERR_BUNDLE_FORMAT', 'record length: unsupported head', this.index);
      if (avail < 1 + extra) return this.starve();
      // Stryker disable next-line ConditionalExpression: a one-byte head declares under 24 bytes, refused below as shorter than the chain hash either way
      let len = extra === 0 ? info : 0;
      for (let i = 0; i < extra; i++) len = len * 256 + this.buf[this.pos + 1 + i];
      if (extra > 0 && len < (extra === 1 ? 24 : extra === 2 ? 0x100 : 0x10000))
        throw new BundleError('ERR_BUNDLE_FORMAT', 'record length: non-shortest head', this.index);
      if (len > this.maxRecordBytes)
        throw new BundleError(
          'ERR_BUNDLE_TOO_LARGE',
          `declares ${len} bytes, above the limit ${this.maxRecordBytes}`,
          this.index,
        );
      if (len < 33) throw new BundleError('ERR_BUNDLE_FORMAT', 'record shorter than its chain hash', this.index);
      if (avail < 1 + extra + len) return this.starve();
      const start = this.pos + 1 + extra;
      const stored = this.buf.subarray(start, start + 32);
      const body = this.buf.subarray(start + 32, start + len);
      this.pos = start + len;
      const index = this.index++;
      const h = sha256Parts(this.prev, body);
      if (!equal(h, stored))
        throw new BundleError(
          'ERR_BUNDLE_SEQUENCE',
          'its chain hash is not SHA-256(previous record hash ‖ record): a record removed, duplicated, swapped or altered here',
          index,
        );
      this.prev = h;
      const item = this.item(body, index);
      if (item) return item;
    }
  }

  private starve(): undefined {
    if (this.ended)
      throw new BundleError(
        'ERR_BUNDLE_TRUNCATED',
        this.pos < this.buf.length ? 'the input ends inside this record' : 'the input ends before the trailer',
        this.index,
      );
    return undefined;
  }

  private item(body: Uint8Array, index: number): BundleItem | undefined {
    let value;
    try {
      value = decodeCbor(body, { simple: true });
    } catch (e) {
      if (e instanceof FormatError) throw new BundleError('ERR_BUNDLE_FORMAT', e.message, index);
      throw e;
    }
    const r = recordFromValue(value, index);
    const out = (what: string): never => {
      throw new BundleError('ERR_BUNDLE_FORMAT', `a ${what} record cannot be here`, index);
    };
    if (index === 0) {
      if (r.kind !== 'header') return out(r.kind);
      this.pendingHeader = r;
      return undefined;
    }
    if (index === 1) {
      // The policy the header references, right after it.
      const p = this.pendingHeader!;
      // Stryker disable next-line ConditionalExpression: a record that is not a blob has no `blob`: the second test refuses it too
      if (r.kind !== 'blob' || r.blob !== 'policy') return out(r.kind === 'blob' ? `${r.blob} blob` : r.kind);
      if (hex(sha256(r.content)) !== p.policyHash)
        throw new BundleError(
          'ERR_BUNDLE_MISSING_REF',
          `policy ${p.policyHash} (the header's) is not this record`,
          index,
        );
      const policy = jsonBlob(r.content, 'policy', index) as ChainPolicy;
      // Stryker disable next-line ObjectLiteral,StringLiteral: the policy's entry only counts (trailer) and blocks its id: no link may reference a blob of another kind
      this.blobs.set(p.policyHash, { kind: 'policy', content: r.content });
      this.header = { ...p.header, policy };
      return { index, kind: 'header', header: this.header };
    }
    const h = this.header!;
    switch (r.kind) {
      case 'header':
        return out('header');
      case 'blob': {
        if (r.blob === 'policy') return out('policy blob');
        const id = hex(sha256(r.content));
        if (this.blobs.has(id)) throw new BundleError('ERR_BUNDLE_FORMAT', `blob ${id} is stored twice`, index);
        this.blobs.set(id, {
          kind: r.blob,
          // decodeCbor copies byte strings out of the input: the caller's chunk may be reused once pushed.
          content: r.content,
          ...(r.blob === 'collateral'
            ? { collateral: jsonBlob(r.content, 'collateral', index) as CollateralBlob }
            : {}),
        });
        return undefined;
      }
      case 'revocation':
        if (this.phase !== 'revocations') return out('revocation');
        return { index, kind: 'revocation', revocation: r.revocation };
      case 'link': {
        if (this.phase === 'revocations') this.phase = 'links';
        if (this.phase !== 'links') return out('link');
        const s = r.link;
        let link: Link;
        let collateral: CollateralBlob | undefined;
        let quoteBytes: Uint8Array | undefined;
        // Stryker disable next-line LogicalOperator,ConditionalExpression: recordFromValue gives every remote evidence a quoteHead, and no other kind one
        if (s.evidence.kind === 'dcap-quote' && 'quoteHead' in s.evidence) {
          const ev = s.evidence;
          const c = this.blobs.get(ev.collateral);
          if (!c || c.kind !== 'collateral')
            throw new BundleError(
              'ERR_BUNDLE_MISSING_REF',
              `collateral ${ev.collateral} is not in an earlier record`,
              index,
            );
          collateral = c.collateral;
          let quote = ev.quoteHead;
          if (ev.context !== null) {
            const q = this.blobs.get(ev.context);
            if (!q || q.kind !== 'qe-context')
              throw new BundleError(
                'ERR_BUNDLE_MISSING_REF',
                `QE context ${ev.context} is not in an earlier record`,
                index,
              );
            quote = new Uint8Array(ev.quoteHead.length + q.content.length);
            quote.set(ev.quoteHead);
            quote.set(q.content, ev.quoteHead.length);
          }
          quoteBytes = quote;
          link = {
            ...s,
            chain: h.id,
            evidence: {
              kind: 'dcap-quote',
              quote: hex(quote),
              collateral: ev.collateral,
              ...(ev.eventLog !== undefined ? { eventLog: ev.eventLog } : {}),
            },
          };
        } else link = { ...s, chain: h.id, evidence: s.evidence };
        this.counts[link.type]++;
        const element: Element = {
          id: link.child,
          kind: elementKindOf(identityKind(link.childIdentity)),
          parent: link.parent,
          platform: link.childPlatform,
          identity: link.childIdentity,
          elementKey: link.childKey,
          ...(r.cloud !== undefined ? { cloud: r.cloud } : {}),
        };
        return {
          index,
          kind: 'link',
          link,
          element,
          ...(collateral ? { collateral } : {}),
          ...(quoteBytes ? { quote: quoteBytes } : {}),
        };
      }
      case 'platform': {
        // Stryker disable next-line ConditionalExpression,StringLiteral: after the trailer next() refuses any byte before a record is read
        if (this.phase === 'done') return out('platform');
        // Stryker disable next-line StringLiteral: any phase but 'revocations'/'links' refuses later links and revocations the same way
        this.phase = 'platforms';
        const cloud = r.cloud !== undefined ? { cloud: r.cloud } : {};
        const pe: Element = {
          id: `platform:${r.platform}`,
          kind: 'platform',
          parent: null,
          platform: r.platform,
          ...cloud,
          ...(r.fmspc !== undefined ? { fmspc: r.fmspc } : {}),
          ...(r.tcbStatus !== undefined ? { tcbStatus: r.tcbStatus } : {}),
          ...(r.advisoryIds !== undefined ? { advisoryIds: r.advisoryIds } : {}),
        };
        const qe: Element = { id: `qe:${r.platform}`, kind: 'qe', parent: pe.id, platform: r.platform, ...cloud };
        return { index, kind: 'platform', elements: [pe, qe] };
      }
      case 'trailer': {
        const blobs = this.blobs.size;
        if (
          r.records !== index ||
          r.links.local !== this.counts.local ||
          r.links.remote !== this.counts.remote ||
          (r.links.measured ?? 0) !== this.counts.measured ||
          r.blobs !== blobs
        )
          throw new BundleError(
            'ERR_BUNDLE_TRAILER',
            `the trailer counts ${r.records} records, ${r.links.local}+${r.links.remote} links, ${r.blobs} blobs; read ${index}, ${this.counts.local}+${this.counts.remote}, ${blobs}`,
            index,
          );
        this.phase = 'done';
        return { index, kind: 'trailer', records: r.records, links: r.links, hash: hex(this.prev) };
      }
    }
  }
}

/** The items of a v2 bundle from a stream of chunks (a file read in pieces), in order. */
export async function* readBundleV2(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: { maxRecordBytes?: number } = {},
): AsyncGenerator<BundleItem> {
  const r = new BundleReader(opts);
  for await (const c of chunks) {
    r.push(c);
    for (let it = r.next(); it; it = r.next()) yield it;
  }
  r.end();
  for (let it = r.next(); it; it = r.next()) yield it;
}

/** All items of a v2 bundle held in memory (tests, the fuzzer): the same reader, one chunk. */
export function readBundleV2Sync(bytes: Uint8Array, opts: { maxRecordBytes?: number } = {}): BundleItem[] {
  const r = new BundleReader(opts);
  r.push(bytes);
  r.end();
  const out: BundleItem[] = [];
  for (let it = r.next(); it; it = r.next()) out.push(it);
  return out;
}

/** Whether bytes start like a v2 bundle (its magic). */
export function isBundleV2(head: Uint8Array): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a shorter head's subarray is shorter than the magic: never equal
  return head.length >= BUNDLE_V2_MAGIC.length && equal(head.subarray(0, BUNDLE_V2_MAGIC.length), BUNDLE_V2_MAGIC);
}
