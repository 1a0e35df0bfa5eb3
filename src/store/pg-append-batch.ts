import { StoreError } from './errors.ts';
import { canonicalJson } from './canonical.ts';
import type { StoreErrorCode } from './errors.ts';

/**
 * PostgreSQL appends in one round trip per batch (issue 15, item 4). Appends requested while a
 * batch is in flight are queued and sent together as ONE call of the plpgsql function
 * catena_append_batch (migration 5): it takes the audit head's row lock once, then for each append,
 * in order, locks the chain row, makes the store's checks (chain exists, expected version, duplicate
 * id, parent present) against the latest committed state, inserts the element, bumps the chain and
 * appends the audit record — its SHA-256 computed by the server over the canonical JSON that this
 * module prepares around the four values only the database knows (element seq, chain version,
 * previous hash, audit seq). The call is a single statement in autocommit: its result arrives after
 * COMMIT (node-postgres resolves at ReadyForQuery), so nothing is acknowledged before it is durable,
 * and one WAL flush covers the whole batch (group commit). Replicas serialise on the same row locks:
 * the database, not a process, decides the order.
 */

/** The SQL of catena_append_batch as migration 5 created it (released: never edited; see APPEND_BATCH_FUNCTION_6). */
export const APPEND_BATCH_FUNCTION = `CREATE FUNCTION catena_append_batch(
  p_chain text[], p_id text[], p_parent text[], p_kind text[], p_status text[], p_record text[],
  p_evidence text[], p_at text[], p_actor text[], p_expected bigint[],
  p_da text[], p_db text[], p_ha text[], p_hb text[], p_hd text[])
RETURNS TABLE (o_code text, o_seq bigint, o_version bigint, o_audit_seq bigint, o_audit_hash text,
  o_name text, o_policy text, o_anchor text, o_created_at text)
LANGUAGE plpgsql AS $$
DECLARE
  h_seq bigint; h_hash text; c record; e_seq bigint; v bigint; d text; body text; hh text; k int;
BEGIN
  SELECT a.seq, a.hash INTO h_seq, h_hash FROM audit_head a WHERE a.id = 1 FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'catena: audit_head row missing'; END IF;
  FOR k IN 1 .. coalesce(array_length(p_chain, 1), 0) LOOP
    o_code := NULL; o_seq := NULL; o_version := NULL; o_audit_seq := NULL; o_audit_hash := NULL;
    o_name := NULL; o_policy := NULL; o_anchor := NULL; o_created_at := NULL;
    SELECT ch.id, ch.name, ch.policy, ch.anchor, ch.created_at, ch.version, ch.next_seq, ch.deleted_at INTO c
      FROM chains ch WHERE ch.id = p_chain[k] FOR UPDATE;
    IF NOT FOUND OR c.deleted_at IS NOT NULL THEN
      o_code := 'ERR_STORE_NOT_FOUND';
    ELSIF p_expected[k] IS NOT NULL AND c.version <> p_expected[k] THEN
      o_code := 'ERR_STORE_CONFLICT'; o_version := c.version;
    ELSIF EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.id = p_id[k]) THEN
      o_code := 'ERR_STORE_DUPLICATE';
    ELSIF p_parent[k] IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.id = p_parent[k]) THEN
      o_code := 'ERR_STORE_NO_PARENT';
    ELSE
      e_seq := c.next_seq;
      v := c.version + 1;
      d := p_da[k] || e_seq::text || p_db[k] || v::text || '}';
      body := p_ha[k] || d || p_hb[k] || '"' || h_hash || '","seq":' || (h_seq + 1)::text || p_hd[k];
      hh := encode(sha256(convert_to(body, 'UTF8')), 'hex');
      INSERT INTO elements (chain_id, id, seq, parent_id, kind, status, record, evidence_hashes, created_at, updated_at)
        VALUES (p_chain[k], p_id[k], e_seq, p_parent[k], p_kind[k], p_status[k], p_record[k], p_evidence[k], p_at[k], p_at[k]);
      UPDATE chains SET version = v, next_seq = e_seq + 1 WHERE id = p_chain[k];
      INSERT INTO audit (seq, at, actor, action, subject, evidence_hashes, detail, prev_hash, hash)
        VALUES (h_seq + 1, p_at[k], p_actor[k], 'element.append', 'element:' || p_chain[k] || '/' || p_id[k],
                p_evidence[k], d, h_hash, hh);
      h_seq := h_seq + 1;
      h_hash := hh;
      o_code := 'ok'; o_seq := e_seq; o_version := v; o_audit_seq := h_seq; o_audit_hash := hh;
      o_name := c.name; o_policy := c.policy; o_anchor := c.anchor; o_created_at := c.created_at;
    END IF;
    RETURN NEXT;
  END LOOP;
  UPDATE audit_head SET seq = h_seq, hash = h_hash WHERE id = 1;
END $$`;

