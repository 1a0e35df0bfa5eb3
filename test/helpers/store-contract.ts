import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { generateP256, p256Sign, p256Verify } from '../../src/crypto/ecdsa.ts';
import {
  auditRecordHash,
  checkpointSigningBytes,
  verifyAuditLog,
  ZERO_HASH,
  type AuditActor,
  type AuditRecord,
  type Checkpoint,
  type Store,
} from '../../src/store/index.ts';

/**
 * One behavioural contract for every Store backend. A backend's test file calls
 * storeContract(name, setup) where setup() makes a fresh, empty database and returns:
 *  - open():  a new Store instance on that database (migrated) — called twice for concurrency tests;
 *  - query(): raw SQL on the same database, outside the store (to inspect, or to tamper like an
 *             attacker with database access would);
 *  - dropAppendOnlyGuards(): removes the append-only triggers (what such an attacker would do first);
 *  - cleanup(): closes the raw connection and removes the database.
 */
export interface StoreFixture {
  open(): Promise<Store>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  dropAppendOnlyGuards(): Promise<void>;
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
let clock = 0;
/** A distinct, increasing time per write, so records differ even when content does not. */
const who = (actor = 'alice'): AuditActor => ({ actor, at: new Date(T0 + ++clock * 1000) });
const h = (n: number): string => createHash('sha256').update(`evidence ${n}`).digest('hex');

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal(
      (e as { code?: string }).code,
      code,
      `expected ${code}, got ${(e as Error).name}: ${(e as Error).message}`,
    );
    assert.equal((e as Error).name, 'StoreError');
    return true;
  });
}

async function allAudit(s: Store): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (;;) {
    const page = await s.listAudit({ afterSeq: out.length ? out[out.length - 1].seq : 0, limit: 500 });
    out.push(...page);
    if (page.length < 500) return out;
  }
}

const el = (
  id: string,
  parentId: string | null,
  extra: Partial<{ kind: string; status: string; record: unknown; evidenceHashes: string[] }> = {},
) => ({
  id,
  parentId,
  kind: extra.kind ?? 'enclave',
  status: extra.status ?? 'valid',
  record: extra.record ?? { id, note: 'opaque' },
  evidenceHashes: extra.evidenceHashes ?? [h(id.length)],
});

async function newChain(s: Store, id = 'chain-1') {
  return s.createChain(
    {
      id,
      name: `name of ${id}`,
      policy: { allowDebug: false },
      anchor: { rootSha256: 'ab'.repeat(32) },
      createdAt: new Date(T0),
    },
    who(),
  );
}

