import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { fromHex, hex } from '../bytes/util.ts';
import { Chain } from '../chain/chain.ts';
import { ChainError } from '../chain/errors.ts';
import { parseChainPolicy } from '../chain/parse-policy.ts';
import { headerSigningBytes } from '../chain/signing.ts';
import type {
  ChainHeader,
  ChainPolicy,
  ChainVerification,
  CollateralBlob,
  Element,
  Link,
  ProofBundle,
  Revocation,
} from '../chain/types.ts';
import type { RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import { collateralId, type PrefetchedSignature } from '../chain/verify-bundle.ts';
import { p256PublicRaw, p256Sign, type P256KeyPair } from '../crypto/ecdsa.ts';
import { sha256 } from '../crypto/sha256.ts';
import { StoreError } from '../store/errors.ts';
import { canonicalJson } from '../store/canonical.ts';
import type { ChainRow, ElementPatch, ElementRow, Store } from '../store/types.ts';
import { ServerError } from './errors.ts';
import { challengeSecret, checkChallenge, issueChallenge, type ChallengeSecret } from './challenge.ts';
import type { Reattestation } from './reattestation.ts';
import type { ElementHealth } from './selfmanage/element-health.ts';
import { PrefetchingVerifier } from './prefetching-verifier.ts';

/** What the store keeps for a chain (opaque JSON to the store). */
export interface StoredAnchor {
  /** The root certificate (DER, hex) the chain is anchored at. */
  root: string;
  header: Omit<ChainHeader, 'policy' | 'signature'>;
}
export interface StoredPolicy {
  policy: ChainPolicy;
  /** Owner signature of the header carrying this policy. */
  signature: string;
}
/** What the store keeps per enclave element. */
export interface ElementRecord {
  element: Element;
  link: Link;
  /** The collateral of a remote link, kept with the first element that used it in this chain. */
  collateral?: CollateralBlob;
  /** Platform and QE elements as they stood after this append (remote links). */
  platforms?: Element[];
  revocation?: Revocation;
  /** The agent hosting the enclave, when known. */
  agent?: string;
  /** The last re-attestation by the manager (src/server/reattest.ts). */
  reattestation?: Reattestation;
  /** The element's state as the manager last appraised it (src/server/selfmanage/). */
  health?: ElementHealth;
}

/** `attestation-failed`: the last re-attestation was refused (the element stays; only the owner revokes). */
export type ElementStatus = 'active' | 'revoked' | 'unreachable' | 'attestation-failed' | 'quarantined';

export interface ChainEvent {
  type:
    | 'chain.created'
    | 'chain.deleted'
    | 'chain.policy'
    | 'element.appended'
    | 'element.revoked'
    | 'element.status'
    | 'element.reattested'
    | 'element.state'
    | 'element.retired'
    | 'element.quarantined'
    | 'element.notify'
    | 'collateral.changed'
    | 'collateral.refused'
    | 'collateral.unreachable'
    | 'collateral.stale'
    | 'reaction.done'
    | 'agent.status'
    | 'event.acknowledged';
  chain?: string;
  element?: string;
  status?: string;
  agent?: string;
  at: string;
  [k: string]: unknown;
}

interface Entry {
  chain: Chain;
  root: Uint8Array;
  /**
   * Store version the in-memory chain reflects. Shared store: set from the store's own reads (own
   * appends are counted when a read shows them committed), plus own non-append writes.
   */
  version: number;
  /** Highest element seq the in-memory chain reflects (shared store: rows after it are caught up). */
  lastSeq: number;
  pending: number;
  lock: Promise<unknown>;
  /** Collateral ids already kept in some element record of this chain. */
  collateral: Set<string>;
}

export interface ChainServiceOptions {
  store: Store;
  key: P256KeyPair;
  remoteVerifier: (root: Uint8Array) => RemoteEvidenceVerifier;
  clock?: () => Date;
  /** Several managers share the store (PostgreSQL): check for foreign writes before each append. */
  sharedStore?: boolean;
  /** How long a first-link challenge stays valid (ms, default 5 min). */
  challengeTtlMs?: number;
  /**
   * The manager's own collateral for a quote (from its PCS/PCCS, cached): when set, remote appends
   * are checked with it and it is the collateral stored; a client-supplied collateral is then optional
   * (docs/api.md, "Collateral").
   */
  collateralFor?: (quote: Uint8Array, at: Date) => Promise<CollateralBlob>;
}

export interface AppendRequest {
  link: Link;
  collateral?: CollateralBlob;
  cloud?: string;
  agent?: string;
}

const evidenceHash = (l: Link): string =>
  hex(
    sha256(
      l.evidence.kind === 'dcap-quote'
        ? fromHex(l.evidence.quote)
        : l.evidence.kind === 'sgx-report'
          ? fromHex(l.evidence.report)
          : new TextEncoder().encode(`td-event ${l.evidence.event} ${l.evidence.digest}`),
    ),
  );

export function storeToServerError(e: unknown): unknown {
  if (e instanceof StoreError) {
    switch (e.code) {
      case 'ERR_STORE_NOT_FOUND':
        return new ServerError('ERR_NOT_FOUND', e.message);
      case 'ERR_STORE_CONFLICT':
      case 'ERR_STORE_DUPLICATE':
      case 'ERR_STORE_NOT_LEAF':
        return new ServerError('ERR_CONFLICT', e.message);
      case 'ERR_STORE_NO_PARENT':
        return new ServerError('ERR_LINK_REFUSED', e.message, 'link-structure');
      case 'ERR_STORE_NONCE_USED':
        // What the chain's own check answers (a replay another replica committed first).
        return new ServerError(
          'ERR_LINK_REFUSED',
          'nonce-reuse: the challenge nonce was already used in this chain',
          'nonce-reuse',
        );
      case 'ERR_STORE_INVALID':
        return new ServerError('ERR_MALFORMED', e.message);
      case 'ERR_STORE_BUSY':
      case 'ERR_STORE_CLOSED':
        return new ServerError('ERR_UNAVAILABLE', e.message);
    }
  }
  if (e instanceof ChainError) {
    if (e.code === 'ERR_CHAIN_POLICY' || e.code === 'ERR_CHAIN_POLICY_KIND')
      return new ServerError('ERR_MALFORMED', e.message, e.check);
    if (e.code === 'ERR_CHAIN_UNKNOWN_ELEMENT') return new ServerError('ERR_NOT_FOUND', e.message);
    if (e.code === 'ERR_CHAIN_DUPLICATE') return new ServerError('ERR_CONFLICT', e.message);
    if (e.code === 'ERR_CHAIN_NOT_LEAF') return new ServerError('ERR_CONFLICT', e.message);
    return new ServerError('ERR_LINK_REFUSED', e.message, e.check);
  }
  return e;
}

/**
 * The manager's chains: each is loaded once from the store into a `Chain` (the pure model), and
 * every append runs the chain's LinkChecker — the same checks an offline verifier of the proof
 * bundle runs — before the store commits it. The manager holds the owner key of the chains it
 * creates. Appends to one chain are checked one at a time; their commits overlap (group commit).
 */
export class ChainService {
  readonly events = new EventEmitter();
  private readonly cache = new Map<string, Promise<Entry>>();
  private readonly challengeSecret: ChallengeSecret;
  private readonly verifiers = new Map<string, PrefetchingVerifier>();
  private readonly clock: () => Date;
  constructor(private readonly opts: ChainServiceOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.challengeSecret = challengeSecret(opts.key.privateKey);
    this.events.setMaxListeners(0);
  }

  /**
   * Set by replicateEvents (replicas on one PostgreSQL): the NOTIFY that publishes an append's event
   * (its `seq` −1, filled in by the database) in the append's own transaction.
   */
  announce: ((ev: ChainEvent) => { channel: string; before: string; after: string } | undefined) | undefined;

  /**
   * Publishes an event on `events` (SSE, webhooks, the self-management loop) stamped with the time;
   * `published`: the store already published it to the other replicas (listeners' second argument).
   */
  emit(ev: Omit<ChainEvent, 'at'>, published = false): void {
    this.events.emit('event', { ...ev, at: this.clock().toISOString() }, published);
  }

  /** The remote-evidence verifier of chains anchored at `root` (one per root, shared by its chains). */
  private verifierFor(root: Uint8Array): PrefetchingVerifier {
    const k = hex(root);
    let v = this.verifiers.get(k);
    if (!v) this.verifiers.set(k, (v = new PrefetchingVerifier(this.opts.remoteVerifier(root))));
    return v;
  }

  private signaturesFor(root: Uint8Array): PrefetchedSignature {
    const v = this.verifierFor(root);
    return (link, key) => v.signatureFor(link, key);
  }

  /**
   * Starts the DCAP verification of a remote link's quote before the chain lock (see
   * PrefetchingVerifier), with the collateral the chain's LinkChecker will use: the one the chain holds
   * under the link's reference, else the one this append brings under that reference. Not for links
   * the checks made under the lock will refuse anyway before verifying (known element, used nonce),
   * nor for first links (the owner appraises those). Returns the release function.
   */
  private prefetch(entry: Entry, req: AppendRequest, own: CollateralBlob | undefined, now: Date): () => void {
    const l = req.link;
    if (l.type !== 'remote' || l.evidence.kind !== 'dcap-quote' || l.parent === null) return () => {};
    if (entry.chain.element(l.child) || entry.chain.nonceUsed(l.nonce)) return () => {};
    const ref = l.evidence.collateral;
    const blob =
      entry.chain.heldCollateral(ref) ??
      (own && collateralId(own) === ref
        ? own
        : req.collateral && collateralId(req.collateral) === ref
          ? req.collateral
          : undefined);
    if (!blob) return () => {};
    let quote: Uint8Array;
    try {
      quote = fromHex(l.evidence.quote);
    } catch {
      return () => {}; // the checker names the bad hex
    }
    // With the parent already in the chain, its signature on the link is checked along (off this thread when the verifier can).
    const parentKey = entry.chain.element(l.parent)?.elementKey;
    return this.verifierFor(entry.root).start(quote, blob, now, parentKey ? { link: l, key: parentKey } : undefined);
  }

  get ownerKey(): string {
    return hex(p256PublicRaw(this.opts.key.publicKey));
  }

  async create(
    req: { name: string; root: Uint8Array; emulatedRoot: boolean; policy: ChainPolicy; id?: string },
    actor: string,
  ): Promise<ChainRow> {
    const now = this.clock();
    const chain = Chain.create({
      name: req.name,
      id: req.id ?? randomUUID(),
      root: req.root,
      emulatedRoot: req.emulatedRoot,
      policy: req.policy,
      owner: this.opts.key,
      remote: this.verifierFor(req.root),
      now,
      prefetched: this.signaturesFor(req.root),
    });
    const { policy, signature, ...rest } = chain.header;
    const row = await this.opts.store
      .createChain(
        {
          id: chain.id,
          name: req.name,
          policy: { policy, signature } satisfies StoredPolicy,
          anchor: { root: hex(req.root), header: rest } satisfies StoredAnchor,
          createdAt: now,
        },
        { actor, at: now },
      )
      .catch((e) => {
        throw storeToServerError(e);
      });
    this.cache.set(
      chain.id,
      Promise.resolve({
        chain,
        root: req.root,
        version: row.version,
        lastSeq: 0,
        pending: 0,
        lock: Promise.resolve(),
        collateral: new Set(),
      }),
    );
    this.emit({ type: 'chain.created', chain: chain.id });
    return row;
  }

  async row(id: string): Promise<ChainRow> {
    const row = await this.opts.store.getChain(id);
    if (!row || row.deleted) throw new ServerError('ERR_NOT_FOUND', `no chain ${id}`);
    return row;
  }

  private async load(id: string): Promise<Entry> {
    const row = await this.row(id);
    // Version and rows from one statement: a replica's later catch-up counts from exactly these.
    const { version, elements: rows } = await this.opts.store.elementsAfter(id, 0);
    const anchor = row.anchor as StoredAnchor;
    const pol = row.policy as StoredPolicy;
    const root = fromHex(anchor.root);
    const header: ChainHeader = { ...anchor.header, policy: pol.policy, signature: pol.signature };
    const elements = new Map<string, Element>();
    const links: Link[] = [];
    const revocations: Revocation[] = [];
    const collateral: Record<string, CollateralBlob> = {};
    for (const r of rows) {
      const rec = r.record as ElementRecord;
      for (const p of rec.platforms ?? []) elements.set(p.id, p);
      elements.set(rec.element.id, rec.element);
      links.push(rec.link);
      if (rec.collateral) collateral[collateralId(rec.collateral)] = rec.collateral;
      if (rec.revocation) revocations.push(rec.revocation);
    }
    const bundle: ProofBundle = {
      format: 'catena-proof-bundle',
      version: 1,
      chain: header,
      elements: [...elements.values()],
      links,
      revocations,
      collateral,
    };
    const chain = await Chain.restore(bundle, {
      root,
      remote: this.verifierFor(root),
      at: this.clock(),
      owner: this.opts.key,
      prefetched: this.signaturesFor(root),
    });
    return {
      chain,
      root,
      version,
      lastSeq: rows.reduce((m, r) => Math.max(m, r.seq), 0),
      pending: 0,
      lock: Promise.resolve(),
      collateral: new Set(Object.keys(collateral)),
    };
  }

  /**
   * Shared store (replicas on one PostgreSQL), under the chain's lock: brings the in-memory chain up to
   * a read of the store's rows after entry.lastSeq. When the read's version is exactly the reflected
   * version plus its new rows, every change since was an append: the other replicas' elements are
   * re-checked and added here (their links at their own append time), ours are already here. Anything
   * else — an update, a revocation, a removal, a policy change, a link that does not pass here —
   * answers false: the caller reloads the whole chain from the store. A read older than what is
   * reflected (it was started before another append's read) changes nothing.
   */
  private async catchUp(
    entry: Entry,
    tail: { version: number; deleted: boolean; elements: ElementRow[] },
  ): Promise<boolean> {
    if (tail.deleted) throw new ServerError('ERR_NOT_FOUND', `no chain ${entry.chain.id}`);
    const fresh = tail.elements.filter((r) => r.seq > entry.lastSeq);
    if (tail.version === entry.version + fresh.length) {
      for (const r of fresh) {
        if (entry.chain.element(r.id)) continue; // our own append, committed
        const rec = r.record as ElementRecord;
        if (rec.revocation || r.status !== 'active') return false;
        try {
          await entry.chain.append(rec.link, {
            at: r.createdAt,
            ...(rec.collateral ? { collateral: rec.collateral } : {}),
            ...(rec.element.cloud ? { cloud: rec.element.cloud } : {}),
          });
        } catch {
          return false;
        }
        if (rec.collateral) entry.collateral.add(collateralId(rec.collateral));
      }
      entry.version = tail.version;
      entry.lastSeq = fresh.reduce((m, r) => Math.max(m, r.seq), entry.lastSeq);
      return true;
    }
    return tail.version < entry.version && fresh.length === 0;
  }

  /** The loaded chain (from cache, or the store). */
  entry(id: string): Promise<Entry> {
    let p = this.cache.get(id);
    if (!p) {
      p = this.load(id);
      this.cache.set(id, p);
      p.catch(() => this.cache.delete(id));
    }
    return p;
  }

  /** Forgets the in-memory chain: the next use reloads it from the store. */
  evict(id: string): void {
    this.cache.delete(id);
  }

  private async locked<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const run = e.lock.then(fn, fn);
    e.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * A fresh owner challenge for the chain's first enclave. Stateless (src/server/challenge.ts): any
   * replica holding the manager key accepts it until it expires; a chain admits one first enclave.
   */
  async challenge(id: string): Promise<{ nonce: string; expiresAt: string }> {
    await this.row(id);
    return issueChallenge(this.challengeSecret, id, this.clock(), this.opts.challengeTtlMs ?? 300_000);
  }

  /**
   * Appends the element a link admits. A first link (parent null) arrives unsigned with the evidence
   * answering one of our challenges: the manager, as chain owner, appraises the quote and signs it.
   */
  async append(
    chainId: string,
    req: AppendRequest,
    actor: string,
  ): Promise<{ element: Element; row: ElementRow; link: Link }> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.entry(chainId);
      const r = await this.appendTo(chainId, entry, req, actor, attempt < 3);
      if (r !== 'reload') return r;
      // Another replica changed the chain other than by appending: rebuild it from the store.
      this.evict(chainId);
    }
  }

  private async appendTo(
    chainId: string,
    entry: Entry,
    req: AppendRequest,
    actor: string,
    mayReload: boolean,
  ): Promise<{ element: Element; row: ElementRow; link: Link } | 'reload'> {
    // Replicas: the store's rows after ours, read concurrently with other appends' reads; applied under the lock.
    const tail = this.opts.sharedStore ? this.tailFromNow(chainId, entry) : undefined;
    tail?.catch(() => {});
    const now = this.clock();
    const ev = req.link.evidence;
    // The manager's own collateral (fetched outside the chain lock: the PCS may be slow).
    const own =
      req.link.type === 'remote' && ev.kind === 'dcap-quote' && this.opts.collateralFor
        ? await this.opts.collateralFor(fromHex(ev.quote), now)
        : undefined;
    // The quote's verification starts now, outside the lock: appends to one chain are checked one at a
    // time, but their (costly, independent) quote verifications need not wait for each other.
    const release = this.prefetch(entry, req, own, now);
    const checked = await this.locked(entry, async () => {
      if (tail) {
        const fresh = await tail.catch((e: unknown) => {
          throw storeToServerError(e);
        });
        if (!(await this.catchUp(entry, fresh)) && mayReload) return 'reload' as const;
      }
      let link = req.link;
      const collateral = await this.resolveCollateral(entry, link, req.collateral, own, now);
      if (link.parent === null) link = await this.ownerLink(chainId, entry.chain, link, collateral, now);
      const existing = entry.chain.element(link.child);
      if (existing) throw new ServerError('ERR_CONFLICT', `element ${link.child} is already in the chain`);
      const platformBefore = entry.chain.element(`platform:${link.childPlatform}`);
      const before = platformBefore
        ? `${platformBefore.tcbStatus ?? ''}/${(platformBefore.advisoryIds ?? []).join(',')}`
        : undefined;
      let el: Element;
      try {
        el = await entry.chain.append(link, {
          at: now,
          ...(collateral ? { collateral } : {}),
          ...(req.cloud ? { cloud: req.cloud } : {}),
        });
      } catch (e) {
        throw storeToServerError(e);
      }
      const platforms =
        link.type === 'remote'
          ? [
              entry.chain.element(`platform:${link.childPlatform}`),
              entry.chain.element(`qe:${link.childPlatform}`),
            ].filter((x): x is Element => x !== undefined)
          : [];
      const pe = platforms[0];
      const changedPlatforms =
        pe && `${pe.tcbStatus ?? ''}/${(pe.advisoryIds ?? []).join(',')}` === before ? [] : platforms;
      // Collateral is stored once per chain: with the first element whose link references it.
      const collRef = link.evidence.kind === 'dcap-quote' ? link.evidence.collateral : undefined;
      const storeCollateral =
        collRef !== undefined &&
        collateral !== undefined &&
        collateralId(collateral) === collRef &&
        !entry.collateral.has(collRef);
      if (storeCollateral) entry.collateral.add(collRef);
      const record: ElementRecord = {
        element: el,
        link,
        ...(storeCollateral ? { collateral } : {}),
        ...(changedPlatforms.length ? { platforms: changedPlatforms } : {}),
        ...(req.agent ? { agent: req.agent } : {}),
      };
      entry.pending++;
      return { el, link, record };
    }).finally(release);
    if (checked === 'reload') return checked;
    const appended = {
      type: 'element.appended' as const,
      chain: chainId,
      element: checked.el.id,
      parent: checked.link.parent,
      linkType: checked.link.type,
    };
    const announce = this.announce?.({ ...appended, seq: -1, at: this.clock().toISOString() });
    let result: { element: ElementRow; chain: ChainRow };
    try {
      result = await this.opts.store.appendElement(
        chainId,
        {
          id: checked.el.id,
          parentId: checked.link.parent,
          kind: checked.el.kind,
          status: 'active',
          record: checked.record,
          evidenceHashes: [evidenceHash(checked.link)],
          nonce: checked.link.nonce,
          ...(announce ? { announce } : {}),
        },
        'any',
        { actor, at: now },
      );
    } catch (e) {
      // The in-memory chain holds an element the store refused: rebuild it from the store — unless
      // another replica stored this very link meanwhile (the store holds what memory holds).
      if (!(await this.storedAsIs(chainId, checked.link, e))) this.evict(chainId);
      throw storeToServerError(e);
    } finally {
      entry.pending--;
    }
    if (!this.opts.sharedStore) entry.version++;
    else if (result.element.seq === entry.lastSeq + 1 && result.chain.version === entry.version + 1) {
      // Nothing else was written to the chain since what memory reflects: the next catch-up read
      // starts after this element instead of reading it (10 KB) back.
      entry.lastSeq = result.element.seq;
      entry.version = result.chain.version;
    }
    this.emit({ ...appended, seq: result.element.seq }, announce !== undefined);
    return { element: checked.el, row: result.element, link: checked.link };
  }

  readonly #tails = new WeakMap<Entry, Promise<{ version: number; deleted: boolean; elements: ElementRow[] }>>();

  /**
   * elementsAfter(chain, entry.lastSeq), read once per turn of the event loop for all the appends to
   * the chain that arrived in that turn. A read is shared only by requests that arrived before it
   * starts, so each still sees every append committed before it arrived.
   */
  private tailFromNow(
    chainId: string,
    entry: Entry,
  ): Promise<{ version: number; deleted: boolean; elements: ElementRow[] }> {
    let p = this.#tails.get(entry);
    if (!p) {
      p = new Promise((resolve, reject) =>
        setImmediate(() => {
          this.#tails.delete(entry);
          this.opts.store.elementsAfter(chainId, entry.lastSeq).then(resolve, reject);
        }),
      );
      this.#tails.set(entry, p);
    }
    return p;
  }

  /** A duplicate refusal for exactly this link, already stored (by another replica). */
  private async storedAsIs(chainId: string, link: Link, e: unknown): Promise<boolean> {
    if (!(e instanceof StoreError) || e.code !== 'ERR_STORE_DUPLICATE') return false;
    const row = await this.opts.store.getElement(chainId, link.child).catch(() => undefined);
    return row !== undefined && canonicalJson((row.record as ElementRecord).link) === canonicalJson(link);
  }

  /**
   * The collateral a remote link is checked with and stored with. Without a PCS: the client's (required
   * unless the chain already holds the one the link references). With a PCS (`own`): the first link
   * uses the PCS collateral (the client's is ignored); a later link names, under its parent's
   * signature, the collateral the parent verified with — when that is the PCS collateral, the client's
   * is ignored; otherwise the quote must also pass with the PCS collateral (the manager's own check),
   * and the referenced collateral comes from the client or the chain.
   */
  private async resolveCollateral(
    entry: Entry,
    link: Link,
    client: CollateralBlob | undefined,
    own: CollateralBlob | undefined,
    now: Date,
  ): Promise<CollateralBlob | undefined> {
    if (link.type !== 'remote' || link.evidence.kind !== 'dcap-quote') return client;
    const ref = link.evidence.collateral;
    if (own) {
      if (link.parent === null || collateralId(own) === ref) return own;
      try {
        await entry.chain.appraiseRemote(fromHex(link.evidence.quote), own, now);
      } catch (e) {
        throw storeToServerError(e);
      }
    }
    if (client || (link.parent !== null && entry.collateral.has(ref))) return client;
    throw new ServerError(
      'ERR_COLLATERAL_REQUIRED',
      link.parent === null
        ? 'the first enclave is admitted with a DCAP quote and its collateral: send "collateral", or run the manager with a PCS (--pcs URL)'
        : `the link references collateral ${ref}, which this chain does not hold${own ? ' and the PCS does not serve' : ''}: send it as "collateral"${own ? '' : ', or run the manager with a PCS (--pcs URL)'}`,
      'collateral-missing',
    );
  }

  private async ownerLink(
    chainId: string,
    chain: Chain,
    link: Link,
    collateral: CollateralBlob | undefined,
    now: Date,
  ): Promise<Link> {
    const answered = checkChallenge(this.challengeSecret, chainId, link.nonce, now);
    if (!answered.ok)
      throw new ServerError(
        'ERR_UNKNOWN_CHALLENGE',
        `the first link must answer an unexpired challenge from POST /v1/chains/:id/challenge (${answered.reason})`,
      );
    if (link.type !== 'remote' || link.evidence.kind !== 'dcap-quote' || !collateral)
      throw new ServerError(
        'ERR_LINK_REFUSED',
        'the first enclave is admitted with a DCAP quote and its collateral',
        'link-type',
      );
    const { signature: _s, appraisal: _a, ...rest } = link;
    let appraisal;
    try {
      appraisal = await chain.appraiseRemote(fromHex(link.evidence.quote), collateral, now);
    } catch (e) {
      throw storeToServerError(e);
    }
    return chain.signAsOwner({
      ...rest,
      evidence: { ...link.evidence, collateral: collateralId(collateral) },
      at: now.toISOString(),
      appraisal,
    });
  }

  async revoke(chainId: string, elementId: string, reason: string, actor: string): Promise<Revocation> {
    const entry = await this.entry(chainId);
    const now = this.clock();
    // Read, revoke and write under the chain's lock: a re-attestation result written meanwhile is kept, and cannot overwrite the revocation.
    const rev = await this.locked(entry, async () => {
      const row = await this.opts.store.getElement(chainId, elementId);
      if (!row) throw new ServerError('ERR_NOT_FOUND', `no element ${elementId} in chain ${chainId}`);
      const r = entry.chain.revoke(elementId, reason, now);
      try {
        await this.opts.store.updateElement(
          chainId,
          elementId,
          { status: 'revoked', record: { ...(row.record as ElementRecord), revocation: r } },
          { actor, at: now },
        );
      } catch (e) {
        this.evict(chainId);
        throw storeToServerError(e);
      }
      entry.version++;
      return r;
    });
    this.emit({ type: 'element.revoked', chain: chainId, element: elementId, reason });
    return rev;
  }

  /**
   * Read-modify-write of one element row under the chain's lock (revocation takes the same lock):
   * `patch` sees the row as stored now and returns the change, or undefined to write nothing.
   */
  async updateElementUnderLock(
    chainId: string,
    elementId: string,
    actor: string,
    patch: (row: ElementRow) => ElementPatch | undefined,
  ): Promise<ElementRow | undefined> {
    const entry = await this.entry(chainId);
    return this.locked(entry, async () => {
      const row = await this.opts.store.getElement(chainId, elementId);
      if (!row) throw new ServerError('ERR_NOT_FOUND', `no element ${elementId} in chain ${chainId}`);
      const p = patch(row);
      if (!p) return undefined;
      const out = await this.opts.store
        .updateElement(chainId, elementId, p, { actor, at: this.clock() })
        .catch((e: unknown) => {
          throw storeToServerError(e);
        });
      entry.version++;
      return out;
    });
  }

  /**
   * Retires elements replaced elsewhere (a migration): removes them from the chain and the store,
   * children before parents (`ids` must be a whole subtree), with the cause in the event and the audit
   * trail. Collateral a removed record held for links that stay moves to one of those links' records, so
   * the stored chain still carries it.
   */
  async retire(chainId: string, ids: string[], cause: string, actor: string): Promise<string[]> {
    const entry = await this.entry(chainId);
    const done: string[] = [];
    await this.locked(entry, async () => {
      const rows = await this.opts.store.listElements(chainId);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const gone = new Set(ids.filter((id) => byId.has(id)));
      const depthOf = (id: string): number => {
        const p = byId.get(id)?.parentId;
        return p && byId.has(p) ? depthOf(p) + 1 : 0;
      };
      const order = [...gone].sort((a, b) => depthOf(b) - depthOf(a));
      const at = this.clock();
      const keep = rows.filter((r) => !gone.has(r.id));
      const patched = new Map<string, ElementRecord>();
      const recOf = (r: ElementRow) => patched.get(r.id) ?? (r.record as ElementRecord);
      // What only a removed record carried and a remaining link still needs moves to a remaining record:
      // the collateral its links reference, and the platform/QE elements of its platform.
      for (const id of order) {
        const rec = byId.get(id)!.record as ElementRecord;
        if (rec.collateral) {
          const cid = collateralId(rec.collateral);
          const users = keep.filter((r) => {
            const ev = recOf(r).link.evidence;
            return ev.kind === 'dcap-quote' && ev.collateral === cid;
          });
          const held = keep.some((r) => {
            const c = recOf(r).collateral;
            return c !== undefined && collateralId(c) === cid;
          });
          // A record holds one collateral: the heir is a user without one, else any remaining record without one.
          const heir = users.find((r) => !recOf(r).collateral) ?? keep.find((r) => !recOf(r).collateral);
          if (users.length && !held && heir) patched.set(heir.id, { ...recOf(heir), collateral: rec.collateral });
        }
        for (const p of rec.platforms ?? []) {
          if (keep.some((r) => recOf(r).platforms?.some((q) => q.id === p.id))) continue;
          const heir = keep
            .filter(
              (r) => `platform:${recOf(r).element.platform}` === p.id || `qe:${recOf(r).element.platform}` === p.id,
            )
            .pop();
          if (heir) patched.set(heir.id, { ...recOf(heir), platforms: [...(recOf(heir).platforms ?? []), p] });
        }
      }
      try {
        for (const [id, record] of patched) await this.opts.store.updateElement(chainId, id, { record }, { actor, at });
        for (const id of order) {
          await this.opts.store.removeElement(chainId, id, { actor, at });
          done.push(id);
        }
      } finally {
        this.evict(chainId); // reloaded from the store as committed
      }
    });
    for (const id of done) this.emit({ type: 'element.retired', chain: chainId, element: id, cause });
    return done;
  }

  /** Replaces the policy (a new owner-signed header) and re-evaluates the chain under it. */
  async updatePolicy(chainId: string, policy: ChainPolicy, actor: string): Promise<ChainVerification> {
    parseChainPolicy(policy);
    const row = await this.row(chainId);
    const anchor = row.anchor as StoredAnchor;
    const unsigned = { ...anchor.header, policy };
    const signature = hex(p256Sign(this.opts.key.privateKey, headerSigningBytes(unsigned)));
    const now = this.clock();
    await this.opts.store
      .updatePolicy(chainId, { policy, signature } satisfies StoredPolicy, row.version, { actor, at: now })
      .catch((e) => {
        throw storeToServerError(e);
      });
    this.evict(chainId);
    const v = await this.verify(chainId, now);
    this.emit({ type: 'chain.policy', chain: chainId, valid: v.valid });
    return v;
  }

  async delete(chainId: string, actor: string): Promise<void> {
    await this.opts.store.deleteChain(chainId, { actor, at: this.clock() }).catch((e) => {
      throw storeToServerError(e);
    });
    this.evict(chainId);
    this.emit({ type: 'chain.deleted', chain: chainId });
  }

  async verify(chainId: string, at: Date = this.clock()): Promise<ChainVerification> {
    const e = await this.current(chainId);
    return e.chain.verify(at);
  }

  async bundle(chainId: string): Promise<ProofBundle> {
    return (await this.current(chainId)).chain.toBundle();
  }

  /**
   * The loaded chain as the store holds it now: with a shared store (replicas), the other replicas'
   * appends are caught up with first (or the chain is reloaded); otherwise the cached entry.
   */
  private async current(chainId: string): Promise<Entry> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.entry(chainId);
      if (!this.opts.sharedStore) return entry;
      const tail = await this.opts.store.elementsAfter(chainId, entry.lastSeq).catch((e: unknown) => {
        throw storeToServerError(e);
      });
      if ((await this.locked(entry, () => this.catchUp(entry, tail))) || attempt >= 3) return entry;
      this.evict(chainId);
    }
  }

  /**
   * Marks every element hosted by `agent` (status active ↔ unreachable); revoked elements stay
   * revoked and elements whose re-attestation failed stay flagged (reachability does not clear that).
   */
  async markAgentElements(agent: string, status: 'active' | 'unreachable', actor: string): Promise<number> {
    let n = 0;
    let after: string | undefined;
    for (;;) {
      const chains = await this.opts.store.listChains({ limit: 500, ...(after ? { after } : {}) });
      if (chains.length === 0) break;
      for (const c of chains) {
        for (const r of await this.opts.store.listElements(c.id)) {
          if (
            (r.record as ElementRecord).agent !== agent ||
            (r.status !== 'active' && r.status !== 'unreachable') ||
            r.status === status
          )
            continue;
          await this.opts.store.updateElement(c.id, r.id, { status }, { actor, at: this.clock() });
          const cached = this.cache.get(c.id);
          if (cached) cached.then((e) => e.version++).catch(() => {});
          this.emit({ type: 'element.status', chain: c.id, element: r.id, status, agent });
          n++;
        }
      }
      after = chains[chains.length - 1].id;
    }
    return n;
  }
}