/**
 * catena_append_batch as migration 6 replaces it: the same steps, plus the element's link nonce
 * (p_nonce, NULL for none) — refused with ERR_STORE_NONCE_USED when an element of the chain already
 * holds it (checked under the chain row's lock; the unique index elements_nonce is the backstop),
 * and stored in elements.nonce. Consecutive appends of a batch to one chain share one lock and read
 * of its row and one update of it, written back when the batch moves to another chain or ends.
 */
export const APPEND_BATCH_FUNCTION_6 = `CREATE FUNCTION catena_append_batch(
  p_chain text[], p_id text[], p_parent text[], p_kind text[], p_status text[], p_record text[],
  p_evidence text[], p_at text[], p_actor text[], p_expected bigint[],
  p_da text[], p_db text[], p_ha text[], p_hb text[], p_hd text[], p_nonce text[])
RETURNS TABLE (o_code text, o_seq bigint, o_version bigint, o_audit_seq bigint, o_audit_hash text,
  o_name text, o_policy text, o_anchor text, o_created_at text)
LANGUAGE plpgsql AS $$
DECLARE
  h_seq bigint; h_hash text; c record; e_seq bigint; v bigint; d text; body text; hh text; k int;
  cur text := NULL; live boolean := false; c_v bigint; c_next bigint; dirty boolean := false;
BEGIN
  SELECT a.seq, a.hash INTO h_seq, h_hash FROM audit_head a WHERE a.id = 1 FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'catena: audit_head row missing'; END IF;
  FOR k IN 1 .. coalesce(array_length(p_chain, 1), 0) LOOP
    o_code := NULL; o_seq := NULL; o_version := NULL; o_audit_seq := NULL; o_audit_hash := NULL;
    o_name := NULL; o_policy := NULL; o_anchor := NULL; o_created_at := NULL;
    -- The chain row is locked and read when the batch reaches its chain, and written back once when
    -- the batch leaves it (consecutive appends to one chain share one lock, read and update).
    IF cur IS DISTINCT FROM p_chain[k] THEN
      IF dirty THEN UPDATE chains SET version = c_v, next_seq = c_next WHERE id = cur; dirty := false; END IF;
      SELECT ch.id, ch.name, ch.policy, ch.anchor, ch.created_at, ch.version, ch.next_seq, ch.deleted_at INTO c
        FROM chains ch WHERE ch.id = p_chain[k] FOR UPDATE;
      live := FOUND AND c.deleted_at IS NULL;
      cur := p_chain[k];
      IF live THEN c_v := c.version; c_next := c.next_seq; END IF;
    END IF;
    IF NOT live THEN
      o_code := 'ERR_STORE_NOT_FOUND';
    ELSIF p_expected[k] IS NOT NULL AND c_v <> p_expected[k] THEN
      o_code := 'ERR_STORE_CONFLICT'; o_version := c_v;
    ELSIF EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.id = p_id[k]) THEN
      o_code := 'ERR_STORE_DUPLICATE';
    ELSIF p_parent[k] IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.id = p_parent[k]) THEN
      o_code := 'ERR_STORE_NO_PARENT';
    ELSIF p_nonce[k] IS NOT NULL
      AND EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.nonce = p_nonce[k]) THEN
      o_code := 'ERR_STORE_NONCE_USED';
    ELSE
      e_seq := c_next;
      v := c_v + 1;
      d := p_da[k] || e_seq::text || p_db[k] || v::text || '}';
      body := p_ha[k] || d || p_hb[k] || '"' || h_hash || '","seq":' || (h_seq + 1)::text || p_hd[k];
      hh := encode(sha256(convert_to(body, 'UTF8')), 'hex');
      INSERT INTO elements (chain_id, id, seq, parent_id, kind, status, record, evidence_hashes, created_at, updated_at, nonce)
        VALUES (p_chain[k], p_id[k], e_seq, p_parent[k], p_kind[k], p_status[k], p_record[k], p_evidence[k], p_at[k], p_at[k], p_nonce[k]);
      c_v := v; c_next := e_seq + 1; dirty := true;
      INSERT INTO audit (seq, at, actor, action, subject, evidence_hashes, detail, prev_hash, hash)
        VALUES (h_seq + 1, p_at[k], p_actor[k], 'element.append', 'element:' || p_chain[k] || '/' || p_id[k],
                p_evidence[k], d, h_hash, hh);
      h_seq := h_seq + 1;
      h_hash := hh;
      o_code := 'ok'; o_seq := e_seq; o_version := v; o_audit_seq := h_seq; o_audit_hash := hh;
      o_name := c.name; o_policy := c.policy; o_anchor := c.anchor; o_created_at := c.created_at;
    END IF;
    RETURN NEXT;
  END LOOP;
  IF dirty THEN UPDATE chains SET version = c_v, next_seq = c_next WHERE id = cur; END IF;
  UPDATE audit_head SET seq = h_seq, hash = h_hash WHERE id = 1;
END $$`;

