import { EVIDENCE_SCOPE, looksLikeJwt, MIGRATE_SCOPE, type ManagerScope } from './manager-request.ts';
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { fromHex, hex } from '../bytes/util.ts';
import { enclaveElementId } from '../chain/chain.ts';
import { ChainError } from '../chain/errors.ts';
import type { ChainPolicy, CollateralBlob, Link } from '../chain/types.ts';
import { collateralId } from '../chain/verify-bundle.ts';
import { randomBytes } from '../crypto/random.ts';
import { identityOfBody } from '../cot/element-core.ts';
import type { ElementHandle } from '../cot/element.ts';
import type { EmulatedWorld } from '../cot/world.ts';
import { parseReport } from '../formats/report.ts';
import { attestedPeerOf, ratlsHttpsOptions } from '../channel/attested-http.ts';
import { ChannelError } from '../channel/errors.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import type { PeerIdentity } from '../channel/types.ts';
import { AGENT_ENCLAVE_PROD_ID } from './agent-enclave.ts';
import { ServerError } from './errors.ts';
import { createHttpApp, type LogLevel, type Principal, type ServerLimits } from '../http/index.ts';
import { bearerOf } from './manager-auth.ts';
import { callJson } from './http-json.ts';
import type { TokenPrincipal } from './manager-client.ts';

export interface AgentOptions {
  /** The platforms this agent hosts (one cloud), with their QE/PCE. */
  world: EmulatedWorld;
  cloud: string;
  /** Signs the element enclave image (SIGSTRUCT → MRSIGNER). */
  vendorKey: KeyObject;
  /** This agent's id (as registered with the manager). */
  id: string;
  /**
   * The agent's RA-TLS key and certificate, made inside its agent enclave (agent-enclave.ts): the API
   * is served over TLS with them, and they are the client certificate of its calls to other agents.
   */
  tls: { keyPem: string; certPem: string };
  /**
   * How other agents are judged (DCAP validator with the trusted roots and collateral, and the agent
   * identity policy): clients presenting a certificate, and the agents this one calls. Without it,
   * agent-to-agent calls are refused both ways.
   */
  peers?: PeerVerification;
  /** Checks an operator's bearer token (with the manager, managerTokenChecker); null = unknown token. */
  checkToken?: (token: string) => Promise<TokenPrincipal | null>;
  /**
   * Verifies a manager request token (a JWT the manager signs for this agent: re-attestation asks for
   * an element's evidence; src/server/manager-request.ts). Such a caller may call only the evidence route.
   */
  checkManagerRequest?: (token: string) => Promise<ManagerScope | false>;
  clock?: () => Date;
  /** pino level of the JSON logs on stderr; default silent. */
  logLevel?: LogLevel;
  limits?: Partial<ServerLimits>;
}

/** Who is calling: an operator (admin token checked with the manager) or an attested agent. */
export type AgentCaller =
  { kind: 'operator'; id: string } | { kind: 'agent'; peer: PeerIdentity } | { kind: 'manager' };

declare module 'fastify' {
  interface FastifyRequest {
    agentCaller?: AgentCaller;
  }
  interface FastifyContextConfig {
    /** The scopes of manager request tokens this route takes (evidence: re-attestation; migrate: migrations). */
    managerRequest?: readonly ManagerScope[];
  }
}

/** What a child presents: its REPORT (for a local parent) or quote + collateral (for anyone). */
export interface EvidenceResponse {
  element: string;
  elementKey: string;
  platform: string;
  cloud: string;
  agent: string;
  report: string;
  quote?: string;
  collateral?: CollateralBlob;
}

export interface AdmitRequest {
  chain: { id: string; policy: ChainPolicy };
  /** The chain's root certificate (DER hex) the parent verifies remote evidence against. */
  root: string;
  /** Depth of the child (the first enclave is 1). */
  depth: number;
  type: 'local' | 'remote';
  /** The child: an element on this agent (agent omitted) or on the agent at `agent` (base URL). */
  child: { element: string; agent?: string };
}

export interface AdmitResponse {
  link: Link;
  collateral?: CollateralBlob;
  cloud: string;
  agent: string;
}

