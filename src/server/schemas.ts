import { Type, type Static } from '@sinclair/typebox';
import { REACTION_ACTIONS, REACTION_EVENTS } from '../chain/policy-shape.ts';

/** TypeBox schemas of the manager API (they feed request validation and GET /openapi.json). */
// Whole bytes only: an odd-length hex string is refused here (400), never handed to fromHex.
const Hex = (description?: string) =>
  Type.String({ pattern: '^(?:[0-9a-f]{2})*$', ...(description ? { description } : {}) });
export const IdentityPolicySchema = Type.Object(
  {
    mrEnclave: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-fA-F]{64}$' }))),
    mrSigner: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    isvProdId: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    minIsvSvn: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    allowDebug: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const policyFields = {
  identities: Type.Optional(Type.Array(IdentityPolicySchema)),
  acceptedTcbStatuses: Type.Optional(Type.Array(Type.String())),
  acceptedAdvisories: Type.Optional(Type.Array(Type.String())),
  allowDebug: Type.Optional(Type.Boolean()),
  evidenceMaxAgeSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  linkTypes: Type.Optional(
    Type.Array(Type.Union([Type.Literal('local'), Type.Literal('remote'), Type.Literal('measured')])),
  ),
  maxDepth: Type.Optional(Type.Integer({ minimum: 1 })),
  // The TD and workload sections (docs/chain.md): checked field by field by parseChainPolicy, which
  // names a field of another element kind (ERR_MALFORMED, check policy-kind).
  tdx: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'checks of tdx-td elements' })),
  workloads: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: 'checks of td-workload elements' }),
  ),
};
export const PolicySchema = Type.Object(
  {
    ...policyFields, // Depth keys are positive integers (no leading zero); any other key is refused, not ignored.
    byDepth: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[1-9][0-9]{0,5}$' }),
        Type.Object(policyFields, { additionalProperties: false }),
        { additionalProperties: false },
      ),
    ),
    reactions: Type.Optional(
      Type.Object(
        Object.fromEntries(
          REACTION_EVENTS.map((e) => [
            e,
            Type.Optional(
              Type.Array(Type.Union(REACTION_ACTIONS.map((a) => Type.Literal(a))), { minItems: 1, maxItems: 10 }),
            ),
          ]),
        ),
        { additionalProperties: false, description: 'Self-management reactions (docs/self-management.md)' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Chain policy (docs/chain.md)' },
);

export const CreateChainSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    root: Hex('root certificate (DER, hex) the chain is anchored at'),
    emulatedRoot: Type.Boolean({ description: "true: the root is Catena's emulated manufacturer (never implied)" }),
    policy: Type.Optional(PolicySchema),
  },
  { additionalProperties: false },
);
export type CreateChainBody = Static<typeof CreateChainSchema>;

const IdentitySchema = Type.Object(
  {
    mrEnclave: Hex(),
    mrSigner: Hex(),
    isvProdId: Type.Integer(),
    isvSvn: Type.Integer(),
    attributes: Hex(),
    debug: Type.Boolean(),
  },
  { additionalProperties: false },
);