/**
 * catena_append_batch as migration 7 replaces it: the same steps, plus each stored append's event
 * published with NOTIFY inside the call (p_ev_channel NULL for none; payload p_ev_a ‖ element seq ‖
 * p_ev_b), instead of in a transaction of its own after it: a NOTIFY takes a transaction id, so it
 * cost a commit record, a WAL flush and a round trip per group (replica-events.ts).
 */
export const APPEND_BATCH_FUNCTION_7 = `CREATE FUNCTION catena_append_batch(
  p_chain text[], p_id text[], p_parent text[], p_kind text[], p_status text[], p_record text[],
  p_evidence text[], p_at text[], p_actor text[], p_expected bigint[],
  p_da text[], p_db text[], p_ha text[], p_hb text[], p_hd text[], p_nonce text[],
  p_ev_channel text[], p_ev_a text[], p_ev_b text[])
RETURNS TABLE (o_code text, o_seq bigint, o_version bigint, o_audit_seq bigint, o_audit_hash text,
  o_name text, o_policy text, o_anchor text, o_created_at text)
LANGUAGE plpgsql AS $$
DECLARE
  h_seq bigint; h_hash text; c record; e_seq bigint; v bigint; d text; body text; hh text; k int;
  cur text := NULL; live boolean := false; c_v bigint; c_next bigint; dirty boolean := false;
BEGIN
  SELECT a.seq, a.hash INTO h_seq, h_hash FROM audit_head a WHERE a.id = 1 FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'catena: audit_head row missing'; END IF;
  FOR k IN 1 .. coalesce(array_length(p_chain, 1), 0) LOOP
    o_code := NULL; o_seq := NULL; o_version := NULL; o_audit_seq := NULL; o_audit_hash := NULL;
    o_name := NULL; o_policy := NULL; o_anchor := NULL; o_created_at := NULL;
    -- The chain row is locked and read when the batch reaches its chain, and written back once when
    -- the batch leaves it (consecutive appends to one chain share one lock, read and update).
    IF cur IS DISTINCT FROM p_chain[k] THEN
      IF dirty THEN UPDATE chains SET version = c_v, next_seq = c_next WHERE id = cur; dirty := false; END IF;
      SELECT ch.id, ch.name, ch.policy, ch.anchor, ch.created_at, ch.version, ch.next_seq, ch.deleted_at INTO c
        FROM chains ch WHERE ch.id = p_chain[k] FOR UPDATE;
      live := FOUND AND c.deleted_at IS NULL;
      cur := p_chain[k];
      IF live THEN c_v := c.version; c_next := c.next_seq; END IF;
    END IF;
    IF NOT live THEN
      o_code := 'ERR_STORE_NOT_FOUND';
    ELSIF p_expected[k] IS NOT NULL AND c_v <> p_expected[k] THEN
      o_code := 'ERR_STORE_CONFLICT'; o_version := c_v;
    ELSIF EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.id = p_id[k]) THEN
      o_code := 'ERR_STORE_DUPLICATE';
    ELSIF p_parent[k] IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.id = p_parent[k]) THEN
      o_code := 'ERR_STORE_NO_PARENT';
    ELSIF p_nonce[k] IS NOT NULL
      AND EXISTS (SELECT 1 FROM elements el WHERE el.chain_id = p_chain[k] AND el.nonce = p_nonce[k]) THEN
      o_code := 'ERR_STORE_NONCE_USED';
    ELSE
      e_seq := c_next;
      v := c_v + 1;
      d := p_da[k] || e_seq::text || p_db[k] || v::text || '}';
      body := p_ha[k] || d || p_hb[k] || '"' || h_hash || '","seq":' || (h_seq + 1)::text || p_hd[k];
      hh := encode(sha256(convert_to(body, 'UTF8')), 'hex');
      INSERT INTO elements (chain_id, id, seq, parent_id, kind, status, record, evidence_hashes, created_at, updated_at, nonce)
        VALUES (p_chain[k], p_id[k], e_seq, p_parent[k], p_kind[k], p_status[k], p_record[k], p_evidence[k], p_at[k], p_at[k], p_nonce[k]);
      c_v := v; c_next := e_seq + 1; dirty := true;
      INSERT INTO audit (seq, at, actor, action, subject, evidence_hashes, detail, prev_hash, hash)
        VALUES (h_seq + 1, p_at[k], p_actor[k], 'element.append', 'element:' || p_chain[k] || '/' || p_id[k],
                p_evidence[k], d, h_hash, hh);
      -- The append's event for the other replicas, delivered when (and only if) this commits.
      IF p_ev_channel[k] IS NOT NULL THEN
        PERFORM pg_notify(p_ev_channel[k], p_ev_a[k] || e_seq::text || p_ev_b[k]);
      END IF;
      h_seq := h_seq + 1;
      h_hash := hh;
      o_code := 'ok'; o_seq := e_seq; o_version := v; o_audit_seq := h_seq; o_audit_hash := hh;
      o_name := c.name; o_policy := c.policy; o_anchor := c.anchor; o_created_at := c.created_at;
    END IF;
    RETURN NEXT;
  END LOOP;
  IF dirty THEN UPDATE chains SET version = c_v, next_seq = c_next WHERE id = cur; END IF;
  UPDATE audit_head SET seq = h_seq, hash = h_hash WHERE id = 1;
END $$`;

