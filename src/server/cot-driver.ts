import type { ChainPolicy, Element, Link } from '../chain/types.ts';
import { identityOfBody } from '../cot/element-core.ts';
import { fromHex } from '../bytes/util.ts';
import { parseReport } from '../formats/report.ts';
import type { AdmitResponse, EvidenceResponse } from './agent.ts';
import { callJson, type RatlsCall } from './http-json.ts';

/** An enclave somewhere: the agent hosting it (base URL) and its element id. */
export interface Placed {
  agent: string;
  element: string;
}

export interface AppendResult {
  element: Element;
  seq: number;
  link: Link;
}

/** How the driver calls agents: their RA-TLS certificates verified (`ratls`), the operator's admin token as bearer. */
export interface AgentAccess {
  ratls: RatlsCall;
  token: string;
}

/**
 * Grows a chain held by a manager over enclaves hosted by agents: the manager challenges the first
 * enclave and signs its link as chain owner; for every other element the parent's agent challenges
 * the child (fetching a remote child's quote from the child's agent), the parent enclave signs the
 * link, and the manager re-checks it before storing it. Agents are called over RA-TLS (each agent's
 * certificate verified before a request is sent) with the operator's admin token.
 */
export class CotDriver {
  private readonly depth = new Map<string, number>();
  constructor(
    readonly managerUrl: string,
    private readonly token: string,
    readonly chain: { id: string; policy: ChainPolicy },
    private readonly rootHex: string,
    private readonly agents: AgentAccess,
  ) {}

  static async createChain(
    managerUrl: string,
    token: string,
    req: { name: string; root: string; emulatedRoot: boolean; policy: ChainPolicy },
    agents: AgentAccess,
  ): Promise<CotDriver> {
    const c = await callJson<{ id: string; policy: ChainPolicy }>(`${managerUrl}/v1/chains`, { body: req, token });
    return new CotDriver(managerUrl, token, { id: c.id, policy: c.policy }, req.root, agents);
  }

  private callAgent<T>(url: string, body: unknown): Promise<T> {
    return callJson<T>(url, { body, token: this.agents.token, ratls: this.agents.ratls });
  }

  /** Loads an element enclave on platform `platform` of the agent at `agent`. */
  async load(agent: string, platform: number): Promise<Placed & { platformPpid: string; cloud: string }> {
    const r = await this.callAgent<{ element: string; platform: string; cloud: string }>(`${agent}/v1/elements`, {
      platform,
    });
    return { agent, element: r.element, platformPpid: r.platform, cloud: r.cloud };
  }

  private async post(body: {
    link: Link;
    collateral?: Record<string, string>;
    cloud?: string;
    agent?: string;
  }): Promise<AppendResult> {
    return callJson<AppendResult>(`${this.managerUrl}/v1/chains/${this.chain.id}/elements`, {
      body,
      token: this.token,
    });
  }

  async appendFirst(child: Placed): Promise<AppendResult> {
    const { nonce } = await callJson<{ nonce: string }>(`${this.managerUrl}/v1/chains/${this.chain.id}/challenge`, {
      method: 'POST',
      body: {},
      token: this.token,
    });
    const ev = await this.callAgent<EvidenceResponse>(`${child.agent}/v1/elements/${child.element}/evidence`, {
      chain: this.chain.id,
      nonce,
    });
    if (!ev.quote || !ev.collateral) throw new Error('the agent returned no quote');
    const link: Link = {
      version: 1,
      chain: this.chain.id,
      parent: null,
      child: ev.element,
      type: 'remote',
      nonce,
      childKey: ev.elementKey,
      childIdentity: identityOfBody(parseReport(fromHex(ev.report)).body),
      childPlatform: ev.platform,
      evidence: { kind: 'dcap-quote', quote: ev.quote, collateral: '' },
      appraisal: { verdict: 'accepted' },
      at: new Date().toISOString(),
      signature: '',
    };
    const r = await this.post({ link, collateral: ev.collateral, cloud: ev.cloud, agent: ev.agent });
    this.depth.set(r.element.id, 1);
    return r;
  }

  /** `child` admitted by `parent`: local (same agent and platform) or remote. */
  async append(parent: Placed, child: Placed, type: 'local' | 'remote'): Promise<AppendResult> {
    const d = this.depth.get(parent.element);
    if (d === undefined) throw new Error(`parent ${parent.element} was not appended by this driver`);
    const admitted = await this.callAgent<AdmitResponse>(`${parent.agent}/v1/elements/${parent.element}/admit`, {
      chain: this.chain,
      root: this.rootHex,
      depth: d + 1,
      type,
      child: type === 'local' ? { element: child.element } : { element: child.element, agent: child.agent },
    });
    const r = await this.post({
      link: admitted.link,
      ...(admitted.collateral ? { collateral: admitted.collateral } : {}),
      cloud: admitted.cloud,
      agent: admitted.agent,
    });
    this.depth.set(r.element.id, d + 1);
    return r;
  }
}
