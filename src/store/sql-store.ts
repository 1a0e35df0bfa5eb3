import { StoreError } from './errors.ts';
import { auditRecordHash, canonicalTextSha256, documentSha256 } from './audit-hash.ts';
import { canonicalDocument, canonicalJson, toJsonText } from './canonical.ts';
import { migrate } from './migrations.ts';
import { PgAppendBatcher } from './pg-append-batch.ts';
import type { Driver, Executor, SqlRow, SqlValue } from './driver.ts';
import {
  checkJobId,
  checkNewJob,
  checkNewWebhook,
  checkState,
  checkWebhookId,
  jobRow,
  patchColumns,
  stepDetail,
  webhookRow,
} from './job-rows.ts';
import { checkEventId, checkNewEventAck, eventAckRow } from './event-ack-rows.ts';
import type {
  AgentRow,
  AuditAction,
  AuditActor,
  AuditHead,
  AuditRecord,
  ChainRow,
  Checkpoint,
  ElementPatch,
  ElementRow,
  EventAckRow,
  JobAuditAction,
  JobPatch,
  JobQuery,
  JobRow,
  JobState,
  NewAgent,
  NewEventAck,
  NewJob,
  NewWebhook,
  NewChain,
  NewCheckpoint,
  NewElement,
  NewToken,
  Store,
  TokenRow,
  WebhookRow,
} from './types.ts';
import { JOB_AUDIT_ACTIONS, JOB_STATES, TOKEN_ROLES } from './types.ts';

const HASH = /^[0-9a-f]{64}$/;
const NONCE = /^[0-9a-f]{1,128}$/;
const MAX_ID = 256;
const MAX_PAGE = 10_000;

/** What a write asks to be recorded; seq, prevHash and hash are filled in under the head lock. */
interface AuditEntry {
  action: AuditAction;
  subject: string;
  evidenceHashes: string[];
  detail: unknown;
}
type AuditFn = (entry: AuditEntry) => Promise<AuditRecord>;

/**
 * The Store over either driver. Concurrency: every write transaction first locks the single
 * audit_head row (SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the
 * database write lock), then the chain row it changes. The audit log is one hash chain, so its head
 * must be taken by one writer at a time anyway; taking it first gives every transaction the same
 * lock order (no deadlocks), and every check a write makes (version, parent, duplicate id) is
 * therefore made against the latest committed state. Two managers on one PostgreSQL thus append in
 * some serial order: nothing is lost, no seq is assigned twice, the audit chain never forks.
 */
export class SqlStore implements Store {
  readonly driver: Driver;
  /** PostgreSQL: appends grouped into one call of catena_append_batch (pg-append-batch.ts). */
  readonly #batcher: PgAppendBatcher | undefined;

  constructor(driver: Driver) {
    this.driver = driver;
    const prepared = driver.prepared?.bind(driver);
    this.#batcher = prepared ? new PgAppendBatcher(prepared, () => this.#analyzeUnlessAutovacuum()) : undefined;
  }