export function storeContract(
  name: string,
  setup: () => Promise<StoreFixture>,
  options: { skip?: string | false } = {},
): void {
  // Registers a test, like test() itself: the runner awaits the test it registers, so this
  // returns nothing rather than a promise no caller needs (or could usefully) await.
  const withStore = (
    title: string,
    fn: (s: Store, fx: StoreFixture) => Promise<void>,
    opts: { timeout?: number } = {},
  ): void => {
    test(title, { timeout: opts.timeout ?? 20_000 }, async () => {
      const fx = await setup();
      const s = await fx.open();
      try {
        await fn(s, fx);
      } finally {
        await s.close().catch(() => {});
        await fx.cleanup();
      }
    });
  };

  describe(`Store contract: ${name}`, { skip: options.skip ?? false }, () => {
    test('two replicas starting together on an empty database migrate it once', { timeout: 20_000 }, async () => {
      const fx = await setup();
      const opened = await Promise.allSettled([fx.open(), fx.open(), fx.open()]);
      const stores = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      try {
        for (const o of opened) if (o.status === 'rejected') throw o.reason;
        const rows = await fx.query('SELECT version FROM catena_migrations');
        assert.deepEqual(
          rows.map((r) => Number(r.version)),
          [1, 2, 3, 4, 5, 6, 7],
        );
        await newChain(stores[0], 'c');
        assert.equal((await stores[2].getChain('c'))?.version, 1);
      } finally {
        for (const st of stores) await st.close();
        await fx.cleanup();
      }
    });

    withStore(
      'migrate is idempotent, also when two instances migrate at once, and records one schema version',
      async (s, fx) => {
        const other = await fx.open();
        try {
          await Promise.all([s.migrate(), other.migrate(), s.migrate()]);
        } finally {
          await other.close();
        }
        const rows = await fx.query('SELECT version FROM catena_migrations ORDER BY version');
        assert.deepEqual(
          rows.map((r) => Number(r.version)),
          [1, 2, 3, 4, 5, 6, 7],
        );
        assert.deepEqual(await s.getAuditHead(), { seq: 0, hash: ZERO_HASH });
      },
    );

    withStore('a database migrated by a newer Catena is refused (ERR_STORE_SCHEMA)', async (s, fx) => {
      await fx.query(
        `INSERT INTO catena_migrations (version, name, applied_at) VALUES (99, 'from the future', '2030-01-01T00:00:00.000Z')`,
      );
      await rejectsCode(s.migrate(), 'ERR_STORE_SCHEMA');
    });

    withStore('createChain/getChain keep opaque JSON policy and anchor exactly (property)', async (s) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.jsonValue({ maxDepth: 3 }),
          fc.jsonValue({ maxDepth: 2 }),
          fc.string({ maxLength: 20 }),
          async (policy, anchor, nm) => {
            const id = `prop-${++n}`;
            const created = await s.createChain({ id, name: nm, policy, anchor, createdAt: new Date(T0 + n) }, who());
            const got = await s.getChain(id);
            const expected = {
              id,
              name: nm,
              policy: JSON.parse(JSON.stringify(policy)),
              anchor: JSON.parse(JSON.stringify(anchor)),
              createdAt: new Date(T0 + n),
              version: 1,
            };
            assert.deepEqual(got, expected);
            assert.deepEqual(created, expected);
          },
        ),
        { numRuns: 25 },
      );
      assert.equal(await s.getChain('nope'), undefined);
    });

    withStore('a duplicate chain id is refused and changes nothing', async (s) => {
      await newChain(s, 'c');
      await rejectsCode(
        s.createChain({ id: 'c', name: 'other', policy: {}, anchor: {}, createdAt: new Date(T0) }, who()),
        'ERR_STORE_DUPLICATE',
      );
      assert.equal((await s.getChain('c'))?.name, 'name of c');
      assert.deepEqual(
        (await allAudit(s)).map((r) => r.action),
        ['chain.create'],
      );
    });

    withStore('listChains pages by id and leaves out deleted chains unless asked', async (s) => {
      for (const id of ['c3', 'c1', 'c5', 'c2', 'c4']) await newChain(s, id);
      const ids = async (p: { after?: string; limit: number; includeDeleted?: boolean }) =>
        (await s.listChains(p)).map((c) => c.id);
      assert.deepEqual(await ids({ limit: 2 }), ['c1', 'c2']);
      assert.deepEqual(await ids({ after: 'c2', limit: 2 }), ['c3', 'c4']);
      assert.deepEqual(await ids({ after: 'c4', limit: 2 }), ['c5']);
      await s.deleteChain('c3', who());
      assert.deepEqual(await ids({ limit: 10 }), ['c1', 'c2', 'c4', 'c5']);
      assert.deepEqual(await ids({ limit: 10, includeDeleted: true }), ['c1', 'c2', 'c3', 'c4', 'c5']);
      await rejectsCode(s.listChains({ limit: 0 }), 'ERR_STORE_INVALID');
    });

    withStore(
      'updatePolicy is optimistic: the right version bumps it, a stale one is ERR_STORE_CONFLICT',
      async (s) => {
        await newChain(s, 'c');
        const v2 = await s.updatePolicy('c', { allowDebug: true, maxDepth: 3 }, 1, who());
        assert.equal(v2.version, 2);
        assert.deepEqual(v2.policy, { allowDebug: true, maxDepth: 3 });
        await rejectsCode(s.updatePolicy('c', { allowDebug: false }, 1, who()), 'ERR_STORE_CONFLICT');
        assert.deepEqual((await s.getChain('c'))?.policy, { allowDebug: true, maxDepth: 3 });
        await rejectsCode(s.updatePolicy('missing', {}, 1, who()), 'ERR_STORE_NOT_FOUND');
        const audit = await allAudit(s);
        assert.deepEqual(
          audit.map((r) => r.action),
          ['chain.create', 'chain.policy'],
        );
        assert.deepEqual(audit[1].detail, { chain: 'c', policy: { allowDebug: true, maxDepth: 3 }, version: 2 });
      },
    );

    withStore(
      'appendElement assigns seqs, bumps the version, and refuses bad appends without writing anything',
      async (s) => {
        await newChain(s, 'c');
        const a = await s.appendElement('c', el('a', null), 1, who());
        assert.equal(a.element.seq, 1);
        assert.equal(a.chain.version, 2);
        assert.deepEqual(a.element.record, { id: 'a', note: 'opaque' });
        const b = await s.appendElement('c', el('b', 'a', { evidenceHashes: [h(1), h(2)] }), 2, who('bob'));
        assert.equal(b.element.seq, 2);
        assert.equal(b.element.parentId, 'a');
        assert.deepEqual(b.element.evidenceHashes, [h(1), h(2)]);
        const c = await s.appendElement('c', el('c', 'a'), 'any', who());
        assert.equal(c.element.seq, 3);
        assert.equal(c.chain.version, 4);

        const before = { chain: await s.getChain('c'), audit: (await allAudit(s)).length };
        await rejectsCode(s.appendElement('c', el('x', 'ghost'), 'any', who()), 'ERR_STORE_NO_PARENT');
        await rejectsCode(s.appendElement('c', el('b', 'a'), 'any', who()), 'ERR_STORE_DUPLICATE');
        await rejectsCode(s.appendElement('c', el('y', 'a'), 2, who()), 'ERR_STORE_CONFLICT');
        await rejectsCode(s.appendElement('nochain', el('z', null), 'any', who()), 'ERR_STORE_NOT_FOUND');
        await rejectsCode(
          s.appendElement('c', el('w', null, { evidenceHashes: ['not-hex'] }), 'any', who()),
          'ERR_STORE_INVALID',
        );
        await rejectsCode(s.appendElement('c', el('', null), 'any', who()), 'ERR_STORE_INVALID');
        await rejectsCode(
          s.appendElement('c', el('v', null), 'any', { actor: '', at: new Date() }),
          'ERR_STORE_INVALID',
        );
        await rejectsCode(s.appendElement('c', el('u', null, { record: () => 1 }), 'any', who()), 'ERR_STORE_INVALID');
        assert.deepEqual(await s.getChain('c'), before.chain);
        assert.equal((await allAudit(s)).length, before.audit);
        for (const id of ['x', 'y', 'z', 'w', 'v', 'u']) assert.equal(await s.getElement('c', id), undefined);

        const audit = await allAudit(s);
        const bRec = audit.find((r) => r.subject === 'element:c/b')!;
        assert.equal(bRec.action, 'element.append');
        assert.equal(bRec.actor, 'bob');
        assert.deepEqual(bRec.evidenceHashes, [h(1), h(2)]);
        assert.deepEqual(
          { ...(bRec.detail as object), record: undefined },
          {
            chain: 'c',
            element: 'b',
            parent: 'a',
            kind: 'enclave',
            status: 'valid',
            seq: 2,
            version: 3,
            record: undefined,
          },
        );
      },
    );

    withStore(
      'a link nonce is unique per chain: a second element with it is ERR_STORE_NONCE_USED and writes nothing',
      async (s) => {
        await newChain(s, 'c');
        await newChain(s, 'd');
        const n1 = 'ab'.repeat(32);
        await s.appendElement('c', { ...el('a', null), nonce: n1 }, 'any', who());
        // Elements without a nonce (platforms) never collide; the same nonce in another chain is free.
        await s.appendElement('c', { ...el('p1', null), nonce: null }, 'any', who());
        await s.appendElement('c', el('p2', null), 'any', who());
        await s.appendElement('d', { ...el('a', null), nonce: n1 }, 'any', who());
        const before = { chain: await s.getChain('c'), audit: (await allAudit(s)).length };
        await rejectsCode(s.appendElement('c', { ...el('b', 'a'), nonce: n1 }, 'any', who()), 'ERR_STORE_NONCE_USED');
        await rejectsCode(s.appendElement('c', { ...el('b', 'a'), nonce: 'AB' }, 'any', who()), 'ERR_STORE_INVALID');
        await rejectsCode(
          s.appendElement('c', { ...el('b', 'a'), nonce: 'a'.repeat(130) }, 'any', who()),
          'ERR_STORE_INVALID',
        );
        assert.deepEqual(await s.getChain('c'), before.chain);
        assert.equal((await allAudit(s)).length, before.audit);
        assert.equal(await s.getElement('c', 'b'), undefined);
        const ok = await s.appendElement('c', { ...el('b', 'a'), nonce: 'cd'.repeat(32) }, 'any', who());
        assert.equal(ok.element.seq, 4);
      },
    );

    withStore(
      'two store instances appending the same nonce at once: exactly one element holds it, the others are ERR_STORE_NONCE_USED',
      async (s, fx) => {
        const other = await fx.open();
        try {
          await newChain(s, 'c');
          await s.appendElement('c', el('root', null), 'any', who());
          for (let round = 0; round < 6; round++) {
            const nonce = h(100 + round);
            const res = await Promise.allSettled(
              [s, other, s, other].map((st, i) =>
                st.appendElement('c', { ...el(`r${round}-${i}`, 'root'), nonce }, 'any', who()),
              ),
            );
            assert.equal(res.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
            for (const r of res)
              if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'ERR_STORE_NONCE_USED');
          }
          assert.equal((await other.listElements('c')).length, 7);
          assert.equal(verifyAuditLog(await allAudit(other), [], () => true).ok, true);
        } finally {
          await other.close();
        }
      },
    );

    withStore(
      'appends to several chains at once, interleaved: each chain counts its own seqs and versions',
      async (s) => {
        await newChain(s, 'c');
        await newChain(s, 'd');
        const order = ['c', 'd', 'd', 'c', 'c', 'd', 'c', 'x', 'c', 'd'];
        // PostgreSQL groups these into one call of catena_append_batch: one commit carries them all.
        const batches = (s as { appendBatchStats?: () => { commits: number } | undefined }).appendBatchStats;
        const commits0 = batches?.call(s)?.commits;
        const res = await Promise.allSettled(
          order.map((chain, i) => s.appendElement(chain, el(`e${i}`, null), 'any', who())),
        );
        const seqs: Record<string, number[]> = { c: [], d: [] };
        const versions: Record<string, number[]> = { c: [], d: [] };
        res.forEach((r, i) => {
          if (order[i] === 'x') return;
          assert.equal(r.status, 'fulfilled');
          if (r.status !== 'fulfilled') return;
          seqs[order[i]].push(r.value.element.seq);
          versions[order[i]].push(r.value.chain.version);
        });
        assert.equal(res[7].status === 'rejected' && (res[7].reason as { code?: string }).code, 'ERR_STORE_NOT_FOUND');
        if (commits0 !== undefined) assert.equal(batches?.call(s)?.commits, commits0 + 1, 'one batch');
        assert.deepEqual(seqs, { c: [1, 2, 3, 4, 5], d: [1, 2, 3, 4] });
        assert.deepEqual(versions, { c: [2, 3, 4, 5, 6], d: [2, 3, 4, 5] });
        assert.equal((await s.getChain('c'))?.version, 6);
        assert.equal((await s.getChain('d'))?.version, 5);
        const next = await s.appendElement('d', el('later', null), 5, who());
        assert.equal(next.element.seq, 5);
        assert.equal(verifyAuditLog(await allAudit(s), [], () => true).ok, true);
      },
    );

    withStore(
      'listElements is ordered by seq; getElement finds one; an unknown chain is ERR_STORE_NOT_FOUND',
      async (s) => {
        await newChain(s, 'c');
        const ids = ['e5', 'e1', 'e4', 'e2', 'e3'];
        let parent: string | null = null;
        for (const id of ids) {
          await s.appendElement('c', el(id, parent), 'any', who());
          parent = id;
        }
        const list = await s.listElements('c');
        assert.deepEqual(
          list.map((e) => [e.id, e.seq]),
          ids.map((id, i) => [id, i + 1]),
        );
        assert.deepEqual(await s.getElement('c', 'e4'), list[2]);
        assert.equal(await s.getElement('c', 'nope'), undefined);
        await rejectsCode(s.listElements('nochain'), 'ERR_STORE_NOT_FOUND');
      },
    );

    withStore('updateElement changes status and/or record, bumps the version and is audited', async (s) => {
      await newChain(s, 'c');
      await s.appendElement('c', el('a', null), 'any', who());
      const r1 = await s.updateElement('c', 'a', { status: 'revoked' }, who());
      assert.equal(r1.status, 'revoked');
      assert.deepEqual(r1.record, { id: 'a', note: 'opaque' });
      const r2 = await s.updateElement('c', 'a', { record: { re: 'attested' }, evidenceHashes: [h(7)] }, who());
      assert.equal(r2.status, 'revoked');
      assert.deepEqual(r2.record, { re: 'attested' });
      assert.deepEqual(r2.evidenceHashes, [h(7)]);
      assert.equal(r2.seq, 1);
      assert.equal((await s.getChain('c'))?.version, 4);
      await rejectsCode(s.updateElement('c', 'ghost', { status: 'x' }, who()), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(s.updateElement('c', 'a', {}, who()), 'ERR_STORE_INVALID');
      const audit = await allAudit(s);
      assert.deepEqual(
        audit.map((r) => r.action),
        ['chain.create', 'element.append', 'element.update', 'element.update'],
      );
      assert.deepEqual(audit[2].detail, { chain: 'c', element: 'a', status: 'revoked', version: 3 });
      assert.deepEqual(audit[3].evidenceHashes, [h(7)]);
    });

    withStore('touchAgents moves lastSeen of the named agents only, in one write, unaudited', async (s) => {
      const base = { cloud: 'aws', url: 'https://127.0.0.1:9001', status: 'up', info: {}, lastSeen: new Date(T0) };
      await s.putAgent({ ...base, id: 'a1' }, who());
      await s.putAgent({ ...base, id: 'a2' }, who());
      const audit = (await allAudit(s)).length;
      assert.equal(await s.touchAgents(['a1', 'nobody'], new Date(T0 + 5000)), 1);
      assert.deepEqual((await s.getAgent('a1'))?.lastSeen, new Date(T0 + 5000));
      assert.deepEqual((await s.getAgent('a2'))?.lastSeen, new Date(T0));
      assert.equal(await s.touchAgents([], new Date(T0)), 0);
      assert.equal((await allAudit(s)).length, audit);
      await rejectsCode(s.touchAgents([''], new Date(T0)), 'ERR_STORE_INVALID');
    });

    withStore('elementsAfter: the version and the rows after a seq, from one read', async (s) => {
      await newChain(s, 'c');
      await s.appendElement('c', el('a', null), 'any', who());
      await s.appendElement('c', el('b', 'a'), 'any', who());
      await s.updateElement('c', 'a', { status: 'x' }, who());
      const all = await s.elementsAfter('c', 0);
      assert.equal(all.version, 4);
      assert.equal(all.deleted, false);
      assert.deepEqual(
        all.elements.map((e) => [e.id, e.seq]),
        [
          ['a', 1],
          ['b', 2],
        ],
      );
      assert.deepEqual(
        (await s.elementsAfter('c', 1)).elements.map((e) => e.id),
        ['b'],
      );
      assert.deepEqual((await s.elementsAfter('c', 2)).elements, []);
      await s.deleteChain('c', who());
      assert.equal((await s.elementsAfter('c', 2)).deleted, true);
      await rejectsCode(s.elementsAfter('nope', 0), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(s.elementsAfter('c', -1), 'ERR_STORE_INVALID');
    });

    withStore('removeElement removes leaves only; seqs are never reused', async (s) => {
      await newChain(s, 'c');
      await s.appendElement('c', el('a', null), 'any', who());
      await s.appendElement('c', el('b', 'a'), 'any', who());
      await rejectsCode(s.removeElement('c', 'a', who()), 'ERR_STORE_NOT_LEAF');
      await s.removeElement('c', 'b', who());
      assert.equal(await s.getElement('c', 'b'), undefined);
      await rejectsCode(s.removeElement('c', 'b', who()), 'ERR_STORE_NOT_FOUND');
      const again = await s.appendElement('c', el('b2', 'a'), 'any', who());
      assert.equal(again.element.seq, 3);
      await s.removeElement('c', 'b2', who());
      await s.removeElement('c', 'a', who());
      assert.deepEqual(await s.listElements('c'), []);
      assert.equal((await s.getChain('c'))?.version, 7);
    });

    withStore('deleteChain is a soft delete: flagged, read-only, id never reused, elements kept', async (s) => {
      await newChain(s, 'c');
      await s.appendElement('c', el('a', null), 'any', who());
      const at = who();
      await s.deleteChain('c', at);
      const row = await s.getChain('c');
      assert.equal(row?.deleted, true);
      assert.deepEqual(row?.deletedAt, at.at);
      assert.equal(row?.version, 3);
      await rejectsCode(s.appendElement('c', el('b', 'a'), 'any', who()), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(s.updatePolicy('c', {}, 3, who()), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(s.updateElement('c', 'a', { status: 'x' }, who()), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(s.deleteChain('c', who()), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(newChain(s, 'c'), 'ERR_STORE_DUPLICATE');
      assert.deepEqual(
        (await s.listElements('c')).map((e) => e.id),
        ['a'],
      );
    });

    withStore('agents: register, heartbeat without an audit record, state change audited', async (s) => {
      const base = {
        id: 'agent-1',
        cloud: 'aws',
        url: 'https://127.0.0.1:9001',
        status: 'up',
        info: { platforms: 2 },
        lastSeen: new Date(T0),
      };
      await s.putAgent(base, who());
      await s.putAgent({ ...base, id: 'agent-0', cloud: 'gcp' }, who());
      await s.putAgent({ ...base, lastSeen: new Date(T0 + 60_000) }, who());
      const a = await s.getAgent('agent-1');
      assert.deepEqual(a?.lastSeen, new Date(T0 + 60_000));
      assert.deepEqual(a?.info, { platforms: 2 });
      await s.putAgent({ ...base, status: 'unreachable', lastSeen: new Date(T0 + 120_000) }, who());
      assert.equal((await s.getAgent('agent-1'))?.status, 'unreachable');
      assert.deepEqual(
        (await s.listAgents()).map((x) => [x.id, x.cloud]),
        [
          ['agent-0', 'gcp'],
          ['agent-1', 'aws'],
        ],
      );
      assert.equal(await s.getAgent('nobody'), undefined);
      assert.deepEqual(
        (await allAudit(s)).map((r) => `${r.action} ${r.subject}`),
        ['agent.register agent:agent-1', 'agent.register agent:agent-0', 'agent.update agent:agent-1'],
      );
    });

    withStore('tokens: reader role, expiry and agent binding are kept; a bound token is not rebound', async (s) => {
      const exp = new Date(T0 + 86_400_000);
      await s.createToken({ id: 'tr', hash: h(11), role: 'reader', createdAt: new Date(T0), expiresAt: exp }, who());
      assert.deepEqual(await s.findTokenByHash(h(11)), {
        id: 'tr',
        hash: h(11),
        role: 'reader',
        createdAt: new Date(T0),
        expiresAt: exp,
      });
      await rejectsCode(
        s.createToken({ id: 'tx', hash: h(12), role: 'reader', createdAt: new Date(T0), agentId: 'a1' }, who()),
        'ERR_STORE_INVALID',
      );
      await s.createToken({ id: 'ta', hash: h(13), role: 'agent', createdAt: new Date(T0) }, who());
      await s.bindTokenAgent('ta', 'agent-1', who());
      await s.bindTokenAgent('ta', 'agent-1', who()); // the same binding again: nothing changes
      await rejectsCode(s.bindTokenAgent('ta', 'agent-2', who()), 'ERR_STORE_CONFLICT');
      await rejectsCode(s.bindTokenAgent('tr', 'agent-1', who()), 'ERR_STORE_INVALID');
      assert.equal((await s.findTokenByHash(h(13)))?.agentId, 'agent-1');
      assert.deepEqual(
        (await allAudit(s)).map((r) => r.action),
        ['token.create', 'token.create', 'token.bind'],
      );
    });

    withStore(
      'tokens: stored by hash, found while active, revoked tokens not found, hash kept out of the audit log',
      async (s) => {
        const hash = createHash('sha256').update('the secret').digest('hex');
        await s.createToken({ id: 't1', hash, role: 'admin', createdAt: new Date(T0) }, who());
        assert.deepEqual(await s.findTokenByHash(hash), { id: 't1', hash, role: 'admin', createdAt: new Date(T0) });
        await rejectsCode(
          s.createToken({ id: 't2', hash, role: 'agent', createdAt: new Date(T0) }, who()),
          'ERR_STORE_DUPLICATE',
        );
        await rejectsCode(
          s.createToken({ id: 't1', hash: h(1), role: 'agent', createdAt: new Date(T0) }, who()),
          'ERR_STORE_DUPLICATE',
        );
        await rejectsCode(
          s.createToken({ id: 't3', hash: 'the secret', role: 'agent', createdAt: new Date(T0) }, who()),
          'ERR_STORE_INVALID',
        );
        await rejectsCode(
          s.createToken({ id: 't4', hash: h(4), role: 'root' as 'admin', createdAt: new Date(T0) }, who()),
          'ERR_STORE_INVALID',
        );
        await s.revokeToken('t1', who());
        await s.revokeToken('t1', who()); // idempotent, not audited twice
        assert.equal(await s.findTokenByHash(hash), undefined);
        assert.ok((await s.listTokens())[0].revokedAt instanceof Date);
        await rejectsCode(s.revokeToken('nope', who()), 'ERR_STORE_NOT_FOUND');
        const audit = await allAudit(s);
        assert.deepEqual(
          audit.map((r) => r.action),
          ['token.create', 'token.revoke'],
        );
        assert.ok(!JSON.stringify(audit).includes(hash));
      },
    );

    withStore(
      'every write is one audit record, hashed as documented (RFC 8785 canonical JSON, SHA-256), paged by seq',
      async (s) => {
        await newChain(s, 'c');
        await s.appendElement('c', el('a', null), 'any', who());
        await s.appendElement('c', el('b', 'a'), 'any', who());
        await s.updateElement('c', 'b', { status: 'unreachable' }, who());
        await s.removeElement('c', 'b', who());
        await s.updatePolicy('c', { p: 2 }, 5, who());
        await s.deleteChain('c', who());
        const audit = await allAudit(s);
        assert.deepEqual(
          audit.map((r) => r.seq),
          [1, 2, 3, 4, 5, 6, 7],
        );
        assert.deepEqual(
          audit.map((r) => r.action),
          [
            'chain.create',
            'element.append',
            'element.append',
            'element.update',
            'element.remove',
            'chain.policy',
            'chain.delete',
          ],
        );
        assert.equal(audit[0].prevHash, ZERO_HASH);
        for (let i = 1; i < audit.length; i++) assert.equal(audit[i].prevHash, audit[i - 1].hash);
        // The documented form, built by hand (not with canonicalJson): members in sorted order, no spaces.
        const r = audit[6];
        const text =
          `{"action":"chain.delete","actor":${JSON.stringify(r.actor)},"at":${JSON.stringify(r.at)},` +
          `"detail":{"chain":"c","version":7},"evidenceHashes":[],"prevHash":"${r.prevHash}","seq":7,"subject":"chain:c"}`;
        assert.equal(r.hash, createHash('sha256').update(text, 'utf8').digest('hex'));
        assert.deepEqual(await s.getAuditHead(), { seq: 7, hash: r.hash });
        assert.deepEqual(
          (await s.listAudit({ afterSeq: 2, limit: 3 })).map((x) => x.seq),
          [3, 4, 5],
        );
        assert.deepEqual(
          verifyAuditLog(audit, [], () => true),
          { ok: true, count: 7, headHash: r.hash, checkpoints: 0 },
        );
      },
    );

    withStore(
      'signed checkpoints: must match the record at their seq; verification checks their signatures',
      async (s) => {
        const key = generateP256();
        const other = generateP256();
        await newChain(s, 'c');
        await s.appendElement('c', el('a', null), 'any', who());
        const head = await s.getAuditHead();
        const sign = (seq: number, hash: string, k = key) => {
          const body = { seq, hash, keyId: 'manager-1', at: new Date(T0).toISOString() };
          return {
            ...body,
            signature: Buffer.from(p256Sign(k.privateKey, checkpointSigningBytes(body))).toString('base64url'),
          };
        };
        await rejectsCode(s.addCheckpoint(sign(head.seq, h(0))), 'ERR_STORE_CHECKPOINT');
        await rejectsCode(s.addCheckpoint(sign(head.seq + 5, head.hash)), 'ERR_STORE_CHECKPOINT');
        await s.addCheckpoint(sign(head.seq, head.hash));
        await rejectsCode(s.addCheckpoint(sign(head.seq, head.hash)), 'ERR_STORE_DUPLICATE');
        await s.appendElement('c', el('b', 'a'), 'any', who());
        const cps = await s.listCheckpoints();
        assert.equal(cps.length, 1);
        const verifyWith = (k: typeof key) => (cp: Checkpoint) =>
          p256Verify(k.publicKey, checkpointSigningBytes(cp), new Uint8Array(Buffer.from(cp.signature, 'base64url')));
        const audit = await allAudit(s);
        assert.equal(verifyAuditLog(audit, cps, verifyWith(key)).ok, true);
        const wrong = verifyAuditLog(audit, cps, verifyWith(other));
        assert.equal(wrong.ok, false);
        assert.equal(!wrong.ok && wrong.firstBrokenSeq, head.seq);
      },
    );

    withStore(
      'the audit log is append-only in the database, and tampering by a database owner is named by seq',
      async (s, fx) => {
        const key = generateP256();
        await newChain(s, 'c');
        for (let i = 0; i < 8; i++) await s.appendElement('c', el(`e${i}`, i ? `e${i - 1}` : null), 'any', who());
        const head = await s.getAuditHead(); // seq 9
        const body = { seq: head.seq, hash: head.hash, keyId: 'k', at: new Date(T0).toISOString() };
        await s.addCheckpoint({
          ...body,
          signature: Buffer.from(p256Sign(key.privateKey, checkpointSigningBytes(body))).toString('hex'),
        });
        const sigOk = (cp: Checkpoint) =>
          p256Verify(key.publicKey, checkpointSigningBytes(cp), new Uint8Array(Buffer.from(cp.signature, 'hex')));
        const check = async () => verifyAuditLog(await allAudit(s), await s.listCheckpoints(), sigOk);
        assert.equal((await check()).ok, true);

        // The store's own guard: UPDATE/DELETE on the audit table fail.
        await assert.rejects(fx.query(`UPDATE audit SET actor = 'mallory' WHERE seq = 3`));
        await assert.rejects(fx.query(`DELETE FROM audit WHERE seq = 9`));
        assert.equal((await check()).ok, true);

        await fx.dropAppendOnlyGuards();
        // 1. Edit one record's detail: named by its seq.
        await fx.query(`UPDATE audit SET detail = '{"chain":"c","element":"evil"}' WHERE seq = 4`);
        let v = await check();
        assert.deepEqual(v.ok ? null : [v.firstBrokenSeq, /altered/.test(v.reason)], [4, true]);
        // Damage that is not even JSON any more still reads back, and is named.
        await fx.query(`UPDATE audit SET detail = '{not json' WHERE seq = 4`);
        v = await check();
        assert.equal(v.ok ? 0 : v.firstBrokenSeq, 4);

        // 2. Put it back, recompute every later hash (a careful forger): the records chain again, but
        //    the signed checkpoint at seq 9 no longer matches — the rewrite is named from seq 1.
        const records = await allAudit(s);
        let prev = records[2].hash;
        for (const r of records.slice(3)) {
          const forged = { ...r, detail: r.seq === 4 ? { chain: 'c', element: 'evil' } : r.detail, prevHash: prev };
          const hash = auditRecordHash(forged);
          await fx.query(
            `UPDATE audit SET detail = '${JSON.stringify(forged.detail)}', prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${r.seq}`,
          );
          prev = hash;
        }
        assert.equal(
          verifyAuditLog(await allAudit(s), [], () => true).ok,
          true,
          'without checkpoints the forgery is undetectable',
        );
        v = await check();
        assert.equal(v.ok ? 0 : v.firstBrokenSeq, 1);
        assert.match(v.ok ? '' : v.reason, /rewritten/);

        // 3. Delete a record: the gap is named.
        await fx.query(`DELETE FROM audit WHERE seq = 6`);
        v = verifyAuditLog(await allAudit(s), [], () => true);
        assert.deepEqual(v.ok ? null : [v.firstBrokenSeq, /missing/.test(v.reason)], [6, true]);
      },
    );

    withStore('bad input never loses acknowledged data (property: random operations against a model)', async (s) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({ op: fc.constant('append' as const), parent: fc.nat(12), ghost: fc.boolean() }),
              fc.record({ op: fc.constant('remove' as const), target: fc.nat(12) }),
              fc.record({
                op: fc.constant('status' as const),
                target: fc.nat(12),
                status: fc.constantFrom('valid', 'revoked', 'unreachable'),
              }),
            ),
            { minLength: 1, maxLength: 14 },
          ),
          async (ops) => {
            const chainId = `model-${++run}`;
            await newChain(s, chainId);
            const model = new Map<string, { parent: string | null; status: string; seq: number }>();
            let next = 0;
            let seq = 0;
            const ids = () => [...model.keys()];
            for (const o of ops) {
              if (o.op === 'append') {
                const id = `n${next++}`;
                const existing = ids();
                const parent = o.ghost
                  ? `ghost-${o.parent}`
                  : existing.length
                    ? existing[o.parent % existing.length]
                    : null;
                const p = s.appendElement(chainId, el(id, parent), 'any', who());
                if (parent !== null && !model.has(parent)) await rejectsCode(p, 'ERR_STORE_NO_PARENT');
                else {
                  assert.equal((await p).element.seq, ++seq);
                  model.set(id, { parent, status: 'valid', seq });
                }
              } else {
                const existing = ids();
                const target = existing.length ? existing[o.target % existing.length] : 'none';
                if (o.op === 'remove') {
                  const p = s.removeElement(chainId, target, who());
                  if (!model.has(target)) await rejectsCode(p, 'ERR_STORE_NOT_FOUND');
                  else if ([...model.values()].some((m) => m.parent === target))
                    await rejectsCode(p, 'ERR_STORE_NOT_LEAF');
                  else {
                    await p;
                    model.delete(target);
                  }
                } else {
                  const p = s.updateElement(chainId, target, { status: o.status }, who());
                  if (!model.has(target)) await rejectsCode(p, 'ERR_STORE_NOT_FOUND');
                  else {
                    await p;
                    model.get(target)!.status = o.status;
                  }
                }
              }
            }
            const got = (await s.listElements(chainId)).map((e) => [e.id, e.parentId, e.status, e.seq]);
            const want = [...model.entries()]
              .sort((a, b) => a[1].seq - b[1].seq)
              .map(([id, m]) => [id, m.parent, m.status, m.seq]);
            assert.deepEqual(got, want);
          },
        ),
        { numRuns: 15 },
      );
      assert.equal(verifyAuditLog(await allAudit(s), [], () => true).ok, true);
    });

    withStore('two store instances appending concurrently to one chain lose nothing and never fork', async (s, fx) => {
      const other = await fx.open();
      try {
        await newChain(s, 'c');
        await s.appendElement('c', el('root', null), 'any', who());
        const N = 25;
        const load = (st: Store, tag: string) =>
          Promise.all(
            Array.from({ length: N }, (_, i) =>
              st
                .appendElement('c', el(`${tag}${i}`, 'root', { evidenceHashes: [h(i)] }), 'any', who(tag))
                .then((r) => r.element.seq),
            ),
          );
        const [seqA, seqB] = await Promise.all([load(s, 'a'), load(other, 'b')]);
        const all = [...seqA, ...seqB].sort((x, y) => x - y);
        assert.deepEqual(
          all,
          Array.from({ length: 2 * N }, (_, i) => i + 2),
          'every acknowledged append has its own seq',
        );
        const list = await other.listElements('c');
        assert.equal(list.length, 2 * N + 1);
        assert.equal(new Set(list.map((e) => e.seq)).size, 2 * N + 1);
        assert.equal((await s.getChain('c'))?.version, 2 * N + 2);
        const audit = await allAudit(other);
        assert.equal(audit.filter((r) => r.action === 'element.append').length, 2 * N + 1);
        assert.equal(verifyAuditLog(audit, [], () => true).ok, true);

        // Optimistic appends racing on the same expected version: exactly one wins each round.
        for (let round = 0; round < 8; round++) {
          const v = (await s.getChain('c'))!.version;
          const res = await Promise.allSettled([
            s.appendElement('c', el(`ra${round}`, 'root'), v, who('a')),
            other.appendElement('c', el(`rb${round}`, 'root'), v, who('b')),
          ]);
          assert.equal(res.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
          const lost = res.find((r) => r.status === 'rejected') as PromiseRejectedResult;
          assert.equal(lost.reason.code, 'ERR_STORE_CONFLICT');
        }
        assert.equal(verifyAuditLog(await allAudit(s), [], () => true).ok, true);
      } finally {
        await other.close();
      }
    });

    withStore('ackEvent: idempotent on the event id, audited once, kept verbatim', async (s) => {
      assert.equal(await s.lastAckedEventId(), 0);
      assert.equal(await s.getEventAck(7), undefined);
      const event = { type: 'collateral.stale', chain: 'c1', element: 'e1', at: '2025-01-01T00:00:00.000Z', n: [1] };
      const first = who('alice');
      const a = await s.ackEvent({ eventId: 7, type: 'collateral.stale', event, note: 'seen, PCS outage' }, first);
      assert.equal(a.created, true);
      assert.deepEqual(a.ack, {
        eventId: 7,
        type: 'collateral.stale',
        event,
        actor: 'alice',
        note: 'seen, PCS outage',
        at: first.at,
      });
      // Again, by someone else, with another note: the first acknowledgement stands, nothing written.
      const again = await s.ackEvent({ eventId: 7, type: 'collateral.stale', event, note: null }, who('bob'));
      assert.equal(again.created, false);
      assert.deepEqual(again.ack, a.ack);
      await s.ackEvent({ eventId: 3, type: 'element.state', event: { type: 'element.state' }, note: null }, who('bob'));
      assert.equal(await s.lastAckedEventId(), 7);
      assert.equal((await s.getEventAck(3))?.note, null);
      assert.equal((await s.getEventAck(3))?.actor, 'bob');
      // Listed newest first, paged by event id.
      assert.deepEqual(
        (await s.listEventAcks({ limit: 10 })).map((r) => [r.eventId, r.actor]),
        [
          [7, 'alice'],
          [3, 'bob'],
        ],
      );
      assert.deepEqual(
        (await s.listEventAcks({ limit: 1 })).map((r) => r.eventId),
        [7],
      );
      assert.deepEqual(
        (await s.listEventAcks({ beforeId: 7, limit: 10 })).map((r) => r.eventId),
        [3],
      );
      assert.deepEqual(await s.listEventAcks({ beforeId: 3, limit: 10 }), []);
      await rejectsCode(s.listEventAcks({ beforeId: 0, limit: 10 }), 'ERR_STORE_INVALID');
      await rejectsCode(s.ackEvent({ eventId: 0, type: 'x', event: {}, note: null }, who()), 'ERR_STORE_INVALID');
      await rejectsCode(s.ackEvent({ eventId: 1.5, type: 'x', event: {}, note: null }, who()), 'ERR_STORE_INVALID');
      await rejectsCode(s.ackEvent({ eventId: 2, type: '', event: {}, note: null }, who()), 'ERR_STORE_INVALID');
      await rejectsCode(
        s.ackEvent({ eventId: 2, type: 'x', event: {}, note: 'n'.repeat(1001) }, who()),
        'ERR_STORE_INVALID',
      );
      const audit = await allAudit(s);
      assert.deepEqual(
        audit.map((r) => [r.action, r.subject, r.actor]),
        [
          ['event.ack', 'event:7', 'alice'],
          ['event.ack', 'event:3', 'bob'],
        ],
      );
      assert.deepEqual(audit[0].detail, {
        event: 7,
        type: 'collateral.stale',
        chain: 'c1',
        element: 'e1',
        note: 'seen, PCS outage',
      });
      assert.equal(verifyAuditLog(audit, [], () => true).ok, true);
    });

    withStore('a closed store refuses work with ERR_STORE_CLOSED', async (s) => {
      await s.close();
      await rejectsCode(s.getChain('c'), 'ERR_STORE_CLOSED');
      await rejectsCode(newChain(s, 'c'), 'ERR_STORE_CLOSED');
    });
  });
}
