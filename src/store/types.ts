/**
 * The store's public shapes. Chain content (policy, anchor, element records, agent info) is opaque
 * JSON to the store: it keeps it verbatim and indexes only ids, parents, kinds, statuses and
 * sequence numbers, so the chain model can evolve without a migration.
 *
 * Times of rows are Dates; audit records and checkpoints carry ISO 8601 strings because that
 * string is exactly what is hashed and signed (and they travel as JSON to `catena audit verify`).
 */

/** Who did a write and when; recorded in the audit record the write produces. */
export interface AuditActor {
  actor: string;
  at: Date;
}

export interface ChainRow {
  id: string;
  name: string;
  policy: unknown;
  anchor: unknown;
  createdAt: Date;
  /** 1 on creation; +1 on every change to the chain or any of its elements. */
  version: number;
  /** Present (true) once deleteChain ran; the row and its elements are kept for the audit trail. */
  deleted?: true;
  deletedAt?: Date;
}

export interface NewChain {
  id: string;
  name: string;
  policy: unknown;
  anchor: unknown;
  createdAt: Date;
}

export interface ElementRow {
  chainId: string;
  id: string;
  /** Position in the chain, assigned at append: 1, 2, 3… never reused, even after a removal. */
  seq: number;
  parentId: string | null;
  kind: string;
  status: string;
  record: unknown;
  /** Lowercase hex SHA-256 of each piece of evidence behind the element. */
  evidenceHashes: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface NewElement {
  id: string;
  parentId: string | null;
  kind: string;
  status: string;
  record: unknown;
  evidenceHashes: string[];
  /**
   * The challenge nonce of the link that admits the element (hex, ≤ 128 characters), unique per chain:
   * an append with a nonce another element of the chain holds is ERR_STORE_NONCE_USED (migration 6).
   * Absent or null: none (platform elements).
   */
  nonce?: string | null;
  /**
   * PostgreSQL: published with NOTIFY on `channel` in the append's own transaction (delivered iff it
   * commits), payload `before` ‖ the element's seq ‖ `after` — the append's event for the other
   * replicas (replica-events.ts). Ignored by SQLite.
   */
  announce?: { channel: string; before: string; after: string };
}

export interface ElementPatch {
  status?: string;
  record?: unknown;
  /** Extra evidence hashes to record in the audit record (e.g. the evidence of a re-attestation). */
  evidenceHashes?: string[];
}

export interface AgentRow {
  id: string;
  cloud: string;
  url: string;
  status: string;
  info: unknown;
  lastSeen: Date;
  registeredAt: Date;
}

export interface NewAgent {
  id: string;
  cloud: string;
  url: string;
  status: string;
  info: unknown;
  lastSeen: Date;
}

/** reader: read-only calls; agent: agent registration and appends; admin: everything. */
export type TokenRole = 'admin' | 'agent' | 'reader';
export const TOKEN_ROLES: readonly TokenRole[] = ['admin', 'agent', 'reader'];

export interface TokenRow {
  id: string;
  /** Lowercase hex SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  role: TokenRole;
  createdAt: Date;
  revokedAt?: Date;
  /** Absent: never expires (admin tokens created with --ttl never, and tokens made before expiry existed). */
  expiresAt?: Date;
  /** An agent token speaks for this agent id only (bound at creation or at its first registration). */
  agentId?: string;
}

export interface NewToken {
  id: string;
  hash: string;
  role: TokenRole;
  createdAt: Date;
  expiresAt?: Date;
  agentId?: string;
}

/** Audit actions written by the store (the `action` field). */
export type AuditAction =
  | 'chain.create'
  | 'chain.policy'
  | 'chain.delete'
  | 'element.append'
  | 'element.update'
  | 'element.remove'
  | 'agent.register'
  | 'agent.update'
  | 'token.create'
  | 'token.revoke'
  | 'token.bind'
  | 'job.enqueue'
  | 'job.step'
  | 'job.done'
  | 'job.dead'
  | 'webhook.create'
  | 'webhook.delete'
  | 'event.ack';

/** The audit actions a job write may record (updateJob's `step.action`). */
export type JobAuditAction = 'job.enqueue' | 'job.step' | 'job.done' | 'job.dead';
export const JOB_AUDIT_ACTIONS: readonly JobAuditAction[] = ['job.enqueue', 'job.step', 'job.done', 'job.dead'];

/**
 * A durable job: pending → running (claimed under a lease) → done, or back to pending (a failed
 * attempt, retried at nextAt), or dead (attempts exhausted, or a permanent failure). A running job
 * whose lease expired (its runner died) is claimed again.
 */
export type JobState = 'pending' | 'running' | 'done' | 'dead';
export const JOB_STATES: readonly JobState[] = ['pending', 'running', 'done', 'dead'];

export interface JobRow {
  id: string;
  kind: string;
  /** Idempotency key, unique over all jobs: enqueueing the same key again returns this job. */
  key: string;
  chainId: string | null;
  state: JobState;
  /** Failed attempts so far. */
  attempts: number;
  maxAttempts: number;
  /** When a pending job is due. */
  nextAt: Date;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  payload: unknown;
  /** What the handler recorded so far ({} for a new job): a resumed handler skips the steps it names. */
  progress: unknown;
  /** The handler's result once done (null before). */
  result: unknown;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewJob {
  id: string;
  kind: string;
  key: string;
  chainId?: string | null;
  payload: unknown;
  maxAttempts: number;
  nextAt: Date;
}

export interface JobPatch {
  state?: JobState;
  attempts?: number;
  nextAt?: Date;
  progress?: unknown;
  result?: unknown;
  lastError?: string | null;
  leaseUntil?: Date | null;
  leaseOwner?: string | null;
  /**
   * Only if the job's lease is still held by this owner (else ERR_STORE_CONFLICT, nothing written):
   * a runner whose lease expired and was taken over must not overwrite the new runner's work.
   */
  ifLeaseOwner?: string;
}

export interface JobQuery {
  state?: JobState;
  kind?: string;
  chainId?: string;
  limit: number;
  /** The last id of the previous page (jobs are ordered by id). */
  after?: string;
}

/** A webhook subscription: events of one chain (or all: null), of some types (or all: null). */
export interface WebhookRow {
  id: string;
  url: string;
  chainId: string | null;
  events: string[] | null;
  createdAt: Date;
}

export interface NewWebhook {
  id: string;
  url: string;
  chainId: string | null;
  events: string[] | null;
  createdAt: Date;
}

/** An operator's acknowledgement of one manager event (the event's SSE id), with the event as sent. */
export interface EventAckRow {
  eventId: number;
  /** The event's type (e.g. `collateral.stale`). */
  type: string;
  /** The event's data as it was sent on /v1/events. */
  event: unknown;
  /** Who acknowledged it (the token id), and when. */
  actor: string;
  note: string | null;
  at: Date;
}

export interface NewEventAck {
  eventId: number;
  type: string;
  event: unknown;
  note: string | null;
}

/**
 * One record of the append-only audit log.
 * hash = lowercase hex SHA-256 of the RFC 8785 canonical JSON of
 * {seq, at, actor, action, subject, evidenceHashes, detail, prevHash}; prevHash of seq 1 is 64 zeros.
 */
export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  /** An AuditAction when this store wrote the record; a log read back may hold any string. */
  action: AuditAction | (string & {});
  subject: string;
  evidenceHashes: string[];
  detail: unknown;
  prevHash: string;
  hash: string;
}

/** A signed statement "the audit log up to seq has head hash": see checkpointSigningBytes. */
export interface Checkpoint {
  seq: number;
  hash: string;
  /** Opaque to the store (e.g. base64url ECDSA signature over checkpointSigningBytes). */
  signature: string;
  keyId: string;
  at: string;
}

export interface NewCheckpoint {
  seq: number;
  hash: string;
  signature: string;
  keyId: string;
  at: Date | string;
}

export interface AuditHead {
  /** 0 when the log is empty. */
  seq: number;
  /** 64 zeros when the log is empty. */
  hash: string;
}

export interface Store {
  /** Applies the missing migrations (idempotent; safe when several replicas start together). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  createChain(c: NewChain, audit: AuditActor): Promise<ChainRow>;
  /** Deleted chains are returned too, with `deleted: true`. */
  getChain(id: string): Promise<ChainRow | undefined>;
  /** Live chains ordered by id; `after` is the last id of the previous page. */
  listChains(page: { after?: string; limit: number; includeDeleted?: boolean }): Promise<ChainRow[]>;
  /** ERR_STORE_CONFLICT when the chain's version is not expectedVersion. */
  updatePolicy(id: string, policy: unknown, expectedVersion: number, audit: AuditActor): Promise<ChainRow>;
  /** Soft delete: the chain stops accepting writes and leaves listChains; its id is never reused. */
  deleteChain(id: string, audit: AuditActor): Promise<void>;

