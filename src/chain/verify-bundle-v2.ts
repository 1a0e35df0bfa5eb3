import { checksFor, identityKind } from './layers.ts';
import type { LayerKind } from './types.ts';
import { equal, fromHex } from '../bytes/util.ts';
import { parseReportBody } from '../formats/report.ts';
import { checkBundleShape } from './bundle-shape.ts';
import { BundleError } from './errors.ts';
import { readBundleV2, type BundleItem } from './read-bundle-v2.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from './remote-verifier.ts';
import type { ChainFailure, ChainVerification, CollateralBlob, Element, Link } from './types.ts';
import {
  applyRevocation,
  checkHeader,
  LinkChecker,
  platformElementFailure,
  type VerifyChainOptions,
} from './verify-bundle.ts';

/** One link's crypto started ahead of its turn (on other threads): what the in-thread computation gives. */
export interface PrefetchedLinkCrypto {
  /** p256Verify(parent key, linkSigningBytes(link), signature), or null where that throws (checked in-thread then). */
  signature?: Promise<boolean | null>;
  /** The remote verifier's result for the link's quote and collateral at the verification time, without its report. */
  remote?: Promise<RemoteEvidenceResult | null>;
}

/**
 * Starts the crypto of a batch of links (in stream order) elsewhere. `key` is the parent's element key
 * as its own link carries it (absent for the first link, signed by the owner); `quote`, a remote link's
 * quote as the bytes whose hex `link.evidence.quote` is. Both are read during the call only (copied).
 */
export interface LinkCryptoPrefetcher {
  start(
    batch: Array<{ link: Link; key?: Uint8Array; collateral?: CollateralBlob; quote?: Uint8Array }>,
    at: Date,
  ): PrefetchedLinkCrypto[];
}

export interface VerifyStreamOptions extends VerifyChainOptions {
  prefetch?: LinkCryptoPrefetcher;
  /** Links read ahead of the one being checked (default 512 with a prefetcher). */
  window?: number;
  maxRecordBytes?: number;
}

const WINDOW = 512;
/** The verdict of every valid element: one shared frozen object (a million-element result holds a million). */
const VALID: { valid: true } = Object.freeze({ valid: true as const });
const BATCH = 64;

/**
 * Verifies a proof bundle v2 as it streams in (docs/chain.md): the same checks as verifyBundle, link by
 * link in append order (parents come first in a v2 bundle), never holding the links — memory is the
 * blobs, a window of links read ahead, and per enclave element what a child's check needs (its key,
 * depth and platform, as LinkChecker keeps it) and its verdict. A bundle that cannot be read (truncated,
 * reordered, altered, a missing reference) fails `bundle-format` naming the record and the ERR_BUNDLE_ code.
 * With `prefetch`, link signatures and quotes are checked ahead on other threads; LinkChecker still
 * decides every check in order, so the result is the single-threaded one, element by element.
 */
