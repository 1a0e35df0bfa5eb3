import { fromHex, hex } from '../bytes/util.ts';
import { sha256, sha256Parts } from '../crypto/sha256.ts';
import { encodeCbor, encodeCborHead } from '../formats/cbor.ts';
import { canonicalJson } from '../json/canonical-json.ts';
import {
  BUNDLE_V2_MAGIC,
  QUOTE_HEAD_BYTES,
  recordValue,
  type BlobKind,
  type BundleRecord,
} from './bundle-v2-records.ts';
import { ChainError } from './errors.ts';
import { collateralId } from './verify-bundle.ts';
import type { ChainHeader, CollateralBlob, Element, Link, Revocation } from './types.ts';

const enc = new TextEncoder();

/**
 * Writes a proof bundle v2 (docs/chain.md) as a stream: `out` receives the bytes in order, record by
 * record, so a chain can be written while it grows. Memory: the ids of the blobs written (one per
 * distinct policy, collateral and QE context), not the records.
 * Order: header (the policy follows it), revocations, then links in append order (each preceded by
 * the blobs it is the first to reference), then platform records, then the trailer (`finish`).
 */
export class BundleWriter {
  private prev = sha256(BUNDLE_V2_MAGIC);
  private records = 0;
  private readonly blobs = new Set<string>();
  /** The QE contexts written last, with their ids: found by memcmp instead of hashing 4 KB per remote link. */
  private readonly contexts: Array<{ bytes: Buffer; id: string }> = [];
  private readonly counts = { local: 0, remote: 0, measured: 0 };
  private phase: 'start' | 'revocations' | 'links' | 'platforms' | 'done' = 'start';
  bytes = 0;

  constructor(private readonly out: (bytes: Uint8Array) => void) {
    this.emit(BUNDLE_V2_MAGIC);
  }

  private emit(b: Uint8Array): void {
    this.bytes += b.length;
    this.out(b);
  }

  private write(r: BundleRecord): void {
    const body = encodeCbor(recordValue(r));
    const h = sha256Parts(this.prev, body);
    this.emit(encodeCborHead(2, h.length + body.length));
    this.emit(h);
    this.emit(body);
    this.prev = h;
    this.records++;
  }

  private order(phase: 'revocations' | 'links' | 'platforms'): void {
    const rank = { start: 0, revocations: 1, links: 2, platforms: 3, done: 4 };
    if (this.phase === 'start' || rank[phase] < rank[this.phase])
      throw new ChainError('ERR_CHAIN_BUNDLE', `bundle v2: ${phase} cannot follow ${this.phase}`);
    this.phase = phase;
  }

  /** Writes the blob unless an earlier record holds it; returns its id (SHA-256 of the content, hex). */
  private blob(kind: BlobKind, content: Uint8Array): string {
    const id = hex(sha256(content));
    if (!this.blobs.has(id)) {
      this.blobs.add(id);
      this.write({ kind: 'blob', blob: kind, content });
    }
    return id;
  }

  private context(tail: Uint8Array): string {
    const t = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
    // Stryker disable next-line ArrowFunction: a cache: a context not found here is found by its id in blob()
    const known = this.contexts.find((c) => c.bytes.equals(t));
    // Stryker disable next-line ConditionalExpression: a cache: a context not found here is found by its id in blob()
    if (known) return known.id;
    const id = this.blob('qe-context', tail);
    this.contexts.unshift({ bytes: Buffer.from(tail), id });
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a cache bound: a context evicted is still found by its id in blob()
    if (this.contexts.length > 64) this.contexts.pop();
    return id;
  }

  header(h: ChainHeader): void {
    if (this.phase !== 'start') throw new ChainError('ERR_CHAIN_BUNDLE', 'bundle v2: one header, first');
    const policy = enc.encode(canonicalJson(h.policy));
    const { policy: _p, ...rest } = h;
    this.write({ kind: 'header', header: rest, policyHash: hex(sha256(policy)) });
    this.blob('policy', policy);
    // Stryker disable next-line StringLiteral: any phase but 'start' orders the records after the header the same way
    this.phase = 'revocations';
  }

  revocation(r: Revocation): void {
    this.order('revocations');
    this.write({ kind: 'revocation', revocation: r });
  }