  /**
   * PostgreSQL plans a statement it runs often once per connection (node-postgres' named statements,
   * plpgsql's) from the table statistics of that moment, and keeps the plan until the table is
   * analyzed. Without statistics (a new schema; autovacuum off, or not yet come by) every index
   * starting with chain_id looks as good as the primary key, and a plan made while the table was
   * small could find an element by scanning its whole chain for the rest of the connection's life
   * (measured: the duplicate, parent and nonce checks and the catch-up read reading ≈ 900–1,600 rows
   * per probe on average over a 3,000-append run). So when this process's appends reach 64, 256,
   * 1,024, … (PgAppendBatcher), the hot tables autovacuum has never analyzed are analyzed here: every
   * connection then re-plans against statistics at most 4 times older than the table.
   */
  async #analyzeUnlessAutovacuum(): Promise<void> {
    const hot = ['elements', 'audit', 'chains'];
    const rows = await this.driver.all(
      `SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname IN ('elements', 'audit', 'chains') AND last_autoanalyze IS NULL`,
    );
    const tables = rows.map((r) => String(r.relname)).filter((t) => hot.includes(t));
    if (tables.length > 0) await this.driver.run(`ANALYZE ${tables.join(', ')}`);
  }

  /** Appends committed and the commits that carried them (PostgreSQL batches; undefined on SQLite). */
  appendBatchStats(): { transactions: number; commits: number } | undefined {
    return this.#batcher?.stats();
  }

  async migrate(): Promise<void> {
    await migrate(this.driver);
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  // ---- write plumbing ----

  /** One write transaction: takes the audit head lock, runs fn, which records what it did via audit(). */
  #audited<T>(who: AuditActor, fn: (tx: Executor, audit: AuditFn) => Promise<T>): Promise<T> {
    const at = checkActor(who);
    return this.driver.transaction(async (tx) => {
      const head = (await tx.all(`SELECT seq, hash FROM audit_head WHERE id = 1{{FOR_UPDATE}}`))[0];
      if (!head) throw new StoreError('ERR_STORE_BACKEND', 'audit_head row missing (database not migrated?)');
      let seq = Number(head.seq);
      let prevHash = String(head.hash);
      const audit: AuditFn = async (entry) => {
        const body = { seq: seq + 1, at, actor: who.actor, ...entry, prevHash };
        const record: AuditRecord = { ...body, hash: auditRecordHash(body) };
        await tx.run(
          `INSERT INTO audit (seq, at, actor, action, subject, evidence_hashes, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            record.seq,
            record.at,
            record.actor,
            record.action,
            record.subject,
            JSON.stringify(record.evidenceHashes),
            canonicalJson(record.detail),
            record.prevHash,
            record.hash,
          ],
        );
        await tx.run(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, [record.seq, record.hash]);
        seq = record.seq;
        prevHash = record.hash;
        return record;
      };
      return fn(tx, audit);
    });
  }

  async #lockChain(tx: Executor, id: string): Promise<SqlRow> {
    const row = (await tx.all(`SELECT * FROM chains WHERE id = ?{{FOR_UPDATE}}`, [id]))[0];
    if (!row || row.deleted_at != null) throw new StoreError('ERR_STORE_NOT_FOUND', `no chain ${id}`);
    return row;
  }

  // ---- chains ----

  async createChain(c: NewChain, who: AuditActor): Promise<ChainRow> {
    checkId(c?.id, 'chain id');
    if (typeof c.name !== 'string') throw new StoreError('ERR_STORE_INVALID', 'chain name must be a string');
    const createdAt = checkDate(c.createdAt, 'createdAt');
    const policy = toJsonText(c.policy, 'policy');
    const anchor = toJsonText(c.anchor, 'anchor');
    return this.#audited(who, async (tx, audit) => {
      const n = await tx.run(
        `INSERT INTO chains (id, name, policy, anchor, created_at, version, next_seq, deleted_at) VALUES (?, ?, ?, ?, ?, 1, 1, NULL) ON CONFLICT DO NOTHING`,
        [c.id, c.name, policy, anchor, createdAt],
      );
      if (n === 0)
        throw new StoreError(
          'ERR_STORE_DUPLICATE',
          `chain ${c.id} already exists (ids of deleted chains are not reused)`,
        );
      await audit({
        action: 'chain.create',
        subject: `chain:${c.id}`,
        evidenceHashes: [],
        detail: {
          chain: c.id,
          name: c.name,
          policy: JSON.parse(policy) as unknown,
          anchor: documentSha256(JSON.parse(anchor)),
          version: 1,
        },
      });
      return chainRow((await tx.all(`SELECT * FROM chains WHERE id = ?`, [c.id]))[0]);
    });
  }

  async getChain(id: string): Promise<ChainRow | undefined> {
    checkId(id, 'chain id');
    const row = (await this.driver.all(`SELECT * FROM chains WHERE id = ?`, [id]))[0];
    return row ? chainRow(row) : undefined;
  }

  async listChains(page: { after?: string; limit: number; includeDeleted?: boolean }): Promise<ChainRow[]> {
    const limit = checkLimit(page?.limit);
    if (page.after !== undefined && typeof page.after !== 'string')
      throw new StoreError('ERR_STORE_INVALID', 'after must be a chain id');
    const rows = await this.driver.all(
      `SELECT * FROM chains WHERE id > ?${page.includeDeleted ? '' : ' AND deleted_at IS NULL'} ORDER BY id LIMIT ?`,
      [page.after ?? '', limit],
    );
    return rows.map(chainRow);
  }

  async updatePolicy(id: string, policy: unknown, expectedVersion: number, who: AuditActor): Promise<ChainRow> {
    checkId(id, 'chain id');
    checkVersion(expectedVersion);
    const text = toJsonText(policy, 'policy');
    return this.#audited(who, async (tx, audit) => {
      const row = await this.#lockChain(tx, id);
      const version = Number(row.version);
      if (version !== expectedVersion)
        throw new StoreError('ERR_STORE_CONFLICT', `chain ${id} is at version ${version}, not ${expectedVersion}`);
      await tx.run(`UPDATE chains SET policy = ?, version = ? WHERE id = ?`, [text, version + 1, id]);
      await audit({
        action: 'chain.policy',
        subject: `chain:${id}`,
        evidenceHashes: [],
        detail: { chain: id, policy: JSON.parse(text) as unknown, version: version + 1 },
      });
      return chainRow((await tx.all(`SELECT * FROM chains WHERE id = ?`, [id]))[0]);
    });
  }

  async deleteChain(id: string, who: AuditActor): Promise<void> {
    checkId(id, 'chain id');
    await this.#audited(who, async (tx, audit) => {
      const row = await this.#lockChain(tx, id);
      const version = Number(row.version) + 1;
      await tx.run(`UPDATE chains SET deleted_at = ?, version = ? WHERE id = ?`, [who.at.toISOString(), version, id]);
      await audit({
        action: 'chain.delete',
        subject: `chain:${id}`,
        evidenceHashes: [],
        detail: { chain: id, version },
      });
    });
  }

  // ---- elements ----

  async appendElement(
    chainId: string,
    e: NewElement,
    expectedVersion: number | 'any',
    who: AuditActor,
  ): Promise<{ element: ElementRow; chain: ChainRow }> {
    checkId(chainId, 'chain id');
    checkId(e?.id, 'element id');
    if (e.parentId !== null) checkId(e.parentId, 'parent id');
    checkText(e.kind, 'kind');
    checkText(e.status, 'status');
    checkHashes(e.evidenceHashes);
    const nonce = e.nonce ?? null;
    if (nonce !== null && (typeof nonce !== 'string' || !NONCE.test(nonce)))
      throw new StoreError('ERR_STORE_INVALID', 'nonce must be lowercase hex, 1 to 128 digits');
    if (expectedVersion !== 'any') checkVersion(expectedVersion);
    // One serialisation gives both the stored text and the record hash the audit record carries.
    const { text: record, sha256: recordHash } = canonicalDocument(e.record, 'record', canonicalTextSha256);
    const now = checkActor(who);
    if (this.#batcher) {
      const r = await this.#batcher.append({
        chainId,
        id: e.id,
        parentId: e.parentId,
        kind: e.kind,
        status: e.status,
        record,
        recordHash,
        evidenceHashes: [...e.evidenceHashes],
        at: now,
        actor: who.actor,
        expectedVersion: expectedVersion === 'any' ? null : expectedVersion,
        nonce,
        ...(e.announce ? { announce: e.announce } : {}),
      });
      const element = elementRow({
        chain_id: chainId,
        id: e.id,
        seq: r.seq,
        parent_id: e.parentId,
        kind: e.kind,
        status: e.status,
        record,
        evidence_hashes: JSON.stringify(e.evidenceHashes),
        created_at: now,
        updated_at: now,
      });
      const chain = chainRow({
        id: chainId,
        name: r.chain.name,
        policy: r.chain.policy,
        anchor: r.chain.anchor,
        created_at: r.chain.createdAt,
        version: r.version,
        deleted_at: null,
      });
      return { element, chain };
    }
    return this.#audited(who, async (tx, audit) => {
      const row = await this.#lockChain(tx, chainId);
      const version = Number(row.version);
      if (expectedVersion !== 'any' && version !== expectedVersion) {
        throw new StoreError('ERR_STORE_CONFLICT', `chain ${chainId} is at version ${version}, not ${expectedVersion}`);
      }
      if ((await tx.all(`SELECT 1 AS x FROM elements WHERE chain_id = ? AND id = ?`, [chainId, e.id])).length > 0) {
        throw new StoreError('ERR_STORE_DUPLICATE', `element ${e.id} is already in chain ${chainId}`);
      }
      if (
        e.parentId !== null &&
        (await tx.all(`SELECT 1 AS x FROM elements WHERE chain_id = ? AND id = ?`, [chainId, e.parentId])).length === 0
      ) {
        throw new StoreError('ERR_STORE_NO_PARENT', `parent ${e.parentId} is not in chain ${chainId}`);
      }
      if (
        nonce !== null &&
        (await tx.all(`SELECT 1 AS x FROM elements WHERE chain_id = ? AND nonce = ?`, [chainId, nonce])).length > 0
      ) {
        throw new StoreError('ERR_STORE_NONCE_USED', `nonce ${nonce} is already used in chain ${chainId}`);
      }
      const seq = Number(row.next_seq);
      await tx.run(
        `INSERT INTO elements (chain_id, id, seq, parent_id, kind, status, record, evidence_hashes, created_at, updated_at, nonce) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [chainId, e.id, seq, e.parentId, e.kind, e.status, record, JSON.stringify(e.evidenceHashes), now, now, nonce],
      );
      await tx.run(`UPDATE chains SET version = ?, next_seq = ? WHERE id = ?`, [version + 1, seq + 1, chainId]);
      await audit({
        action: 'element.append',
        subject: `element:${chainId}/${e.id}`,
        evidenceHashes: [...e.evidenceHashes],
        detail: {
          chain: chainId,
          element: e.id,
          parent: e.parentId,
          kind: e.kind,
          status: e.status,
          seq,
          record: recordHash,
          version: version + 1,
        },
      });
      // The rows as just written (no re-read of a ~10 KB record inside the write transaction).
      const element = elementRow({
        chain_id: chainId,
        id: e.id,
        seq,
        parent_id: e.parentId,
        kind: e.kind,
        status: e.status,
        record,
        evidence_hashes: JSON.stringify(e.evidenceHashes),
        created_at: now,
        updated_at: now,
      });
      const chain = chainRow({ ...row, version: version + 1, next_seq: seq + 1 });
      return { element, chain };
    });
  }

  async getElement(chainId: string, id: string): Promise<ElementRow | undefined> {
    checkId(chainId, 'chain id');
    checkId(id, 'element id');
    const row = (await this.driver.all(`SELECT * FROM elements WHERE chain_id = ? AND id = ?`, [chainId, id]))[0];
    return row ? elementRow(row) : undefined;
  }

  async listElements(chainId: string): Promise<ElementRow[]> {
    checkId(chainId, 'chain id');
    if ((await this.driver.all(`SELECT 1 AS x FROM chains WHERE id = ?`, [chainId])).length === 0) {
      throw new StoreError('ERR_STORE_NOT_FOUND', `no chain ${chainId}`);
    }
    return (await this.driver.all(`SELECT * FROM elements WHERE chain_id = ? ORDER BY seq`, [chainId])).map(elementRow);
  }

  async elementsAfter(
    chainId: string,
    afterSeq: number,
  ): Promise<{ version: number; deleted: boolean; elements: ElementRow[] }> {
    checkId(chainId, 'chain id');
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0)
      throw new StoreError('ERR_STORE_INVALID', 'afterSeq must be a non-negative integer');
    const rows = await this.driver.all(
      `SELECT c.version AS chain_version, c.deleted_at AS chain_deleted_at, e.* FROM chains c LEFT JOIN elements e ON e.chain_id = c.id AND e.seq > ? WHERE c.id = ? ORDER BY e.seq`,
      [afterSeq, chainId],
    );
    if (rows.length === 0) throw new StoreError('ERR_STORE_NOT_FOUND', `no chain ${chainId}`);
    return {
      version: Number(rows[0].chain_version),
      deleted: rows[0].chain_deleted_at != null,
      elements: rows.filter((r) => r.id != null).map(elementRow),
    };
  }

  async updateElement(chainId: string, id: string, patch: ElementPatch, who: AuditActor): Promise<ElementRow> {
    checkId(chainId, 'chain id');
    checkId(id, 'element id');
    if (
      patch === null ||
      typeof patch !== 'object' ||
      (patch.status === undefined && !('record' in patch) && patch.evidenceHashes === undefined)
    ) {
      throw new StoreError('ERR_STORE_INVALID', 'patch must change status, record or evidenceHashes');
    }
    if (patch.status !== undefined) checkText(patch.status, 'status');
    if (patch.evidenceHashes !== undefined) checkHashes(patch.evidenceHashes);
    const record = 'record' in patch ? toJsonText(patch.record, 'record') : undefined;
    const now = checkActor(who);
    return this.#audited(who, async (tx, audit) => {
      const chain = await this.#lockChain(tx, chainId);
      const old = (await tx.all(`SELECT * FROM elements WHERE chain_id = ? AND id = ?`, [chainId, id]))[0];
      if (!old) throw new StoreError('ERR_STORE_NOT_FOUND', `no element ${id} in chain ${chainId}`);
      const version = Number(chain.version) + 1;
      const status = patch.status ?? String(old.status);
      const evidence = patch.evidenceHashes ? JSON.stringify(patch.evidenceHashes) : String(old.evidence_hashes);
      await tx.run(
        `UPDATE elements SET status = ?, record = ?, evidence_hashes = ?, updated_at = ? WHERE chain_id = ? AND id = ?`,
        [status, record ?? String(old.record), evidence, now, chainId, id],
      );
      await tx.run(`UPDATE chains SET version = ? WHERE id = ?`, [version, chainId]);
      const detail: Record<string, unknown> = { chain: chainId, element: id, version };
      if (patch.status !== undefined) detail.status = status;
      if (record !== undefined) detail.record = documentSha256(JSON.parse(record));
      await audit({
        action: 'element.update',
        subject: `element:${chainId}/${id}`,
        evidenceHashes: [...(patch.evidenceHashes ?? [])],
        detail,
      });
      return elementRow((await tx.all(`SELECT * FROM elements WHERE chain_id = ? AND id = ?`, [chainId, id]))[0]);
    });
  }

  async removeElement(chainId: string, id: string, who: AuditActor): Promise<void> {
    checkId(chainId, 'chain id');
    checkId(id, 'element id');
    await this.#audited(who, async (tx, audit) => {
      const chain = await this.#lockChain(tx, chainId);
      const old = (await tx.all(`SELECT seq FROM elements WHERE chain_id = ? AND id = ?`, [chainId, id]))[0];
      if (!old) throw new StoreError('ERR_STORE_NOT_FOUND', `no element ${id} in chain ${chainId}`);
      const children = await tx.all(`SELECT id FROM elements WHERE chain_id = ? AND parent_id = ? LIMIT 1`, [
        chainId,
        id,
      ]);
      if (children.length > 0)
        throw new StoreError('ERR_STORE_NOT_LEAF', `element ${id} still has children (e.g. ${String(children[0].id)})`);
      const version = Number(chain.version) + 1;
      await tx.run(`DELETE FROM elements WHERE chain_id = ? AND id = ?`, [chainId, id]);
      await tx.run(`UPDATE chains SET version = ? WHERE id = ?`, [version, chainId]);
      await audit({
        action: 'element.remove',
        subject: `element:${chainId}/${id}`,
        evidenceHashes: [],
        detail: { chain: chainId, element: id, seq: Number(old.seq), version },
      });
    });
  }

  // ---- agents ----

  async putAgent(a: NewAgent, who: AuditActor): Promise<void> {
    checkId(a?.id, 'agent id');
    checkText(a.cloud, 'cloud');
    if (typeof a.url !== 'string') throw new StoreError('ERR_STORE_INVALID', 'url must be a string');
    checkText(a.status, 'status');
    const lastSeen = checkDate(a.lastSeen, 'lastSeen');
    const info = toJsonText(a.info, 'info');
    const infoHash = documentSha256(JSON.parse(info));
    await this.#audited(who, async (tx, audit) => {
      const old = (await tx.all(`SELECT * FROM agents WHERE id = ?`, [a.id]))[0];
      const detail = { agent: a.id, cloud: a.cloud, url: a.url, status: a.status, info: infoHash };
      if (!old) {
        await tx.run(
          `INSERT INTO agents (id, cloud, url, status, info, last_seen, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [a.id, a.cloud, a.url, a.status, info, lastSeen, who.at.toISOString()],
        );
        await audit({ action: 'agent.register', subject: `agent:${a.id}`, evidenceHashes: [], detail });
        return;
      }
      await tx.run(`UPDATE agents SET cloud = ?, url = ?, status = ?, info = ?, last_seen = ? WHERE id = ?`, [
        a.cloud,
        a.url,
        a.status,
        info,
        lastSeen,
        a.id,
      ]);
      const changed =
        old.cloud !== a.cloud ||
        old.url !== a.url ||
        old.status !== a.status ||
        documentSha256(parseJson(old.info, 'agents.info')) !== infoHash;
      if (changed) await audit({ action: 'agent.update', subject: `agent:${a.id}`, evidenceHashes: [], detail });
    });
  }

  async touchAgents(ids: string[], lastSeen: Date): Promise<number> {
    if (!Array.isArray(ids)) throw new StoreError('ERR_STORE_INVALID', 'ids must be an array of agent ids');
    for (const id of ids) checkId(id, 'agent id');
    const at = checkDate(lastSeen, 'lastSeen');
    if (ids.length === 0) return 0;
    return this.driver.transaction(async (tx) => {
      let n = 0;
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        n += await tx.run(`UPDATE agents SET last_seen = ? WHERE id IN (${chunk.map(() => '?').join(', ')})`, [
          at,
          ...chunk,
        ]);
      }
      return n;
    });
  }

  async getAgent(id: string): Promise<AgentRow | undefined> {
    checkId(id, 'agent id');
    const row = (await this.driver.all(`SELECT * FROM agents WHERE id = ?`, [id]))[0];
    return row ? agentRow(row) : undefined;
  }

  async listAgents(): Promise<AgentRow[]> {
    return (await this.driver.all(`SELECT * FROM agents ORDER BY id`)).map(agentRow);
  }

  // ---- tokens ----

  async createToken(t: NewToken, who: AuditActor): Promise<void> {
    checkId(t?.id, 'token id');
    if (typeof t.hash !== 'string' || !HASH.test(t.hash))
      throw new StoreError('ERR_STORE_INVALID', 'token hash must be 64 lowercase hex digits (SHA-256 of the secret)');
    if (!TOKEN_ROLES.includes(t.role))
      throw new StoreError('ERR_STORE_INVALID', `token role must be one of ${TOKEN_ROLES.join(', ')}`);
    const createdAt = checkDate(t.createdAt, 'createdAt');
    const expiresAt = t.expiresAt === undefined ? null : checkDate(t.expiresAt, 'expiresAt');
    if (t.agentId !== undefined) checkId(t.agentId, 'agent id');
    if (t.agentId !== undefined && t.role !== 'agent')
      throw new StoreError('ERR_STORE_INVALID', 'only an agent token is bound to an agent id');
    await this.#audited(who, async (tx, audit) => {
      const n = await tx.run(
        `INSERT INTO tokens (id, hash, role, created_at, revoked_at, expires_at, agent_id) VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT DO NOTHING`,
        [t.id, t.hash, t.role, createdAt, expiresAt, t.agentId ?? null],
      );
      if (n === 0)
        throw new StoreError('ERR_STORE_DUPLICATE', `a token with id ${t.id} or the same secret already exists`);
      // The hash stays out of the audit log: the log is readable by more people than the token table.
      await audit({
        action: 'token.create',
        subject: `token:${t.id}`,
        evidenceHashes: [],
        detail: {
          token: t.id,
          role: t.role,
          ...(expiresAt ? { expiresAt } : {}),
          ...(t.agentId ? { agent: t.agentId } : {}),
        },
      });
    });
  }

  async findTokenByHash(hash: string): Promise<TokenRow | undefined> {
    if (typeof hash !== 'string' || !HASH.test(hash)) return undefined;
    const row = (await this.driver.all(`SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL`, [hash]))[0];
    return row ? tokenRow(row) : undefined;
  }

  async listTokens(): Promise<TokenRow[]> {
    return (await this.driver.all(`SELECT * FROM tokens ORDER BY id`)).map(tokenRow);
  }

  async revokeToken(id: string, who: AuditActor): Promise<void> {
    checkId(id, 'token id');
    await this.#audited(who, async (tx, audit) => {
      const row = (await tx.all(`SELECT revoked_at FROM tokens WHERE id = ?`, [id]))[0];
      if (!row) throw new StoreError('ERR_STORE_NOT_FOUND', `no token ${id}`);
      if (row.revoked_at != null) return; // already revoked: nothing changes, nothing to record
      await tx.run(`UPDATE tokens SET revoked_at = ? WHERE id = ?`, [who.at.toISOString(), id]);
      await audit({ action: 'token.revoke', subject: `token:${id}`, evidenceHashes: [], detail: { token: id } });
    });
  }

  async bindTokenAgent(id: string, agentId: string, who: AuditActor): Promise<void> {
    checkId(id, 'token id');
    checkId(agentId, 'agent id');
    await this.#audited(who, async (tx, audit) => {
      const row = (await tx.all(`SELECT role, agent_id FROM tokens WHERE id = ?`, [id]))[0];
      if (!row) throw new StoreError('ERR_STORE_NOT_FOUND', `no token ${id}`);
      if (row.role !== 'agent')
        throw new StoreError('ERR_STORE_INVALID', 'only an agent token is bound to an agent id');
      const boundTo = nullableText(row.agent_id);
      if (boundTo !== undefined) {
        if (boundTo === agentId) return;
        throw new StoreError('ERR_STORE_CONFLICT', `token ${id} is bound to agent ${boundTo}`);
      }
      await tx.run(`UPDATE tokens SET agent_id = ? WHERE id = ?`, [agentId, id]);
      await audit({
        action: 'token.bind',
        subject: `token:${id}`,
        evidenceHashes: [],
        detail: { token: id, agent: agentId },
      });
    });
  }

  // ---- jobs ----

  async enqueueJob(j: NewJob, who: AuditActor): Promise<{ job: JobRow; created: boolean }> {
    const n = checkNewJob(j);
    const at = checkActor(who);
    return this.#audited(who, async (tx, audit) => {
      const old = (await tx.all(`SELECT * FROM jobs WHERE job_key = ?`, [n.key]))[0];
      if (old) return { job: jobRow(old), created: false };
      const inserted = await tx.run(
        `INSERT INTO jobs (id, kind, job_key, chain_id, state, attempts, max_attempts, next_at, lease_owner, lease_until, payload, progress, result, last_error, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, NULL, NULL, ?, '{}', 'null', NULL, ?, ?) ON CONFLICT DO NOTHING`,
        [n.id, n.kind, n.key, n.chainId, n.maxAttempts, n.nextAt, n.payload, at, at],
      );
      if (inserted === 0) {
        // Another transaction (PostgreSQL) committed the same key meanwhile: that job is the one.
        const raced = (await tx.all(`SELECT * FROM jobs WHERE job_key = ?`, [n.key]))[0];
        if (raced) return { job: jobRow(raced), created: false };
        throw new StoreError('ERR_STORE_DUPLICATE', `job ${n.id} already exists`);
      }
      const job = jobRow((await tx.all(`SELECT * FROM jobs WHERE id = ?`, [n.id]))[0]);
      await audit({
        action: 'job.enqueue',
        subject: `job:${job.id}`,
        evidenceHashes: [],
        detail: { job: job.id, kind: job.kind, key: job.key, chain: job.chainId, maxAttempts: job.maxAttempts },
      });
      return { job, created: true };
    });
  }

  async claimJobs(o: {
    now: Date;
    limit: number;
    owner: string;
    leaseMs: number;
    kinds?: string[];
  }): Promise<JobRow[]> {
    if (o === null || typeof o !== 'object') throw new StoreError('ERR_STORE_INVALID', 'claim options required');
    const now = checkDate(o.now, 'now');
    const limit = checkLimit(o.limit);
    checkText(o.owner, 'owner');
    if (!Number.isSafeInteger(o.leaseMs) || o.leaseMs < 1)
      throw new StoreError('ERR_STORE_INVALID', 'leaseMs must be a positive integer');
    if (o.kinds !== undefined && (!Array.isArray(o.kinds) || !o.kinds.every((k) => typeof k === 'string')))
      throw new StoreError('ERR_STORE_INVALID', 'kinds must be an array of strings');
    if (o.kinds?.length === 0) return [];
    const kinds = o.kinds ? ` AND kind IN (${o.kinds.map(() => '?').join(', ')})` : '';
    const until = new Date(o.now.getTime() + o.leaseMs).toISOString();
    const dueSql = `SELECT id FROM jobs WHERE ((state = 'pending' AND next_at <= ?) OR (state = 'running' AND lease_until < ?))${kinds} ORDER BY next_at, id LIMIT ?`;
    const dueParams = [now, now, ...(o.kinds ?? []), limit];
    // A runner polls: a read first, so an idle poll opens no write transaction (no commit, no fsync).
    if ((await this.driver.all(dueSql, dueParams)).length === 0) return [];
    return this.driver.transaction(async (tx) => {
      const due = await tx.all(`${dueSql}{{SKIP_LOCKED}}`, dueParams);
      const out: JobRow[] = [];
      for (const r of due) {
        await tx.run(
          `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ?`,
          [o.owner, until, now, String(r.id)],
        );
        out.push(jobRow((await tx.all(`SELECT * FROM jobs WHERE id = ?`, [String(r.id)]))[0]));
      }
      return out;
    });
  }

  async updateJob(
    id: string,
    patch: JobPatch,
    who: AuditActor | null,
    step?: { action: string; detail: unknown },
  ): Promise<JobRow> {
    checkJobId(id);
    const { columns, params } = patchColumns(patch);
    if (step !== undefined) {
      if (!JOB_AUDIT_ACTIONS.includes(step?.action as JobAuditAction))
        throw new StoreError('ERR_STORE_INVALID', `step action must be one of ${JOB_AUDIT_ACTIONS.join(', ')}`);
      if (who === null) throw new StoreError('ERR_STORE_INVALID', 'an audited job step needs an audit actor');
    }
    const at = who ? checkActor(who) : new Date().toISOString();
    const write = async (tx: Executor, audit?: AuditFn): Promise<JobRow> => {
      const old = (await tx.all(`SELECT * FROM jobs WHERE id = ?{{FOR_UPDATE}}`, [id]))[0];
      if (!old) throw new StoreError('ERR_STORE_NOT_FOUND', `no job ${id}`);
      if (patch.ifLeaseOwner !== undefined && old.lease_owner !== patch.ifLeaseOwner)
        throw new StoreError(
          'ERR_STORE_CONFLICT',
          `job ${id} is no longer leased by ${patch.ifLeaseOwner} (now: ${nullableText(old.lease_owner) ?? 'nobody'})`,
        );
      await tx.run(`UPDATE jobs SET ${[...columns, 'updated_at = ?'].join(', ')} WHERE id = ?`, [...params, at, id]);
      const job = jobRow((await tx.all(`SELECT * FROM jobs WHERE id = ?`, [id]))[0]);
      if (audit && step)
        await audit({
          action: step.action as JobAuditAction,
          subject: `job:${id}`,
          evidenceHashes: [],
          detail: stepDetail(job, step.detail),
        });
      return job;
    };
    if (step !== undefined && who !== null) return this.#audited(who, write);
    return this.driver.transaction((tx) => write(tx));
  }

  async getJob(id: string): Promise<JobRow | undefined> {
    checkJobId(id);
    const row = (await this.driver.all(`SELECT * FROM jobs WHERE id = ?`, [id]))[0];
    return row ? jobRow(row) : undefined;
  }

  async listJobs(q: JobQuery): Promise<JobRow[]> {
    const limit = checkLimit(q?.limit);
    const where = ['id > ?'];
    const params: SqlValue[] = [q.after ?? ''];
    if (q.after !== undefined && typeof q.after !== 'string')
      throw new StoreError('ERR_STORE_INVALID', 'after must be a job id');
    if (q.state !== undefined) {
      where.push('state = ?');
      params.push(checkState(q.state));
    }
    if (q.kind !== undefined) {
      checkText(q.kind, 'kind');
      where.push('kind = ?');
      params.push(q.kind);
    }
    if (q.chainId !== undefined) {
      checkId(q.chainId, 'chain id');
      where.push('chain_id = ?');
      params.push(q.chainId);
    }
    const rows = await this.driver.all(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`, [
      ...params,
      limit,
    ]);
    return rows.map(jobRow);
  }

  async countJobs(): Promise<Record<JobState, number>> {
    const out = Object.fromEntries(JOB_STATES.map((st) => [st, 0])) as Record<JobState, number>;
    for (const r of await this.driver.all(`SELECT state, COUNT(*) AS n FROM jobs GROUP BY state`))
      out[String(r.state) as JobState] = Number(r.n);
    return out;
  }

  // ---- webhooks ----

  async createWebhook(w: NewWebhook, who: AuditActor): Promise<WebhookRow> {
    const n = checkNewWebhook(w);
    return this.#audited(who, async (tx, audit) => {
      const inserted = await tx.run(
        `INSERT INTO webhooks (id, url, chain_id, events, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [n.id, n.url, n.chainId, n.events, n.createdAt],
      );
      if (inserted === 0) throw new StoreError('ERR_STORE_DUPLICATE', `webhook ${n.id} already exists`);
      const row = webhookRow((await tx.all(`SELECT * FROM webhooks WHERE id = ?`, [n.id]))[0]);
      await audit({
        action: 'webhook.create',
        subject: `webhook:${row.id}`,
        evidenceHashes: [],
        detail: { webhook: row.id, url: row.url, chain: row.chainId, events: row.events },
      });
      return row;
    });
  }

  async listWebhooks(): Promise<WebhookRow[]> {
    return (await this.driver.all(`SELECT * FROM webhooks ORDER BY id`)).map(webhookRow);
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    checkWebhookId(id);
    const row = (await this.driver.all(`SELECT * FROM webhooks WHERE id = ?`, [id]))[0];
    return row ? webhookRow(row) : undefined;
  }

  async deleteWebhook(id: string, who: AuditActor): Promise<void> {
    checkWebhookId(id);
    await this.#audited(who, async (tx, audit) => {
      const n = await tx.run(`DELETE FROM webhooks WHERE id = ?`, [id]);
      if (n === 0) throw new StoreError('ERR_STORE_NOT_FOUND', `no webhook ${id}`);
      await audit({ action: 'webhook.delete', subject: `webhook:${id}`, evidenceHashes: [], detail: { webhook: id } });
    });
  }

  // ---- event acknowledgements ----

  async ackEvent(a: NewEventAck, who: AuditActor): Promise<{ ack: EventAckRow; created: boolean }> {
    const n = checkNewEventAck(a);
    return this.#audited(who, async (tx, audit) => {
      const inserted = await tx.run(
        `INSERT INTO event_acks (event_id, type, event, actor, note, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [n.eventId, n.type, n.event, who.actor, n.note, who.at.toISOString()],
      );
      const ack = eventAckRow((await tx.all(`SELECT * FROM event_acks WHERE event_id = ?`, [n.eventId]))[0]);
      if (inserted === 0) return { ack, created: false };
      const ev = ack.event as { chain?: unknown; element?: unknown } | null;
      await audit({
        action: 'event.ack',
        subject: `event:${n.eventId}`,
        evidenceHashes: [],
        detail: {
          event: n.eventId,
          type: n.type,
          ...(typeof ev?.chain === 'string' ? { chain: ev.chain } : {}),
          ...(typeof ev?.element === 'string' ? { element: ev.element } : {}),
          note: n.note,
        },
      });
      return { ack, created: true };
    });
  }

  async getEventAck(eventId: number): Promise<EventAckRow | undefined> {
    const row = (await this.driver.all(`SELECT * FROM event_acks WHERE event_id = ?`, [checkEventId(eventId)]))[0];
    return row ? eventAckRow(row) : undefined;
  }

  async listEventAcks(page: { beforeId?: number; limit: number }): Promise<EventAckRow[]> {
    const limit = checkLimit(page?.limit);
    const before = page.beforeId === undefined ? Number.MAX_SAFE_INTEGER : checkEventId(page.beforeId);
    const rows = await this.driver.all(`SELECT * FROM event_acks WHERE event_id < ? ORDER BY event_id DESC LIMIT ?`, [
      before,
      limit,
    ]);
    return rows.map(eventAckRow);
  }

  async lastAckedEventId(): Promise<number> {
    const row = (await this.driver.all(`SELECT MAX(event_id) AS n FROM event_acks`))[0];
    return row?.n == null ? 0 : Number(row.n);
  }

  // ---- audit ----

  async listAudit(page: { afterSeq?: number; limit: number }): Promise<AuditRecord[]> {
    const limit = checkLimit(page?.limit);
    const after = page.afterSeq ?? 0;
    if (!Number.isSafeInteger(after) || after < 0)
      throw new StoreError('ERR_STORE_INVALID', 'afterSeq must be a non-negative integer');
    return (await this.driver.all(`SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, [after, limit])).map(
      auditRow,
    );
  }

  async getAuditHead(): Promise<AuditHead> {
    const row = (await this.driver.all(`SELECT seq, hash FROM audit_head WHERE id = 1`))[0];
    if (!row) throw new StoreError('ERR_STORE_BACKEND', 'audit_head row missing (database not migrated?)');
    return { seq: Number(row.seq), hash: String(row.hash) };
  }

  async addCheckpoint(cp: NewCheckpoint): Promise<void> {
    if (!Number.isSafeInteger(cp?.seq) || cp.seq < 1)
      throw new StoreError('ERR_STORE_INVALID', 'checkpoint seq must be a positive integer');
    if (typeof cp.hash !== 'string' || !HASH.test(cp.hash))
      throw new StoreError('ERR_STORE_INVALID', 'checkpoint hash must be 64 lowercase hex digits');
    checkText(cp.signature, 'signature');
    checkText(cp.keyId, 'keyId');
    const at = typeof cp.at === 'string' ? checkDate(new Date(cp.at), 'at') && cp.at : checkDate(cp.at, 'at');
    await this.driver.transaction(async (tx) => {
      const rec = (await tx.all(`SELECT hash FROM audit WHERE seq = ?`, [cp.seq]))[0];
      if (!rec) throw new StoreError('ERR_STORE_CHECKPOINT', `no audit record at seq ${cp.seq}`);
      if (rec.hash !== cp.hash)
        throw new StoreError('ERR_STORE_CHECKPOINT', `the audit record at seq ${cp.seq} does not have hash ${cp.hash}`);
      const n = await tx.run(
        `INSERT INTO checkpoints (seq, hash, signature, key_id, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [cp.seq, cp.hash, cp.signature, cp.keyId, at],
      );
      if (n === 0) throw new StoreError('ERR_STORE_DUPLICATE', `a checkpoint at seq ${cp.seq} already exists`);
    });
  }

  async listCheckpoints(): Promise<Checkpoint[]> {
    return (await this.driver.all(`SELECT * FROM checkpoints ORDER BY seq`)).map((r) => ({
      seq: Number(r.seq),
      hash: String(r.hash),
      signature: String(r.signature),
      keyId: String(r.key_id),
      at: String(r.at),
    }));
  }
}