const ElementBody = Type.Object(
  {
    platform: Type.Integer({ minimum: 0 }),
    isvProdId: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    isvSvn: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  },
  { additionalProperties: false },
);
const TcbUpdateBody = Type.Object(
  {
    components: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 255 }), { minItems: 16, maxItems: 16 })),
    pceSvn: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  },
  { additionalProperties: false },
);
const EvidenceBody = Type.Object(
  {
    chain: Type.String({ minLength: 1 }),
    nonce: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    targetInfo: Type.Optional(Type.String({ pattern: '^([0-9a-f]{2})+$', maxLength: 2048 })),
  },
  { additionalProperties: false },
);
const AdmitBody = Type.Object(
  {
    chain: Type.Object({ id: Type.String(), policy: Type.Record(Type.String(), Type.Unknown()) }),
    root: Type.String({ pattern: '^([0-9a-f]{2})+$' }),
    depth: Type.Integer({ minimum: 1 }),
    type: Type.Union([Type.Literal('local'), Type.Literal('remote')]),
    child: Type.Object({ element: Type.String(), agent: Type.Optional(Type.String()) }),
  },
  { additionalProperties: false },
);

/**
 * The per-cloud agent: hosts emulated platforms (each with QE/PCE), loads element enclaves, makes
 * them present evidence, and as a parent admits a child — inside the parent enclave, which checks
 * the child's REPORT (local) or DCAP quote (remote) and signs the link. For a remote child the
 * agent fetches the child's quote from the child's agent itself (agent to agent over mutual RA-TLS: the child's agent's certificate is verified before the request is sent, and this
 * agent presents its own). Served over HTTPS with the agent enclave's RA-TLS certificate; every /v1
 * call needs an operator's admin bearer token (checked with the manager) or, for the evidence and
 * admit routes, an attested agent's client certificate (docs/api.md, "Agent API"). Listen on
 * loopback only.
 */