const CALL = `SELECT * FROM catena_append_batch($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[])`;
/** The prepared statement's name (the call of migration 7's function: a name of its own). */
const CALL_NAME = 'catena_append_batch_7';

/** One append as the store hands it to the batch (already validated and serialised). */
export interface BatchAppend {
  chainId: string;
  id: string;
  parentId: string | null;
  kind: string;
  status: string;
  /** The element record's stored text and the SHA-256 the audit detail gives it. */
  record: string;
  recordHash: string;
  evidenceHashes: string[];
  at: string;
  actor: string;
  expectedVersion: number | null;
  /** The link's challenge nonce (hex), unique per chain; null when the element has none. */
  nonce: string | null;
  /** Published with NOTIFY on `channel` when the append commits: before ‖ element seq ‖ after. */
  announce?: { channel: string; before: string; after: string };
}

/** What the database made of one append. */
export interface BatchResult {
  seq: number;
  version: number;
  auditSeq: number;
  auditHash: string;
  chain: { name: string; policy: string; anchor: string; createdAt: string };
}

/**
 * The audit record's canonical JSON (audit-hash.ts) cut around the database's four values:
 *   hash body = ha ‖ detail ‖ hb ‖ "prevHash" ‖ ,"seq":N ‖ hd,  detail = da ‖ seq ‖ db ‖ version ‖ }
 * RFC 8785 orders members by name; the names here are written in that order (a unit test checks
 * the result against auditRecordHash).
 */
export function auditPieces(a: BatchAppend): { da: string; db: string; ha: string; hb: string; hd: string } {
  const j = canonicalJson;
  return {
    da: `{"chain":${j(a.chainId)},"element":${j(a.id)},"kind":${j(a.kind)},"parent":${j(a.parentId)},"record":${j(a.recordHash)},"seq":`,
    db: `,"status":${j(a.status)},"version":`,
    ha: `{"action":"element.append","actor":${j(a.actor)},"at":${j(a.at)},"detail":`,
    hb: `,"evidenceHashes":${j(a.evidenceHashes)},"prevHash":`,
    hd: `,"subject":${j(`element:${a.chainId}/${a.id}`)}}`,
  };
}

/** Runs the batch function: a prepared statement, one round trip; rows in the order of the appends. */
export type BatchCall = (name: string, text: string, values: unknown[]) => Promise<Array<Record<string, unknown>>>;

interface Pending {
  a: BatchAppend;
  resolve: (r: BatchResult) => void;
  reject: (e: unknown) => void;
}

/** Most appends in one call. */
const MAX_BATCH = 256;

