import { hex } from '../bytes/util.ts';
import { Chain } from '../chain/chain.ts';
import { enclaveElementId } from '../chain/chain.ts';
import type { CollateralBlob, Element, Link, LinkAppraisal, LinkType } from '../chain/types.ts';
import type { ElementHandle } from './element.ts';
import { identityOfBody } from './element-core.ts';
import { parseReport } from '../formats/report.ts';
import { ChainError } from '../chain/errors.ts';

/** Where a remote child gets its quote and which collateral verifies it. */
export interface QuoteSource {
  /** TARGETINFO of the QE on the child's platform. */
  qeTargetInfo(child: ElementHandle): Uint8Array;
  quote(child: ElementHandle, report: Uint8Array): Promise<Uint8Array>;
  collateral(child: ElementHandle): CollateralBlob;
}

/**
 * Drives enclaves to grow a chain: the parent challenges with a fresh nonce, the child presents
 * evidence binding its element key to the nonce, the parent checks it (REPORT MAC, or the DCAP quote)
 * and signs the link; the chain then checks the signed link as any verifier would.
 */
export class CotBuilder {
  private readonly handles = new Map<string, ElementHandle>();
  private readonly depths = new Map<string, { parent: string | null; depth: number }>();
  constructor(
    readonly chain: Chain,
    private readonly quotes: QuoteSource,
    private readonly root: Uint8Array,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private async draft(parent: string | null, child: ElementHandle, type: LinkType, evidenceTarget: Uint8Array) {
    const nonce = this.chain.newNonce();
    const report = await child.evidence(evidenceTarget, this.chain.id, nonce);
    const body = parseReport(report).body;
    return { nonce, report, identity: identityOfBody(body) };
  }

  private childElementId(child: ElementHandle): string {
    return enclaveElementId(child.elementKey);
  }

  /** The first enclave: the chain owner challenges it and checks its quote. */
  async appendFirst(child: ElementHandle): Promise<Element> {
    return this.commit(await this.firstLink(child), child);
  }

  /** A local child: same platform as the parent, REPORT MACed for the parent. */
  async appendLocal(parentId: string, child: ElementHandle): Promise<Element> {
    return this.commit(await this.localLink(parentId, child), child);
  }

  /** A remote child: another platform; its quote is checked by the parent inside the parent enclave. */
  async appendRemote(parentId: string, child: ElementHandle): Promise<Element> {
    return this.commit(await this.remoteLink(parentId, child), child);
  }

  /**
   * The first half of appendLocal / appendRemote: the parent enclave admits the child and signs the
   * link, which is not appended yet (`append` does). The parent must be in the chain already.
   */
  async make(type: 'local' | 'remote', parentId: string, child: ElementHandle): Promise<MadeLink> {
    const made = type === 'local' ? await this.localLink(parentId, child) : await this.remoteLink(parentId, child);
    return { ...made, child };
  }

  /** The second half: the chain checks and appends a link `make` returned. */
  append(made: MadeLink): Promise<Element> {
    return this.commit(made, made.child);
  }

  /**
   * Re-attests an element: its parent (or the owner, for the first enclave) challenges it again with a
   * fresh nonce and signs a new link of the same type; the chain checks it and replaces the stale one.
   * The element keeps its key, so its children's links stay valid. Returns the new link.
   */
  async reattest(id: string): Promise<Link> {
    const old = this.chain.link(id);
    if (!old) throw new ChainError('ERR_CHAIN_UNKNOWN_ELEMENT', `no element ${id}`);
    const child = this.handleOf(id);
    const made =
      old.parent === null
        ? await this.firstLink(child)
        : old.type === 'local'
          ? await this.localLink(old.parent, child)
          : await this.remoteLink(old.parent, child);
    await this.chain.reattest(made.link, { at: made.at, ...(made.collateral ? { collateral: made.collateral } : {}) });
    return made.link;
  }

  /**
   * Gives the builder the loaded enclave of an element already in the chain (after `Chain.fromBundle`,
   * or with a chain built by another builder), so it can admit children or be re-attested.
   * The handle must hold the element's key.
   */
  attach(handle: ElementHandle): Element {
    const id = this.childElementId(handle);
    const el = this.chain.element(id);
    if (!el || el.kind !== 'enclave')
      throw new ChainError('ERR_CHAIN_UNKNOWN_ELEMENT', `no enclave element with this handle's key (${id})`);
    this.handles.set(id, handle);
    return el;
  }

  private async firstLink(child: ElementHandle): Promise<Made> {
    const d = await this.draft(null, child, 'remote', this.quotes.qeTargetInfo(child));
    const quote = await this.quotes.quote(child, d.report);
    const collateral = this.quotes.collateral(child);
    const at = this.clock();
    const base = this.linkBase(
      null,
      child,
      'remote',
      d.nonce,
      d.identity,
      { kind: 'dcap-quote', quote: hex(quote), collateral: '' },
      at,
      collateral,
    );
    // The owner's appraisal is the chain's own check of the quote: append() runs it before accepting.
    const probe = await this.chain.appraiseRemote(quote, collateral, at);
    return { link: this.chain.signAsOwner({ ...base, appraisal: probe }), at, collateral };
  }

  private async localLink(parentId: string, child: ElementHandle): Promise<Made> {
    const parent = this.handleOf(parentId);
    const d = await this.draft(parentId, child, 'local', parent.targetInfo());
    const at = this.clock();
    const draft = {
      ...this.linkBase(
        parentId,
        child,
        'local',
        d.nonce,
        d.identity,
        { kind: 'sgx-report' as const, report: hex(d.report) },
        at,
      ),
      appraisal: { verdict: 'accepted' } as LinkAppraisal,
    };
    const signature = await parent
      .admitLocal(draft, d.report, this.chain.header.policy, this.depthOf(parentId) + 1)
      .catch(asRefusal);
    return { link: { ...draft, signature }, at };
  }

  private async remoteLink(parentId: string, child: ElementHandle): Promise<Made> {
    const parent = this.handleOf(parentId);
    const d = await this.draft(parentId, child, 'remote', this.quotes.qeTargetInfo(child));
    const quote = await this.quotes.quote(child, d.report);
    const collateral = this.quotes.collateral(child);
    const at = this.clock();
    const draft = this.linkBase(
      parentId,
      child,
      'remote',
      d.nonce,
      d.identity,
      { kind: 'dcap-quote', quote: hex(quote), collateral: '' },
      at,
      collateral,
    );
    const { appraisal, signature } = await parent
      .admitRemote(
        draft,
        quote,
        collateral,
        at.toISOString(),
        this.root,
        this.chain.header.policy,
        this.depthOf(parentId) + 1,
      )
      .catch(asRefusal);
    return { link: { ...draft, appraisal, signature }, at, collateral };
  }

  private linkBase(
    parent: string | null,
    child: ElementHandle,
    type: LinkType,
    nonce: string,
    identity: Link['childIdentity'],
    evidence: Link['evidence'],
    at: Date,
    collateral?: CollateralBlob,
  ): Omit<Link, 'signature' | 'appraisal'> {
    if (evidence.kind === 'dcap-quote' && collateral)
      evidence = { ...evidence, collateral: Chain.collateralId(collateral) };
    return {
      version: 1,
      chain: this.chain.id,
      parent,
      child: this.childElementId(child),
      type,
      nonce,
      childKey: hex(child.elementKey),
      childIdentity: identity,
      childPlatform: child.platformPpid,
      evidence,
      at: at.toISOString(),
    };
  }

  private async commit({ link, at, collateral }: Made, child: ElementHandle): Promise<Element> {
    const el = await this.chain.append(link, {
      at,
      ...(collateral ? { collateral } : {}),
      ...(child.cloud ? { cloud: child.cloud } : {}),
    });
    this.handles.set(el.id, child);
    // Memoised now, while its parent is known to the chain: a streaming chain forgets retired elements,
    // and the depth of a later child of this one is found from this entry alone.
    if (el.kind === 'enclave')
      this.depths.set(el.id, { parent: el.parent, depth: el.parent === null ? 1 : this.depthOf(el.parent) + 1 });
    return el;
  }

  /** Depth of an enclave element in the chain (the first enclave is 1), from its parent links. */
  private depthOf(id: string): number {
    const el = this.chain.element(id);
    if (!el || el.kind !== 'enclave') throw new ChainError('ERR_CHAIN_UNKNOWN_ELEMENT', `no enclave element ${id}`);
    const known = this.depths.get(id);
    if (known && known.parent === el.parent) return known.depth;
    // Iterative walk up to the first enclave (deep chains must not recurse); memoised per element.
    const path: Element[] = [el];
    let base = 0;
    for (let cur = el.parent; cur !== null;) {
      const p = this.chain.element(cur);
      if (!p || p.kind !== 'enclave' || path.length > this.chain.size)
        throw new ChainError('ERR_CHAIN_UNKNOWN_ELEMENT', `no enclave element ${cur}`);
      const k = this.depths.get(cur);
      if (k && k.parent === p.parent) {
        base = k.depth;
        break;
      }
      path.push(p);
      cur = p.parent;
    }
    for (let i = path.length - 1; i >= 0; i--)
      this.depths.set(path[i].id, { parent: path[i].parent, depth: base + path.length - i });
    return base + path.length;
  }

  /**
   * Takes an element's enclave out of the builder (it will admit no more children through it): the
   * caller destroys it. A streaming build lets go of enclaves so memory follows the live ones.
   */
  detach(id: string): ElementHandle {
    const h = this.handleOf(id);
    this.handles.delete(id);
    // Its children's depths were memoised when they were appended: its own is not needed any more.
    this.depths.delete(id);
    return h;
  }

  /** Destroys every enclave the builder still holds. */
  async destroyAll(): Promise<void> {
    for (const h of this.handles.values()) await h.destroy();
    this.handles.clear();
  }

  handleOf(id: string): ElementHandle {
    const h = this.handles.get(id);
    if (!h)
      throw new ChainError(
        'ERR_CHAIN_UNKNOWN_ELEMENT',
        `element ${id} has no loaded enclave in this builder (attach its handle)`,
      );
    return h;
  }
}

/**
 * A parent enclave's refusal as a ChainError with its check. The isolated runtime carries only an
 * error's code and message across the worker boundary; the message starts with "<check>: ".
 */
function asRefusal(e: unknown): never {
  if (e instanceof ChainError) throw e;
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  if (code === 'ERR_CHAIN_LINK_REFUSED' && typeof message === 'string') {
    const i = message.indexOf(': ');
    throw new ChainError(code, message, i > 0 ? message.slice(0, i) : undefined);
  }
  throw e;
}

/** A signed link ready for the chain, with the time it was appraised and the collateral a quote needs. */
interface Made {
  link: Link;
  at: Date;
  collateral?: CollateralBlob;
}

/** A link its parent signed, not appended yet, and the child's enclave. */
export interface MadeLink extends Made {
  child: ElementHandle;
}
