import { hex } from '../bytes/util.ts';
import { Chain, enclaveElementId } from '../chain/chain.ts';
import { ChainError } from '../chain/errors.ts';
import { tdIdentityOf, workloadDigest } from '../chain/layers.ts';
import type { CollateralBlob, Element, ElementIdentity, Link, LinkAppraisal, LinkType } from '../chain/types.ts';
import { parseQuote } from '../formats/quote.ts';
import { parseReport } from '../formats/report.ts';
import type { QuoteSource } from './builder.ts';
import { identityOfBody } from './element-core.ts';
import type { ElementHandle } from './element.ts';
import type { Admitter, TdElement, WorkloadElement } from './td-element.ts';

type Member = ElementHandle | TdElement | WorkloadElement;
const isTd = (m: Member): m is TdElement => 'td' in m && 'host' in m;
const isEnclave = (m: Member): m is ElementHandle => 'enclave' in m;

/**
 * Grows a chain across layers (issue 16): SGX enclaves, TDX trust domains and their workloads, with
 * local (SGX REPORT), remote (a DCAP quote, SGX or TDX) and measured (event-log inclusion) links. The
 * parent always challenges with a fresh nonce and signs after its own checks (element-core.ts); the
 * chain then checks the signed link as any verifier would (Chain.append). SGX-only chains keep using
 * CotBuilder; this builder is for chains with TDs.
 */