  /**
   * Atomically: checks the chain is live and at expectedVersion (unless 'any'), that the element id
   * is new and its parent (if any) is in the chain, assigns the next seq, bumps the chain version
   * and writes the audit record — one transaction, serialised per chain.
   */
  appendElement(
    chainId: string,
    e: NewElement,
    expectedVersion: number | 'any',
    audit: AuditActor,
  ): Promise<{ element: ElementRow; chain: ChainRow }>;
  getElement(chainId: string, id: string): Promise<ElementRow | undefined>;
  /** Ordered by seq. ERR_STORE_NOT_FOUND when the chain never existed. */
  listElements(chainId: string): Promise<ElementRow[]>;
  /**
   * The chain's version and its elements with seq > afterSeq, ordered by seq, read in ONE statement
   * (one snapshot: the rows are exactly those the version counts). A replica catching up with
   * another replica's appends (chain-service.ts). ERR_STORE_NOT_FOUND when the chain does not exist.
   */
  elementsAfter(
    chainId: string,
    afterSeq: number,
  ): Promise<{ version: number; deleted: boolean; elements: ElementRow[] }>;
  updateElement(chainId: string, id: string, patch: ElementPatch, audit: AuditActor): Promise<ElementRow>;
  /** Only leaves: ERR_STORE_NOT_LEAF otherwise. */
  removeElement(chainId: string, id: string, audit: AuditActor): Promise<void>;

