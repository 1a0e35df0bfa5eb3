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
  | 'token.bind';

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
  updateElement(chainId: string, id: string, patch: ElementPatch, audit: AuditActor): Promise<ElementRow>;
  /** Only leaves: ERR_STORE_NOT_LEAF otherwise. */
  removeElement(chainId: string, id: string, audit: AuditActor): Promise<void>;

  /** Insert or update. Audited when the agent is new or its cloud/url/status/info changed; a
   * heartbeat that only moves lastSeen is not a state change and writes no audit record. */
  putAgent(a: NewAgent, audit: AuditActor): Promise<void>;
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

  /** Ordered by seq, starting after afterSeq (default 0). */
  listAudit(page: { afterSeq?: number; limit: number }): Promise<AuditRecord[]>;
  /** The last record's seq and hash: what a checkpoint signs. */
  getAuditHead(): Promise<AuditHead>;
  /** ERR_STORE_CHECKPOINT unless hash is the hash of the audit record at seq. */
  addCheckpoint(cp: NewCheckpoint): Promise<void>;
  /** Ordered by seq. */
  listCheckpoints(): Promise<Checkpoint[]>;
}