export class LayerBuilder {
  private readonly members = new Map<string, { member: Member; depth: number }>();
  /**
   * Called with every link the chain accepted, in order, with the collateral it references and the
   * element's cloud (e.g. to send it on to a manager: `demo --layers`).
   */
  onCommit?: (link: Link, collateral: CollateralBlob | undefined, cloud: string | undefined) => Promise<void>;
  constructor(
    readonly chain: Chain,
    private readonly sgxQuotes: QuoteSource,
    private readonly root: Uint8Array,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The first element, admitted by the chain owner from its quote (an SGX enclave or a TD). */
  async first(child: ElementHandle | TdElement, opts: { nonce?: string } = {}): Promise<Element> {
    const e = await this.remoteEvidence(child, opts.nonce);
    const at = this.clock();
    const draft = this.draft(null, child, 'remote', e.nonce, e.identity, e.evidence, at);
    const appraisal = await this.chain.appraiseRemote(e.quote, e.collateral, at);
    return this.commit(this.chain.signAsOwner({ ...draft, appraisal }), child, at, 1, e.collateral);
  }

  /** A child on another platform (or layer): its quote is checked by the parent, which signs the link. */
  async remote(parentId: string, child: ElementHandle | TdElement): Promise<Element> {
    const p = this.get(parentId);
    const e = await this.remoteEvidence(child);
    const at = this.clock();
    const draft = this.draft(parentId, child, 'remote', e.nonce, e.identity, e.evidence, at);
    const { appraisal, signature } = await (p.member as Admitter)
      .admitRemote(draft, e.quote, e.collateral, at.toISOString(), this.root, this.chain.header.policy, p.depth + 1)
      .catch(asRefusal);
    return this.commit({ ...draft, appraisal, signature }, child, at, p.depth + 1, e.collateral);
  }

  /** An SGX enclave on its SGX parent's platform: REPORT MACed for the parent. */
  async local(parentId: string, child: ElementHandle): Promise<Element> {
    const p = this.get(parentId);
    if (!isEnclave(p.member))
      throw new ChainError(
        'ERR_CHAIN_LINK_REFUSED',
        'link-type: a local link has an SGX enclave as parent',
        'link-type',
      );
    const nonce = this.chain.newNonce();
    const report = await child.evidence(p.member.targetInfo(), this.chain.id, nonce);
    const at = this.clock();
    const draft = {
      ...this.draft(
        parentId,
        child,
        'local',
        nonce,
        identityOfBody(parseReport(report).body),
        { kind: 'sgx-report', report: hex(report) },
        at,
      ),
      appraisal: { verdict: 'accepted' } as LinkAppraisal,
    };
    const signature = await p.member.admitLocal(draft, report, this.chain.header.policy, p.depth + 1).catch(asRefusal);
    return this.commit({ ...draft, signature }, child, at, p.depth + 1);
  }

  /** A workload its TD measured into RTMR3: the TD signs the measured link (event-log inclusion). */
  async measured(tdId: string, workload: WorkloadElement): Promise<Element> {
    const p = this.get(tdId);
    if (!isTd(p.member))
      throw new ChainError('ERR_CHAIN_LINK_REFUSED', "link-type: a measured link's parent is a TD", 'link-type');
    const at = this.clock();
    const draft = {
      ...this.draft(
        tdId,
        workload,
        'measured',
        this.chain.newNonce(),
        { kind: 'td-workload', imageDigest: workload.imageDigest, event: workload.event },
        { kind: 'td-event', event: workload.event, digest: workloadDigest(workload.imageDigest) },
        at,
      ),
      appraisal: { verdict: 'accepted' } as LinkAppraisal,
    };
    let signature: string;
    try {
      signature = p.member.admitMeasured(draft, this.chain.header.policy, p.depth + 1);
    } catch (e) {
      asRefusal(e);
    }
    return this.commit({ ...draft, signature }, workload, at, p.depth + 1);
  }

  /** The loaded member of an element of the chain. */
  memberOf(id: string): Member {
    return this.get(id).member;
  }

  private get(id: string): { member: Member; depth: number } {
    const m = this.members.get(id);
    if (!m) throw new ChainError('ERR_CHAIN_UNKNOWN_ELEMENT', `element ${id} is not held by this builder`);
    return m;
  }

  private async remoteEvidence(
    child: ElementHandle | TdElement,
    given?: string,
  ): Promise<{
    nonce: string;
    quote: Uint8Array;
    collateral: CollateralBlob;
    identity: ElementIdentity;
    evidence: Link['evidence'];
  }> {
    const nonce = given ?? this.chain.newNonce();
    if (isTd(child)) {
      const { quote, eventLog } = await child.evidence(this.chain.id, nonce);
      const body = parseQuote(quote).body;
      if (body.kind !== 'td10')
        throw new ChainError('ERR_CHAIN_LINK_REFUSED', 'evidence-kind: not a TD quote', 'evidence-kind');
      const collateral = await child.host.collateral();
      return {
        nonce,
        quote,
        collateral,
        identity: tdIdentityOf(body.report),
        evidence: {
          kind: 'dcap-quote',
          quote: hex(quote),
          collateral: Chain.collateralId(collateral),
          eventLog: hex(eventLog),
        },
      };
    }
    const report = await child.evidence(this.sgxQuotes.qeTargetInfo(child), this.chain.id, nonce);
    const quote = await this.sgxQuotes.quote(child, report);
    const collateral = this.sgxQuotes.collateral(child);
    return {
      nonce,
      quote,
      collateral,
      identity: identityOfBody(parseReport(report).body),
      evidence: { kind: 'dcap-quote', quote: hex(quote), collateral: Chain.collateralId(collateral) },
    };
  }

  private draft(
    parent: string | null,
    child: Member,
    type: LinkType,
    nonce: string,
    identity: ElementIdentity,
    evidence: Link['evidence'],
    at: Date,
  ): Omit<Link, 'signature' | 'appraisal'> {
    return {
      version: 1,
      chain: this.chain.id,
      parent,
      child: enclaveElementId(child.elementKey),
      type,
      nonce,
      childKey: hex(child.elementKey),
      childIdentity: identity,
      childPlatform: child.platformPpid,
      evidence,
      at: at.toISOString(),
    };
  }

  private async commit(
    link: Link,
    child: Member,
    at: Date,
    depth: number,
    collateral?: CollateralBlob,
  ): Promise<Element> {
    const el = await this.chain.append(link, {
      at,
      ...(collateral ? { collateral } : {}),
      ...(child.cloud ? { cloud: child.cloud } : {}),
    });
    this.members.set(el.id, { member: child, depth });
    await this.onCommit?.(link, collateral, child.cloud);
    return el;
  }

  /** Destroys the SGX enclaves the builder holds (TDs and workloads end with their host). */
  async destroyAll(): Promise<void> {
    for (const { member } of this.members.values()) if (isEnclave(member)) await member.destroy();
    this.members.clear();
  }
}

/** A parent's refusal as a ChainError with its check (the message starts with "<check>: "). */
function asRefusal(e: unknown): never {
  if (e instanceof ChainError) throw e;
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  if (code === 'ERR_CHAIN_LINK_REFUSED' && typeof message === 'string') {
    const i = message.indexOf(': ');
    throw new ChainError(code, message, i > 0 ? message.slice(0, i) : undefined);
  }
  throw e;
}