  /** Insert or update. Audited when the agent is new or its cloud/url/status/info changed; a
   * heartbeat that only moves lastSeen is not a state change and writes no audit record. */
  putAgent(a: NewAgent, audit: AuditActor): Promise<void>;
  /**
   * Heartbeats: moves lastSeen of these agents (the ones that exist) to `lastSeen` in one write
   * transaction; nothing else changes, so nothing is audited (as putAgent's heartbeat). Resolves to
   * the number of agents updated.
   */
  touchAgents(ids: string[], lastSeen: Date): Promise<number>;
  getAgent(id: string): Promise<AgentRow | undefined>;
  listAgents(): Promise<AgentRow[]>;

  createToken(t: NewToken, audit: AuditActor): Promise<void>;
  /** Active tokens only: a revoked token is not found. */
  findTokenByHash(hash: string): Promise<TokenRow | undefined>;
  /** All tokens, revoked included (hashes, never secrets). */
  listTokens(): Promise<TokenRow[]>;
  revokeToken(id: string, audit: AuditActor): Promise<void>;
  /** Binds an unbound agent token to an agent id; ERR_STORE_CONFLICT if it is bound to another one. */
  bindTokenAgent(id: string, agentId: string, audit: AuditActor): Promise<void>;

  /**
   * Idempotent on `key`: when a job with that key exists it is returned with created = false and
   * nothing is written; else the job is inserted (state pending, attempts 0, progress {}) and audited
   * as job.enqueue, in one transaction.
   */
  enqueueJob(j: NewJob, audit: AuditActor): Promise<{ job: JobRow; created: boolean }>;
  /**
   * Atomically takes up to `limit` due jobs — pending with nextAt <= now, or running with an expired
   * lease (leaseUntil < now: their runner died) — and marks them running, owned by `owner`, leased
   * until now + leaseMs. A job is never handed to two claimers (PostgreSQL: FOR UPDATE SKIP LOCKED;
   * SQLite: one writer at a time). Ordered by nextAt. Not audited (a claim changes no outcome).
   * `kinds`: only jobs of these kinds (a runner claims what it has handlers for).
   */
  claimJobs(o: { now: Date; limit: number; owner: string; leaseMs: number; kinds?: string[] }): Promise<JobRow[]>;
  /**
   * Changes a job; with `step`, also writes one audit record (action step.action, one of
   * JOB_AUDIT_ACTIONS, subject job:<id>, detail {job, kind, …step.detail}) in the same transaction
   * (then `audit` is required). ERR_STORE_NOT_FOUND for an unknown id.
   */
  updateJob(
    id: string,
    patch: JobPatch,
    audit: AuditActor | null,
    step?: { action: string; detail: unknown },
  ): Promise<JobRow>;
  getJob(id: string): Promise<JobRow | undefined>;
  /** Ordered by id. */
  listJobs(q: JobQuery): Promise<JobRow[]>;
  /** How many jobs are in each state (every state present, 0 when none). */
  countJobs(): Promise<Record<JobState, number>>;

  /** Audited as webhook.create. ERR_STORE_DUPLICATE when the id exists. */
  createWebhook(w: NewWebhook, audit: AuditActor): Promise<WebhookRow>;
  /** Ordered by id. */
  listWebhooks(): Promise<WebhookRow[]>;
  getWebhook(id: string): Promise<WebhookRow | undefined>;
  /** Audited as webhook.delete. ERR_STORE_NOT_FOUND for an unknown id. */
  deleteWebhook(id: string, audit: AuditActor): Promise<void>;

  /**
   * Idempotent on eventId: when the event is acknowledged already, that acknowledgement is returned
   * with created = false and nothing is written; else it is inserted (actor and time from `audit`)
   * and audited as event.ack (subject event:<id>), in one transaction.
   */
  ackEvent(a: NewEventAck, audit: AuditActor): Promise<{ ack: EventAckRow; created: boolean }>;
  getEventAck(eventId: number): Promise<EventAckRow | undefined>;
  /** Newest first: those with an event id below `beforeId` (default: all), at most `limit`. */
  listEventAcks(page: { beforeId?: number; limit: number }): Promise<EventAckRow[]>;
  /** The highest acknowledged event id, 0 when none: a manager numbers its events above it. */
  lastAckedEventId(): Promise<number>;

  /** Ordered by seq, starting after afterSeq (default 0). */
  listAudit(page: { afterSeq?: number; limit: number }): Promise<AuditRecord[]>;
  /** The last record's seq and hash: what a checkpoint signs. */
  getAuditHead(): Promise<AuditHead>;
  /** ERR_STORE_CHECKPOINT unless hash is the hash of the audit record at seq. */
  addCheckpoint(cp: NewCheckpoint): Promise<void>;
  /** Ordered by seq. */
  listCheckpoints(): Promise<Checkpoint[]>;
}