export async function verifyBundleV2(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: VerifyStreamOptions,
): Promise<ChainVerification> {
  const failures: ChainFailure[] = [];
  const elementsOut: ChainVerification['elements'] = {};
  // Members by kind; chains with TDs or workloads report them, and each member's kind (issue 16).
  const kinds: Partial<Record<LayerKind, number>> = {};
  const out = (valid: boolean, size: number, links: ChainVerification['links'], emulatedRoot: boolean) => {
    const layered = kinds['tdx-td'] !== undefined || kinds['td-workload'] !== undefined;
    // A new object: a valid enclave's verdict may be the shared frozen VALID.
    if (layered)
      for (const [id, e] of Object.entries(elementsOut))
        if (e.kind === undefined) elementsOut[id] = { ...e, kind: 'sgx-enclave' };
    const measured = checker?.measured ?? 0;
    return {
      valid,
      size,
      links: { ...links, ...(measured ? { measured } : {}) },
      failures,
      elements: elementsOut,
      ...(layered ? { kinds } : {}),
      emulatedRoot,
    };
  };
  let checker: LinkChecker | undefined;
  let emulatedRoot = false;
  let size = 0;
  const admitted = new Set<string>();
  const enclavePlatforms = new Set<string>();
  const platformElements: Element[] = [];
  const current = new Map<string, Element>();
  const collateral: Record<string, CollateralBlob> = {};
  // Stryker disable next-line BooleanLiteral: only read by the unreachable guard after the loop (the reader ends with a trailer or throws)
  let trailer = false;

  // Prefetched crypto of the link being checked, handed to LinkChecker through its two hooks.
  let pending: { link: Link; key?: Uint8Array; crypto: PrefetchedLinkCrypto } | undefined;
  const fallback = opts.remote;
  const remote: RemoteEvidenceVerifier = {
    async verify(quote, blob, at, o) {
      const p = pending?.crypto.remote;
      if (p) {
        pending!.crypto.remote = undefined;
        const r = await p;
        // A TD quote's prefetched verdict lacks its TD report: verified again here (issue 16).
        if (r && !(r.ok && r.tee === 'tdx'))
          // Stryker disable next-line StringLiteral: LinkChecker only asks whether tee is 'tdx'
          return r.ok ? { ...r, tee: 'sgx', report: parseReportBody(quote.subarray(48, 432)) } : r;
      }
      return fallback.verify(quote, blob, at, o);
    },
  };
  const prefetched = (link: Link, key: Uint8Array) => {
    const p = pending;
    if (p?.link !== link) return undefined;
    if (!p.crypto.signature || !p.key || !equal(p.key, key)) return undefined;
    // Stryker disable next-line ConditionalExpression: LinkChecker reads the verdict with ??: null and undefined both verify in-thread
    return p.crypto.signature.then((v) => (v === null ? undefined : v));
  };

  // Stryker disable next-line LogicalOperator: how far links are read ahead is scheduling only: every link is still checked in order
  const window = opts.prefetch ? (opts.window ?? WINDOW) : 1;
  const ahead: Array<{
    item: Extract<BundleItem, { kind: 'link' }>;
    crypto?: PrefetchedLinkCrypto;
    key?: Uint8Array;
  }> = [];
  let unsent = 0;
  const keyOf = (id: string | null): Uint8Array | undefined => {
    // Stryker disable next-line ConditionalExpression: no element has the id null: the lookups below find nothing either
    if (id === null) return undefined;
    // Stryker disable next-line OptionalChaining: links follow the header, so the checker exists whenever a key is looked up
    const s = checker?.state.get(id);
    // A view into the checker's key slabs (never overwritten): the prefetcher copies what it sends.
    if (s) return s.keyRaw;
    for (let i = ahead.length - 1; i >= 0; i--)
      if (ahead[i].item.link.child === id) return safeHex(ahead[i].item.link.childKey);
    return undefined;
  };
  const send = () => {
    if (!opts.prefetch) return;
    // Stryker disable next-line ConditionalExpression: an empty batch starts nothing
    if (unsent === 0) return;
    // Stryker disable next-line MethodExpression: sending links again that were sent already only replaces their crypto with the same verdicts
    const batch = ahead.slice(ahead.length - unsent);
    for (const b of batch) {
      const k = keyOf(b.item.link.parent);
      // Stryker disable next-line ConditionalExpression: a key of undefined is sent as none (spread only when set)
      if (k) b.key = k;
    }
    const started = opts.prefetch.start(
      batch.map(({ item, key }) => ({
        link: item.link,
        ...(key ? { key } : {}),
        ...(item.collateral ? { collateral: item.collateral } : {}),
        ...(item.quote ? { quote: item.quote } : {}),
      })),
      opts.at,
    );
    batch.forEach((b, i) => (b.crypto = started[i]));
    unsent = 0;
  };

  const checkLink = async (
    it: Extract<BundleItem, { kind: 'link' }>,
    crypto?: PrefetchedLinkCrypto,
    usedKey?: Uint8Array,
  ) => {
    const l = it.link;
    size++;
    enclavePlatforms.add(l.childPlatform);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: only remote links carry collateral (the reader refuses one without it); any other write is collateral[undefined] = undefined, which no link names
    if (l.evidence.kind === 'dcap-quote' && it.collateral) collateral[l.evidence.collateral] = it.collateral;
    if (admitted.has(l.child)) {
      failures.push({
        link: l.child,
        check: 'link-duplicate',
        message: 'two links admit the same element',
        record: it.index,
      });
      return;
    }
    admitted.add(l.child);
    let cause: string | undefined;
    if (l.parent !== null && !admitted.has(l.parent)) {
      cause = 'not reachable from the first enclave';
      failures.push({ link: l.child, check: 'link-structure', message: cause, record: it.index });
      checker!.invalid.set(l.child, cause);
    } else {
      current.set(l.child, it.element);
      // The prefetched signature was computed with `usedKey`; it is used only if LinkChecker holds
      // that very key for the parent (the hook compares them).
      pending = crypto ? { link: l, crypto, ...(usedKey ? { key: usedKey } : {}) } : undefined;
      // Stryker disable next-line ObjectLiteral: without the bytes LinkChecker decodes the same quote from its hex
      const f = await checker!.check(l, opts.at, it.quote ? { quote: it.quote } : {});
      pending = undefined;
      current.delete(l.child);
      if (f && f.check !== 'ancestor') failures.push({ ...f, record: it.index });
      cause = checker!.invalid.get(l.child);
    }
    elementsOut[l.child] = cause === undefined ? VALID : { valid: false, cause };
    const k = identityKind(l.childIdentity);
    kinds[k] = (kinds[k] ?? 0) + 1;
    // SGX enclaves get their checks listed once the chain has shown a TD or workload (the others get their kind at the end);
    // a TD or workload always (counted just above).
    if (kinds['tdx-td'] !== undefined || kinds['td-workload'] !== undefined)
      elementsOut[l.child] = { ...elementsOut[l.child], kind: k, checks: checksFor(k, l.type, checker!.header.policy) };
  };

  try {
    for await (const it of readBundleV2(chunks, opts.maxRecordBytes ? { maxRecordBytes: opts.maxRecordBytes } : {})) {
      if (it.kind === 'link') {
        ahead.push({ item: it });
        unsent++;
        // Stryker disable next-line ConditionalExpression,EqualityOperator: when a batch goes out is scheduling only: every link is sent before its check (below) or at the next non-link record
        if (unsent >= BATCH) send();
        // Stryker disable next-line ConditionalExpression: when a link is checked is scheduling only (the rest are checked at the next non-link record)
        if (ahead.length >= window) {
          // Stryker disable next-line ConditionalExpression: sending again with nothing unsent returns; with links unsent it sends them early
          if (!ahead[0].crypto) send();
          const a = ahead.shift()!;
          await checkLink(a.item, a.crypto, a.key);
        }
        continue;
      }
      send();
      while (ahead.length) {
        const a = ahead.shift()!;
        await checkLink(a.item, a.crypto, a.key);
      }
      switch (it.kind) {
        case 'header': {
          const h = it.header;
          emulatedRoot = h.emulatedRoot;
          const shape = checkBundleShape({
            format: 'catena-proof-bundle',
            version: 1,
            chain: h,
            elements: [],
            links: [],
            revocations: [],
            collateral: {},
          });
          if (!shape.ok) {
            failures.push({ link: '-', check: 'bundle-format', message: shape.message, record: it.index });
            return out(false, 0, { local: 0, remote: 0 }, false);
          }
          const head =
            opts.expectOwner !== undefined && opts.expectOwner.toLowerCase() !== h.ownerKey
              ? ({
                  ok: false,
                  failure: {
                    link: '-',
                    check: 'owner',
                    message: `the chain is owned by ${h.ownerKey.slice(0, 16)}…, not the expected owner`,
                  },
                } as const)
              : checkHeader(h, opts.root);
          if (!head.ok) {
            failures.push(head.failure);
            return out(false, 0, { local: 0, remote: 0 }, h.emulatedRoot);
          }
          checker = new LinkChecker(h, head.owner, current, collateral, remote, prefetched);
          break;
        }
        case 'revocation': {
          const f = applyRevocation(checker!, checker!.header, checker!.owner, it.revocation);
          if (f) failures.push({ ...f, record: it.index });
          break;
        }
        case 'platform':
          platformElements.push(...it.elements);
          size += 2;
          break;
        case 'trailer':
          trailer = true;
          break;
      }
    }
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    failures.push({ link: '-', check: 'bundle-format', message: e.message, record: e.record, code: e.code });
    return out(false, size, checker ? { ...checker.counts } : { local: 0, remote: 0 }, emulatedRoot);
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the reader yields a header first and ends with a trailer, or throws a BundleError: never true
  if (!checker || !trailer) throw new Error('unreachable: the reader ends with a trailer after a header');
  for (const el of platformElements) {
    const f = platformElementFailure(el, enclavePlatforms, checker);
    if (f) failures.push(f);
  }
  // Stryker disable next-line ConditionalExpression: every invalid element has a failure pushed (its own, or its first invalid ancestor's; revocations precede links, so no parent falls after its children were checked)
  return out(failures.length === 0 && checker.invalid.size === 0, size, { ...checker.counts }, emulatedRoot);
}

function safeHex(h: string): Uint8Array | undefined {
  try {
    return fromHex(h, 64);
  } catch /* Stryker disable next-line BlockStatement: an empty catch returns undefined too */ {
    return undefined;
  }
}
