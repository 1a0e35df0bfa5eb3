import { hex } from '../bytes/util.ts';
import { Chain } from '../chain/chain.ts';
import { enclaveElementId } from '../chain/chain.ts';
import type { CollateralBlob, Element, Link, LinkAppraisal, LinkType } from '../chain/types.ts';
import type { ElementHandle } from './element.ts';
import { identityOfBody } from './element-core.ts';
import { parseReport } from '../formats/report.ts';

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
  private readonly depth = new Map<string, number>();
  private readonly handles = new Map<string, ElementHandle>();
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
    const d = await this.draft(null, child, 'remote', this.quotes.qeTargetInfo(child));
    const quote = await this.quotes.quote(child, d.report);
    const collateral = this.quotes.collateral(child);
    const at = this.clock();
    const base = this.linkBase(null, child, 'remote', d.nonce, d.identity, { kind: 'dcap-quote', quote: hex(quote), collateral: '' }, at, collateral);
    // The owner's appraisal is the chain's own check of the quote: append() runs it before accepting.
    const probe = await this.chain.appraiseRemote(quote, collateral, at);
    const link = this.chain.signAsOwner({ ...base, appraisal: probe });
    return this.commit(link, child, at, collateral);
  }

  /** A local child: same platform as the parent, REPORT MACed for the parent. */
  async appendLocal(parentId: string, child: ElementHandle): Promise<Element> {
    const parent = this.handleOf(parentId);
    const d = await this.draft(parentId, child, 'local', parent.targetInfo());
    const at = this.clock();
    const draft = { ...this.linkBase(parentId, child, 'local', d.nonce, d.identity, { kind: 'sgx-report' as const, report: hex(d.report) }, at), appraisal: { verdict: 'accepted' } as LinkAppraisal };
    const signature = await parent.admitLocal(draft, d.report, this.chain.header.policy, this.depthOf(parentId) + 1);
    return this.commit({ ...draft, signature }, child, at);
  }

  /** A remote child: another platform; its quote is checked by the parent inside the parent enclave. */
  async appendRemote(parentId: string, child: ElementHandle): Promise<Element> {
    const parent = this.handleOf(parentId);
    const d = await this.draft(parentId, child, 'remote', this.quotes.qeTargetInfo(child));
    const quote = await this.quotes.quote(child, d.report);
    const collateral = this.quotes.collateral(child);
    const at = this.clock();
    const draft = this.linkBase(parentId, child, 'remote', d.nonce, d.identity, { kind: 'dcap-quote', quote: hex(quote), collateral: '' }, at, collateral);
    const { appraisal, signature } = await parent.admitRemote(draft, quote, collateral, at.toISOString(), this.root, this.chain.header.policy, this.depthOf(parentId) + 1);
    return this.commit({ ...draft, appraisal, signature }, child, at, collateral);
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
    if (evidence.kind === 'dcap-quote' && collateral) evidence = { ...evidence, collateral: Chain.collateralId(collateral) };
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

  private async commit(link: Link, child: ElementHandle, at: Date, collateral?: CollateralBlob): Promise<Element> {
    const el = await this.chain.append(link, { at, ...(collateral ? { collateral } : {}), ...(child.cloud ? { cloud: child.cloud } : {}) });
    this.handles.set(el.id, child);
    this.depth.set(el.id, link.parent === null ? 1 : this.depthOf(link.parent) + 1);
    return el;
  }

  private depthOf(id: string): number {
    const d = this.depth.get(id);
    if (d === undefined) throw new Error(`element ${id} was not appended by this builder`);
    return d;
  }

  handleOf(id: string): ElementHandle {
    const h = this.handles.get(id);
    if (!h) throw new Error(`element ${id} has no loaded enclave in this builder`);
    return h;
  }
}