/** `grown` runs when this process's committed appends reach GROWN_FIRST, then each 4 times more. */
export const GROWN_FIRST = 64;
const isMilestone = (n: number): boolean => {
  let m = GROWN_FIRST;
  while (m < n) m *= 4;
  return m === n;
};

export class PgAppendBatcher {
  readonly #call: BatchCall;
  readonly #grown: (() => Promise<void>) | undefined;
  readonly #pending: Pending[] = [];
  #running = false;
  readonly #stats = { transactions: 0, commits: 0 };

  /** `grown`: called, not awaited, when the appends committed reach GROWN_FIRST × 4ⁿ (see SqlStore). */
  constructor(call: BatchCall, grown?: () => Promise<void>) {
    this.#call = call;
    this.#grown = grown;
  }

  /** Appends committed and the calls (transactions) that carried them. */
  stats(): { transactions: number; commits: number } {
    return { ...this.#stats };
  }

  append(a: BatchAppend): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ a, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        void this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        // One turn of the event loop so appends arriving together share the first batch too.
        await new Promise<void>((r) => setImmediate(r));
        const batch = this.#pending.splice(0, MAX_BATCH);
        if (batch.length === 0) return;
        await this.#send(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  async #send(batch: Pending[]): Promise<void> {
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await this.#call(CALL_NAME, CALL, columns(batch.map((p) => p.a)));
      if (rows.length !== batch.length)
        throw new StoreError(
          'ERR_STORE_BACKEND',
          `catena_append_batch returned ${rows.length} rows for ${batch.length}`,
        );
    } catch (e) {
      // Nothing of the batch was committed. An error that one append caused (it passed our checks
      // but not the database's) must not fail the others: alone, each gets its own outcome.
      if (batch.length > 1) {
        for (const p of batch) await this.#send([p]);
      } else batch[0].reject(e);
      return;
    }
    this.#stats.commits++;
    const before = this.#stats.transactions;
    batch.forEach((p, i) => {
      const r = rows[i];
      const code = String(r.o_code);
      if (code === 'ok') {
        this.#stats.transactions++;
        p.resolve({
          seq: Number(r.o_seq),
          version: Number(r.o_version),
          auditSeq: Number(r.o_audit_seq),
          auditHash: String(r.o_audit_hash),
          chain: {
            name: String(r.o_name),
            policy: String(r.o_policy),
            anchor: String(r.o_anchor),
            createdAt: String(r.o_created_at),
          },
        });
      } else p.reject(refusal(code, p.a, r));
    });
    for (let n = before + 1; n <= this.#stats.transactions; n++)
      if (this.#grown && isMilestone(n)) void this.#grown().catch(() => {});
  }
}

function refusal(code: string, a: BatchAppend, r: Record<string, unknown>): StoreError {
  const messages: Record<string, string> = {
    ERR_STORE_NOT_FOUND: `no chain ${a.chainId}`,
    ERR_STORE_CONFLICT: `chain ${a.chainId} is at version ${String(r.o_version)}, not ${String(a.expectedVersion)}`,
    ERR_STORE_DUPLICATE: `element ${a.id} is already in chain ${a.chainId}`,
    ERR_STORE_NO_PARENT: `parent ${String(a.parentId)} is not in chain ${a.chainId}`,
    ERR_STORE_NONCE_USED: `nonce ${String(a.nonce)} is already used in chain ${a.chainId}`,
  };
  const message = messages[code];
  if (message === undefined) return new StoreError('ERR_STORE_BACKEND', `catena_append_batch answered ${code}`);
  return new StoreError(code as StoreErrorCode, message);
}

function columns(items: BatchAppend[]): unknown[] {
  const pieces = items.map(auditPieces);
  return [
    items.map((a) => a.chainId),
    items.map((a) => a.id),
    items.map((a) => a.parentId),
    items.map((a) => a.kind),
    items.map((a) => a.status),
    items.map((a) => a.record),
    items.map((a) => JSON.stringify(a.evidenceHashes)),
    items.map((a) => a.at),
    items.map((a) => a.actor),
    items.map((a) => a.expectedVersion),
    pieces.map((p) => p.da),
    pieces.map((p) => p.db),
    pieces.map((p) => p.ha),
    pieces.map((p) => p.hb),
    pieces.map((p) => p.hd),
    items.map((a) => a.nonce),
    items.map((a) => a.announce?.channel ?? null),
    items.map((a) => a.announce?.before ?? null),
    items.map((a) => a.announce?.after ?? null),
  ];
}
