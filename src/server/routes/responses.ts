import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Response schemas of the manager API: /openapi.json describes every answer with them, and tests check
 * every response against its schema (ManagerOptions.checkResponse). Opaque documents of src/chain
 * (links, elements, proof bundles) are described by their top-level fields and left open.
 */
const Open = (props: Record<string, TSchema>, description?: string) =>
  Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });
const Time = Type.String({ description: 'RFC 3339 time' });
const Json = Type.Unknown();

export const ChainView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.Integer(),
  createdAt: Time,
  rootSha256: Type.String(),
  emulatedRoot: Type.Boolean(),
  ownerKey: Type.String(),
  policy: Json,
});
export const ChainList = Type.Object({ chains: Type.Array(ChainView), next: Type.Union([Type.String(), Type.Null()]) });
export const ChainDetail = Type.Composite([
  ChainView,
  Type.Object({ elements: Type.Integer(), statuses: Type.Record(Type.String(), Type.Integer()) }),
]);
export const PolicyView = Type.Object({ chain: Type.String(), version: Type.Integer(), policy: Json });
export const Verification = Open({
  valid: Type.Boolean(),
  size: Type.Integer(),
  links: Type.Object({ local: Type.Integer(), remote: Type.Integer() }),
  failures: Type.Array(Open({ link: Type.String(), check: Type.String(), message: Type.String() })),
  elements: Type.Record(Type.String(), Open({ valid: Type.Boolean() })),
  emulatedRoot: Type.Boolean(),
});
export const PolicyUpdated = Type.Object({ chain: Type.String(), policy: Json, verification: Verification });
export const Challenge = Type.Object({ nonce: Type.String(), expiresAt: Time });
const Element = Open(
  { id: Type.String(), kind: Type.String(), parent: Type.Union([Type.String(), Type.Null()]), platform: Type.String() },
  'a chain element (docs/chain.md)',
);
const Link = Open(
  {
    version: Type.Literal(1),
    chain: Type.String(),
    child: Type.String(),
    type: Type.String(),
    signature: Type.String(),
  },
  'a link (docs/chain.md)',
);
export const Appended = Type.Object({ element: Element, seq: Type.Integer(), status: Type.String(), link: Link });
export const ElementView = Open(
  { id: Type.String(), status: Type.String(), element: Element },
  'an element row: seq, parent, link, agent, revocation, evidence hashes and times for enclaves',
);
export const ElementList = Type.Object({ elements: Type.Array(ElementView) });
const Revocation = Open({ element: Type.String(), reason: Type.String(), at: Time, signature: Type.String() });
export const Revoked = Type.Object({ revocation: Revocation });
export const Reattested = Open({
  chain: Type.String(),
  element: Type.String(),
  status: Type.String(),
  verdict: Type.String(),
  at: Time,
  nonce: Type.String(),
  ear: Type.String(),
});
export const Verified = Open({
  chain: Type.String(),
  at: Time,
  valid: Type.Boolean(),
  size: Type.Integer(),
  statuses: Type.Record(Type.String(), Type.String()),
  states: Type.Record(
    Type.String(),
    Open({ state: Type.String({ description: 'valid, at-risk, degraded, revoked, stale or quarantined' }) }),
  ),
  ear: Type.String({ description: 'EAR (JWT, ES256)' }),
  kinds: Type.Optional(
    Type.Record(Type.String(), Type.Integer(), {
      description:
        'chains with TDs or workloads: members by kind (sgx-enclave, tdx-td, td-workload); each element then has kind and checks',
    }),
  ),
});
export const Proof = Open({
  format: Type.Literal('catena-proof-bundle'),
  version: Type.Literal(1),
  chain: Json,
  elements: Type.Array(Json),
  links: Type.Array(Json),
  revocations: Type.Array(Json),
  collateral: Json,
});
export const Whoami = Type.Object({ id: Type.String(), role: Type.String(), agentId: Type.Optional(Type.String()) });
export const AgentView = Type.Object({
  id: Type.String(),
  cloud: Type.String(),
  url: Type.String(),
  status: Type.String(),
  info: Json,
  lastSeen: Time,
  registeredAt: Time,
});
export const AgentList = Type.Object({ agents: Type.Array(AgentView) });
export const PlatformView = Type.Object({
  ppid: Type.String(),
  agent: Type.String(),
  cloud: Type.String(),
  index: Type.Integer(),
  status: Type.String(),
  lastSeen: Time,
  chains: Type.Array(
    Type.Object({
      chain: Type.String(),
      fmspc: Type.Optional(Type.String()),
      tcbStatus: Type.Optional(Type.String()),
      advisoryIds: Type.Array(Type.String()),
    }),
  ),
});
export const PlatformList = Type.Object({ platforms: Type.Array(PlatformView) });
export const AuditPage = Type.Object({
  records: Type.Array(
    Open({
      seq: Type.Integer(),
      at: Time,
      actor: Type.String(),
      action: Type.String(),
      subject: Type.String(),
      hash: Type.String(),
    }),
  ),
  next: Type.Union([Type.Integer(), Type.Null()]),
});
export const Checkpoints = Type.Object({
  keyId: Type.String(),
  key: Json,
  checkpoints: Type.Array(
    Open({ seq: Type.Integer(), hash: Type.String(), signature: Type.String(), keyId: Type.String(), at: Time }),
  ),
});
export const TokenView = Type.Object({
  id: Type.String(),
  role: Type.String(),
  createdAt: Time,
  expiresAt: Type.Union([Time, Type.Null()]),
  revokedAt: Type.Union([Time, Type.Null()]),
  agentId: Type.Union([Type.String(), Type.Null()]),
});
export const TokenList = Type.Object({ tokens: Type.Array(TokenView) });
export const TokenCreated = Type.Composite([
  TokenView,
  Type.Object({ token: Type.String({ description: 'the secret, shown once' }) }),
]);
export const Health = Type.Object({ ok: Type.Boolean() });
export const Ready = Type.Object({ ready: Type.Boolean() });
export const Jwks = Type.Object({ keys: Type.Array(Json) });
export const Metrics = Type.String({ description: 'Prometheus text exposition' });
export const EventStream = Type.String({
  description: 'text/event-stream: one event per chain, element or agent change',
});
export const EventAck = Type.Object({
  event: Type.Integer({ description: 'the acknowledged event id' }),
  type: Type.String({ description: 'its type' }),
  by: Type.String({ description: 'the token id that acknowledged it' }),
  note: Type.Union([Type.String(), Type.Null()]),
  at: Time,
  created: Type.Boolean({ description: 'false: it was acknowledged already (this is that acknowledgement)' }),
});
export const EventAckPage = Type.Object({
  acks: Type.Array(Type.Omit(EventAck, ['created'])),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'the `before` of the next page; null: no more' }),
});
export const NoContent = Type.Null({ description: 'no content' });
export const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  chain: Type.Union([Type.String(), Type.Null()]),
  events: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Time,
});
export const WebhookList = Type.Object({ webhooks: Type.Array(WebhookView) });
export const DeadLetter = Type.Object({
  id: Type.String({ description: 'the delivery job id' }),
  webhook: Type.String(),
  event: Open({ type: Type.String(), at: Time }, 'the event that was not delivered'),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  at: Time,
});
export const DeadLetterList = Type.Object({
  deadLetters: Type.Array(DeadLetter),
  next: Type.Union([Type.String(), Type.Null()]),
});
export const DeliveryRequeued = Type.Object({
  id: Type.String(),
  webhook: Type.String(),
  state: Type.String(),
  nextAt: Time,
});