  /**
   * A link, with the collateral its quote references (a remote link) and the element's cloud.
   * `quote`: the bytes of the link's quote when the caller already holds them (exactly the hex's bytes).
   */
  link(l: Link, collateral?: CollateralBlob, cloud?: string, quote?: Uint8Array): void {
    this.order('links');
    let evidence: Extract<BundleRecord, { kind: 'link' }>['link']['evidence'] = l.evidence;
    if (l.evidence.kind === 'dcap-quote') {
      if (!collateral) throw new ChainError('ERR_CHAIN_BUNDLE', `remote link ${l.child}: its collateral is needed`);
      if (collateralId(collateral) !== l.evidence.collateral)
        throw new ChainError(
          'ERR_CHAIN_BUNDLE',
          `remote link ${l.child}: the collateral given is not the one it references`,
        );
      // Stryker disable next-line ConditionalExpression: blob() writes a blob once by its id
      if (!this.blobs.has(l.evidence.collateral)) this.blob('collateral', enc.encode(canonicalJson(collateral)));
      const q = quote ?? fromHex(l.evidence.quote);
      // Split a well-formed quote where the QE's shared part (attestation key, QE report, its signature,
      // QE auth data, certification data with the PCK chain) begins; anything else travels whole.
      // Stryker disable next-line EqualityOperator,UnaryOperator: a quote of at most 500 bytes is never split (`q.length > QUOTE_HEAD_BYTES` below)
      const sigLen = q.length >= QUOTE_HEAD_BYTES ? new DataView(q.buffer, q.byteOffset).getUint32(432, true) : -1;
      const split = sigLen === q.length - 436 && q.length > QUOTE_HEAD_BYTES;
      evidence = {
        kind: 'dcap-quote',
        quoteHead: split ? q.subarray(0, QUOTE_HEAD_BYTES) : q,
        context: split ? this.context(q.subarray(QUOTE_HEAD_BYTES)) : null,
        collateral: l.evidence.collateral,
        // Stryker disable next-line ConditionalExpression: an eventLog of undefined is written as no event log
        ...(l.evidence.eventLog !== undefined ? { eventLog: l.evidence.eventLog } : {}),
      };
    }
    // Stryker disable next-line ConditionalExpression: a cloud of undefined is written as null, as an absent one
    this.write({ kind: 'link', link: { ...l, evidence }, ...(cloud !== undefined ? { cloud } : {}) });
    this.counts[l.type]++;
  }

  /** A platform element (its QE element is implied: `qe:<platform>`, parent the platform). */
  platform(el: Element): void {
    this.order('platforms');
    if (el.kind !== 'platform') throw new ChainError('ERR_CHAIN_BUNDLE', `${el.id} is not a platform element`);
    this.write({
      kind: 'platform',
      platform: el.platform,
      // Stryker disable next-line ConditionalExpression: undefined is written as null, as an absent field
      ...(el.cloud !== undefined ? { cloud: el.cloud } : {}),
      // Stryker disable next-line ConditionalExpression: undefined is written as null, as an absent field
      ...(el.fmspc !== undefined ? { fmspc: el.fmspc } : {}),
      // Stryker disable next-line ConditionalExpression: undefined is written as null, as an absent field
      ...(el.tcbStatus !== undefined ? { tcbStatus: el.tcbStatus } : {}),
      // Stryker disable next-line ConditionalExpression: undefined is written as null, as an absent field
      ...(el.advisoryIds !== undefined ? { advisoryIds: el.advisoryIds } : {}),
    });
  }

  /** The trailer; returns the stream's hash (the trailer's chain hash) and size. */
  finish(): { records: number; bytes: number; hash: string } {
    if (this.phase === 'start' || this.phase === 'done')
      throw new ChainError('ERR_CHAIN_BUNDLE', 'bundle v2: no header, or finished');
    const { measured, ...links } = this.counts;
    this.write({
      kind: 'trailer',
      records: this.records,
      links: { ...links, ...(measured ? { measured } : {}) },
      blobs: this.blobs.size,
    });
    this.phase = 'done';
    return { records: this.records, bytes: this.bytes, hash: hex(this.prev) };
  }
}
