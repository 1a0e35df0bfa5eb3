import { hex } from '../bytes/util.ts';
import { enclaveElementId } from '../chain/chain.ts';
import type { ChainPolicy, CollateralBlob, Link } from '../chain/types.ts';
import { collateralId } from '../chain/verify-bundle.ts';
import { randomBytes } from '../crypto/random.ts';
import type { QuoteSource } from '../cot/builder.ts';
import { identityOfBody } from '../cot/element-core.ts';
import type { ElementHandle } from '../cot/element.ts';
import { parseReport } from '../formats/report.ts';

/**
 * Makes links in-process from loaded element enclaves, as an agent does (the parent enclave checks
 * the child's evidence and signs): used by `catena bench manager` to pre-build appends.
 */
export class LinkFactory {
  constructor(
    private readonly quotes: QuoteSource,
    private readonly root: Uint8Array,
  ) {}

  /** The first link, unsigned: the manager (chain owner) appraises and signs it. `nonce` from POST /challenge. */
  async first(
    chainId: string,
    child: ElementHandle,
    nonce: string,
    childKey: Uint8Array = child.elementKey,
  ): Promise<{ link: Link; collateral: CollateralBlob }> {
    const report = await child.evidence(this.quotes.qeTargetInfo(child), chainId, nonce);
    const quote = await this.quotes.quote(child, report);
    const collateral = this.quotes.collateral(child);
    return {
      collateral,
      link: {
        version: 1,
        chain: chainId,
        parent: null,
        child: enclaveElementId(childKey),
        type: 'remote',
        nonce,
        childKey: hex(childKey),
        childIdentity: identityOfBody(parseReport(report).body),
        childPlatform: child.platformPpid,
        evidence: { kind: 'dcap-quote', quote: hex(quote), collateral: '' },
        appraisal: { verdict: 'accepted' },
        at: new Date().toISOString(),
        signature: '',
      },
    };
  }

  /** A local link: `parent` checks the child's REPORT MAC inside its enclave and signs. */
  async local(
    chainId: string,
    parentId: string,
    parent: ElementHandle,
    child: ElementHandle,
    policy: ChainPolicy,
    depth: number,
  ): Promise<{ link: Link }> {
    const nonce = hex(randomBytes(32));
    const report = await child.evidence(parent.targetInfo(), chainId, nonce);
    const draft: Omit<Link, 'signature'> = {
      version: 1,
      chain: chainId,
      parent: parentId,
      child: enclaveElementId(child.elementKey),
      type: 'local',
      nonce,
      childKey: hex(child.elementKey),
      childIdentity: identityOfBody(parseReport(report).body),
      childPlatform: child.platformPpid,
      evidence: { kind: 'sgx-report', report: hex(report) },
      appraisal: { verdict: 'accepted' },
      at: new Date().toISOString(),
    };
    return { link: { ...draft, signature: await parent.admitLocal(draft, report, policy, depth) } };
  }

  /**
   * A remote link: `parent` verifies the child's quote inside its enclave and signs. `collateral`
   * overrides the quote source's (an agent that verified with its own copy); `nonce` (hex, 32 bytes)
   * replaces the fresh random one (tests replay a nonce with it).
   */
  async remote(
    chainId: string,
    parentId: string,
    parent: ElementHandle,
    child: ElementHandle,
    policy: ChainPolicy,
    depth: number,
    childKey: Uint8Array = child.elementKey,
    collateralOverride?: CollateralBlob,
    nonce: string = hex(randomBytes(32)),
  ): Promise<{ link: Link; collateral: CollateralBlob }> {
    const report = await child.evidence(this.quotes.qeTargetInfo(child), chainId, nonce);
    const quote = await this.quotes.quote(child, report);
    const collateral = collateralOverride ?? this.quotes.collateral(child);
    const at = new Date().toISOString();
    const draft: Omit<Link, 'signature' | 'appraisal'> = {
      version: 1,
      chain: chainId,
      parent: parentId,
      child: enclaveElementId(childKey),
      type: 'remote',
      nonce,
      childKey: hex(childKey),
      childIdentity: identityOfBody(parseReport(report).body),
      childPlatform: child.platformPpid,
      evidence: { kind: 'dcap-quote', quote: hex(quote), collateral: collateralId(collateral) },
      at,
    };
    const { appraisal, signature } = await parent.admitRemote(draft, quote, collateral, at, this.root, policy, depth);
    return { link: { ...draft, appraisal, signature }, collateral };
  }
}

/**
 * Gives the element enclave a fresh element key (createKey again, inside the enclave) and returns its
 * public half: one loaded enclave then stands for many distinct elements — a benchmark shortcut.
 */
export async function rekey(child: ElementHandle): Promise<Uint8Array> {
  return (await child.enclave.ecall('createKey')) as Uint8Array;
}