const TdIdentitySchema = Type.Object(
  {
    kind: Type.Literal('tdx-td'),
    mrTd: Hex(),
    rtmr: Type.Array(Hex(), { minItems: 4, maxItems: 4 }),
    tdAttributes: Hex(),
    xfam: Hex(),
    mrConfigId: Hex(),
    mrOwner: Hex(),
    mrOwnerConfig: Hex(),
    mrSeam: Hex(),
    debug: Type.Boolean(),
  },
  { additionalProperties: false },
);
const WorkloadIdentitySchema = Type.Object(
  {
    kind: Type.Literal('td-workload'),
    imageDigest: Type.String({ minLength: 1, maxLength: 1024 }),
    event: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const LinkSchema = Type.Object(
  {
    version: Type.Literal(1),
    chain: Type.String(),
    parent: Type.Union([Type.String(), Type.Null()]),
    child: Type.String(),
    type: Type.Union([Type.Literal('local'), Type.Literal('remote'), Type.Literal('measured')]),
    nonce: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    childKey: Type.String({ pattern: '^[0-9a-f]{128}$' }),
    childIdentity: Type.Union([IdentitySchema, TdIdentitySchema, WorkloadIdentitySchema]),
    childPlatform: Hex(),
    evidence: Type.Union([
      Type.Object({ kind: Type.Literal('sgx-report'), report: Hex() }, { additionalProperties: false }),
      Type.Object(
        { kind: Type.Literal('dcap-quote'), quote: Hex(), collateral: Type.String(), eventLog: Type.Optional(Hex()) },
        { additionalProperties: false },
      ),
      Type.Object(
        { kind: Type.Literal('td-event'), event: Type.Integer({ minimum: 0 }), digest: Hex() },
        { additionalProperties: false },
      ),
    ]),
    appraisal: Type.Optional(
      Type.Object(
        {
          verdict: Type.Literal('accepted'),
          tcbStatus: Type.Optional(Type.String()),
          advisoryIds: Type.Optional(Type.Array(Type.String())),
        },
        { additionalProperties: false },
      ),
    ),
    at: Type.String(),
    signature: Type.String({
      description: 'parent signature (hex r‖s); empty for a first link, which the manager signs as owner',
    }),
  },
  { additionalProperties: false },
);

export const AppendSchema = Type.Object(
  {
    link: LinkSchema,
    collateral: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'dcap-qvl collateral JSON of a remote link (optional when the manager has a PCS and the link references what it serves)',
      }),
    ),
    cloud: Type.Optional(Type.String({ maxLength: 200 })),
    agent: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const RevokeSchema = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);

export const RegisterAgentSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    cloud: Type.String({ minLength: 1, maxLength: 200 }),
    url: Type.String({
      pattern: '^https://',
      maxLength: 2048,
      description: "the agent's https base URL; its host must be in the manager's --agent-hosts",
    }),
    platforms: Type.Array(
      Type.Object({ index: Type.Integer({ minimum: 0 }), ppid: Hex() }, { additionalProperties: false }),
      { maxItems: 1024 },
    ),
  },
  { additionalProperties: false },
);

export const EventIdParams = Type.Object({
  id: Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'an event id of /v1/events' }),
});
export const AckEventSchema = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });
export const ElementParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 256 }),
  element: Type.String({ minLength: 1, maxLength: 256 }),
});
// Query values arrive as strings (no type coercion anywhere: a null in a body must stay null).
const Limit = Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'page size, 1..1000 (default 100)' });
export const PageQuery = Type.Object({ after: Type.Optional(Type.String()), limit: Type.Optional(Limit) });
export const AuditQuery = Type.Object({
  afterSeq: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$' })),
  limit: Type.Optional(Limit),
});
export const EventAcksQuery = Type.Object({
  before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'only event ids below this' })),
  limit: Type.Optional(Limit),
});

export const VerifyQuery = Type.Object({
  at: Type.Optional(Type.String({ description: 'ISO 8601 time; default now' })),
});

export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  check: Type.Optional(Type.String()),
});

export const CreateTokenSchema = Type.Object(
  {
    role: Type.Union([Type.Literal('admin'), Type.Literal('agent'), Type.Literal('reader')]),
    ttl: Type.Optional(
      Type.String({
        pattern: '^([1-9][0-9]{0,5}[smhd]|never)$',
        description: 'lifetime: 30d, 12h, 90m, 3600s, or never (admin only); default 90d',
      }),
    ),
    agentId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'agent tokens: the one agent id it may register' }),
    ),
  },
  { additionalProperties: false },
);

export const CreateWebhookSchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'http: or https: URL the deliveries are POSTed to',
    }),
    chain: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'only events of this chain' })),
    events: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        minItems: 1,
        maxItems: 50,
        description: 'only these event types (e.g. element.revoked); default all',
      }),
    ),
  },
  { additionalProperties: false },
);