export function buildAgent(opts: AgentOptions): FastifyInstance {
  if (!opts.tls?.keyPem || !opts.tls.certPem)
    throw new ServerError('ERR_INTERNAL', 'an agent serves its API over RA-TLS only: tls credentials are required');
  const app = createHttpApp({
    service: 'agent',
    https: ratlsHttpsOptions(opts.tls),
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    mapError: (err) =>
      err instanceof ChainError ? new ServerError('ERR_LINK_REFUSED', err.message, err.check) : undefined,
    auth: { authenticate: (req) => authenticate(req) },
  });
  const clock = opts.clock ?? (() => new Date());
  const elements = new Map<string, { handle: ElementHandle; platform: number }>();
  const image = new Map<string, ReturnType<EmulatedWorld['elementImage']>>();

  // ---- who may call: routes declare admin (operators) or agent (attested agents, and operators) ----
  async function authenticate(req: FastifyRequest): Promise<Principal | null> {
    const token = bearerOf(req);
    if (token !== undefined && looksLikeJwt(token) && opts.checkManagerRequest) {
      const scope = await opts.checkManagerRequest(token);
      if (!scope)
        throw new ServerError(
          'ERR_UNAUTHENTICATED',
          'the manager request token does not verify (signature, audience, scope, expiry or replay)',
        );
      if (!req.routeOptions.config.managerRequest?.includes(scope))
        throw new ServerError('ERR_FORBIDDEN', `a manager request token with scope ${scope} does not allow this route`);
      req.agentCaller = { kind: 'manager' };
      // The route's scope list above is what limits such a token; the role only passes the route's auth level.
      return { id: 'manager', role: scope === MIGRATE_SCOPE ? 'admin' : 'agent' };
    }
    if (token !== undefined) {
      if (!opts.checkToken)
        throw new ServerError('ERR_UNAUTHENTICATED', 'this agent checks no bearer tokens (no manager to ask)');
      let p: TokenPrincipal | null;
      try {
        p = await opts.checkToken(token);
      } catch (e) {
        throw new ServerError(
          'ERR_UNAVAILABLE',
          `the token could not be checked with the manager: ${(e as Error).message}`,
        );
      }
      if (!p) throw new ServerError('ERR_UNAUTHENTICATED', 'unknown, expired or revoked token');
      if (p.role !== 'admin')
        throw new ServerError('ERR_FORBIDDEN', `the agent API needs the admin role; the token is ${p.role}`);
      req.agentCaller = { kind: 'operator', id: p.id };
      return { id: p.id, role: 'admin' };
    }
    let peer: PeerIdentity | null = null;
    if (opts.peers) {
      try {
        peer = await attestedPeerOf(req.raw.socket, opts.peers);
      } catch (e) {
        if (e instanceof ChannelError)
          throw new ServerError('ERR_PEER_REFUSED', `client certificate refused: ${e.code}: ${e.message}`, e.check);
        throw e;
      }
    }
    if (!peer)
      throw new ServerError(
        'ERR_UNAUTHENTICATED',
        'an admin bearer token or an attested agent client certificate (RA-TLS) is required',
      );
    req.agentCaller = { kind: 'agent', peer };
    return { id: `ratls:${peer.certificateSha256?.slice(0, 16) ?? 'agent'}`, role: 'agent' };
  }

  const platforms = () => opts.world.platforms.map((p, index) => ({ index, ppid: p.ppid }));
  const get = (id: string) => {
    const e = elements.get(id);
    if (!e) throw new ServerError('ERR_NOT_FOUND', `no element ${id} on this agent`);
    return e;
  };

  app.get('/healthz', { config: { auth: 'public' } }, async () => ({ ok: true, agent: opts.id, cloud: opts.cloud }));
  app.get('/v1/status', { config: { auth: 'admin', managerRequest: [MIGRATE_SCOPE] } }, async () => ({
    agent: opts.id,
    cloud: opts.cloud,
    platforms: platforms(),
    elements: elements.size,
  }));

  app.post(
    '/v1/elements',
    { config: { auth: 'admin', managerRequest: [MIGRATE_SCOPE] }, schema: { body: ElementBody } },
    async (req, reply) => {
      const b = req.body as { platform: number; isvProdId?: number; isvSvn?: number };
      if (b.platform >= opts.world.platforms.length)
        throw new ServerError(
          'ERR_NOT_FOUND',
          `no platform ${b.platform} (this agent hosts ${opts.world.platforms.length})`,
        );
      if (b.isvProdId === AGENT_ENCLAVE_PROD_ID)
        throw new ServerError(
          'ERR_MALFORMED',
          `ISVPRODID ${AGENT_ENCLAVE_PROD_ID} is the agent enclave's: an element cannot take it`,
        );
      const k = `${b.isvProdId ?? 1}/${b.isvSvn ?? 1}`;
      let img = image.get(k);
      if (!img) image.set(k, (img = opts.world.elementImage(opts.vendorKey, b.isvProdId ?? 1, b.isvSvn ?? 1)));
      const handle = await opts.world.loadElement(b.platform, img);
      const id = enclaveElementId(handle.elementKey);
      elements.set(id, { handle, platform: b.platform });
      return reply.code(201).send({
        element: id,
        elementKey: hex(handle.elementKey),
        platform: handle.platformPpid,
        cloud: opts.cloud,
        agent: opts.id,
        mrEnclave: hex(img.mrEnclave),
        mrSigner: hex(img.mrSigner),
      });
    },
  );

  app.get('/v1/elements', { config: { auth: 'admin' } }, async () => ({
    elements: [...elements.entries()].map(([id, e]) => ({
      element: id,
      platform: e.handle.platformPpid,
      platformIndex: e.platform,
    })),
  }));

  async function evidence(
    id: string,
    chain: string,
    nonce: string,
    targetInfo?: Uint8Array,
  ): Promise<EvidenceResponse> {
    const { handle } = get(id);
    const base = {
      element: id,
      elementKey: hex(handle.elementKey),
      platform: handle.platformPpid,
      cloud: opts.cloud,
      agent: opts.id,
    };
    if (targetInfo) return { ...base, report: hex(await handle.evidence(targetInfo, chain, nonce)) };
    const report = await handle.evidence(opts.world.qeTargetInfo(handle), chain, nonce);
    const quote = await opts.world.quote(handle, report);
    return { ...base, report: hex(report), quote: hex(quote), collateral: opts.world.collateral(handle) };
  }

  app.post(
    '/v1/elements/:id/evidence',
    { config: { auth: 'agent', managerRequest: [EVIDENCE_SCOPE, MIGRATE_SCOPE] }, schema: { body: EvidenceBody } },
    async (req) => {
      const b = req.body as { chain: string; nonce: string; targetInfo?: string };
      return evidence(
        (req.params as { id: string }).id,
        b.chain,
        b.nonce,
        b.targetInfo ? fromHex(b.targetInfo) : undefined,
      );
    },
  );

  /** A remote child's evidence from the agent hosting it: agent to agent over RA-TLS, both sides attested. */
  async function peerEvidence(
    agentUrl: string,
    element: string,
    chain: string,
    nonce: string,
  ): Promise<EvidenceResponse> {
    if (!agentUrl.startsWith('https://'))
      throw new ServerError(
        'ERR_MALFORMED',
        'child.agent must be an https URL: agents talk to each other over RA-TLS only',
      );
    if (!opts.peers)
      throw new ServerError(
        'ERR_AGENT',
        'this agent was started without peer verification (trusted root and collateral): it calls no other agent',
      );
    return callJson<EvidenceResponse>(
      new URL(`/v1/elements/${encodeURIComponent(element)}/evidence`, agentUrl).toString(),
      {
        body: { chain, nonce },
        ratls: { verify: opts.peers, credentials: opts.tls },
      },
    );
  }

  app.post(
    '/v1/elements/:id/admit',
    { config: { auth: 'agent', managerRequest: [MIGRATE_SCOPE] }, schema: { body: AdmitBody } },
    async (req): Promise<AdmitResponse> => {
      const parentId = (req.params as { id: string }).id;
      const b = req.body as AdmitRequest;
      const parent = get(parentId).handle;
      // The parent's fresh challenge: the child's REPORTDATA must bind it with the child's key.
      const nonce = hex(randomBytes(32));
      const at = clock();
      if (b.type === 'local') {
        if (b.child.agent !== undefined)
          throw new ServerError('ERR_MALFORMED', 'a local child runs on this agent (leave child.agent out)');
        const ev = await evidence(b.child.element, b.chain.id, nonce, parent.targetInfo());
        const report = fromHex(ev.report);
        const draft: Omit<Link, 'signature'> = {
          version: 1,
          chain: b.chain.id,
          parent: parentId,
          child: ev.element,
          type: 'local',
          nonce,
          childKey: ev.elementKey,
          childIdentity: identityOfBody(parseReport(report).body),
          childPlatform: ev.platform,
          evidence: { kind: 'sgx-report', report: ev.report },
          at: at.toISOString(),
          appraisal: { verdict: 'accepted' },
        };
        const signature = await parent.admitLocal(draft, report, b.chain.policy, b.depth);
        return { link: { ...draft, signature }, cloud: ev.cloud, agent: ev.agent };
      }
      const ev = b.child.agent
        ? await peerEvidence(b.child.agent, b.child.element, b.chain.id, nonce)
        : await evidence(b.child.element, b.chain.id, nonce);
      if (!ev.quote || !ev.collateral) throw new ServerError('ERR_AGENT', 'the child agent sent no quote');
      const quote = fromHex(ev.quote);
      const draft: Omit<Link, 'signature' | 'appraisal'> = {
        version: 1,
        chain: b.chain.id,
        parent: parentId,
        child: ev.element,
        type: 'remote',
        nonce,
        childKey: ev.elementKey,
        childIdentity: identityOfBody(parseReport(fromHex(ev.report)).body),
        childPlatform: ev.platform,
        evidence: { kind: 'dcap-quote', quote: ev.quote, collateral: collateralId(ev.collateral) },
        at: at.toISOString(),
      };
      const { appraisal, signature } = await parent.admitRemote(
        draft,
        quote,
        ev.collateral,
        at.toISOString(),
        fromHex(b.root),
        b.chain.policy,
        b.depth,
      );
      return { link: { ...draft, appraisal, signature }, collateral: ev.collateral, cloud: ev.cloud, agent: ev.agent };
    },
  );

  // A platform takes a TCB update (microcode/PCE): new SVNs, a new PCK certificate (EmulatedWorld.updatePlatformTcb).
  app.post(
    '/v1/platforms/:id/tcb-update',
    { config: { auth: 'admin' }, schema: { body: Type.Optional(TcbUpdateBody) } },
    async (req) => {
      const id = (req.params as { id: string }).id.toLowerCase();
      const index = /^\d{1,6}$/.test(id) ? Number(id) : opts.world.platforms.findIndex((p) => p.ppid === id);
      if (!opts.world.platforms[index]) throw new ServerError('ERR_NOT_FOUND', `no platform ${id} on this agent`);
      const b = (req.body ?? {}) as { components?: number[]; pceSvn?: number };
      if ((b.components === undefined) !== (b.pceSvn === undefined))
        throw new ServerError(
          'ERR_MALFORMED',
          "give both components and pceSvn, or neither (then: the manufacturer's newest top TCB level)",
        );
      try {
        const r = await opts.world.updatePlatformTcb(
          index,
          b.components ? { components: b.components, pceSvn: b.pceSvn! } : undefined,
        );
        return { platform: r.ppid, index, tcbComponents: r.tcbComponents, pceSvn: r.pceSvn, pck: hex(r.pck) };
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_ARGUMENT')
          throw new ServerError('ERR_MALFORMED', (e as Error).message);
        throw e;
      }
    },
  );

  app.addHook('onClose', async () => {
    for (const e of elements.values()) await e.handle.destroy().catch(() => {});
    elements.clear();
  });
  return app;
}