// ---- argument checks (ERR_STORE_INVALID) ----

function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
    throw new StoreError('ERR_STORE_INVALID', `${what} must be a non-empty string of at most ${MAX_ID} characters`);
  }
}
function checkText(v: unknown, what: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0)
    throw new StoreError('ERR_STORE_INVALID', `${what} must be a non-empty string`);
}
function checkDate(d: unknown, what: string): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime()))
    throw new StoreError('ERR_STORE_INVALID', `${what} must be a valid Date`);
  return d.toISOString();
}
function checkActor(who: AuditActor): string {
  if (who === null || typeof who !== 'object')
    throw new StoreError('ERR_STORE_INVALID', 'audit actor {actor, at} required');
  checkText(who.actor, 'audit actor');
  return checkDate(who.at, 'audit time');
}
function checkVersion(v: unknown): void {
  if (!Number.isSafeInteger(v) || (v as number) < 1)
    throw new StoreError('ERR_STORE_INVALID', 'expectedVersion must be a positive integer');
}
function checkLimit(limit: unknown): number {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_PAGE) {
    throw new StoreError('ERR_STORE_INVALID', `limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  return limit as number;
}
function checkHashes(h: unknown): asserts h is string[] {
  if (!Array.isArray(h) || !h.every((x) => typeof x === 'string' && HASH.test(x))) {
    throw new StoreError(
      'ERR_STORE_INVALID',
      'evidenceHashes must be an array of 64-digit lowercase hex SHA-256 hashes',
    );
  }
}

// ---- row mapping ----

function parseJson(text: unknown, column: string): unknown {
  try {
    return JSON.parse(String(text));
  } catch {
    throw new StoreError('ERR_STORE_BACKEND', `corrupt JSON in ${column}`);
  }
}

/** A nullable TEXT column: undefined for NULL, else its text. */
function nullableText(v: unknown): string | undefined {
  const value = v as SqlValue | undefined; // what the drivers return for a column
  return value == null ? undefined : String(value);
}

function chainRow(r: SqlRow): ChainRow {
  const row: ChainRow = {
    id: String(r.id),
    name: String(r.name),
    policy: parseJson(r.policy, 'chains.policy'),
    anchor: parseJson(r.anchor, 'chains.anchor'),
    createdAt: new Date(String(r.created_at)),
    version: Number(r.version),
  };
  const deletedAt = nullableText(r.deleted_at);
  if (deletedAt !== undefined) {
    row.deleted = true;
    row.deletedAt = new Date(deletedAt);
  }
  return row;
}

function elementRow(r: SqlRow): ElementRow {
  return {
    chainId: String(r.chain_id),
    id: String(r.id),
    seq: Number(r.seq),
    parentId: nullableText(r.parent_id) ?? null,
    kind: String(r.kind),
    status: String(r.status),
    record: parseJson(r.record, 'elements.record'),
    evidenceHashes: parseJson(r.evidence_hashes, 'elements.evidence_hashes') as string[],
    createdAt: new Date(String(r.created_at)),
    updatedAt: new Date(String(r.updated_at)),
  };
}

function agentRow(r: SqlRow): AgentRow {
  return {
    id: String(r.id),
    cloud: String(r.cloud),
    url: String(r.url),
    status: String(r.status),
    info: parseJson(r.info, 'agents.info'),
    lastSeen: new Date(String(r.last_seen)),
    registeredAt: new Date(String(r.registered_at)),
  };
}

function tokenRow(r: SqlRow): TokenRow {
  const row: TokenRow = {
    id: String(r.id),
    hash: String(r.hash),
    role: r.role as TokenRow['role'],
    createdAt: new Date(String(r.created_at)),
  };
  const revokedAt = nullableText(r.revoked_at);
  const expiresAt = nullableText(r.expires_at);
  const agentId = nullableText(r.agent_id);
  if (revokedAt !== undefined) row.revokedAt = new Date(revokedAt);
  if (expiresAt !== undefined) row.expiresAt = new Date(expiresAt);
  if (agentId !== undefined) row.agentId = agentId;
  return row;
}

/**
 * Audit rows are returned as stored, even when damaged: a detail or evidence list that is no
 * longer JSON comes back as its raw text, so verifyAuditLog reports the record instead of the
 * read throwing.
 */
function auditRow(r: SqlRow): AuditRecord {
  const lenient = (text: unknown): unknown => {
    try {
      return JSON.parse(String(text));
    } catch {
      return String(text);
    }
  };
  return {
    seq: Number(r.seq),
    at: String(r.at),
    actor: String(r.actor),
    action: String(r.action),
    subject: String(r.subject),
    evidenceHashes: lenient(r.evidence_hashes) as string[],
    detail: lenient(r.detail),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}
