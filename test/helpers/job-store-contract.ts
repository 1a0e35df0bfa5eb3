import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyAuditLog, type AuditActor, type AuditRecord, type NewJob, type Store } from '../../src/store/index.ts';

/**
 * The jobs and webhooks part of the Store contract, for every backend: setup() makes a fresh, empty
 * database; open() returns a new migrated Store on it (called twice for the concurrency tests).
 */
export interface JobStoreFixture {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const who = (s = 0): AuditActor => ({ actor: 'alice', at: at(s) });
const job = (n: number, extra: Partial<NewJob> = {}): NewJob => ({
  id: `job-${String(n).padStart(4, '0')}`,
  kind: 'test.kind',
  key: `key-${n}`,
  payload: { n },
  maxAttempts: 3,
  nextAt: at(0),
  ...extra,
});

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    return true;
  });
}

async function allAudit(s: Store): Promise<AuditRecord[]> {
  return s.listAudit({ limit: 10_000 });
}

export function jobStoreContract(
  name: string,
  setup: () => Promise<JobStoreFixture>,
  options: { skip?: string | false } = {},
): void {
  const withStore = (title: string, fn: (s: Store, fx: JobStoreFixture) => Promise<void>): void => {
    test(title, { timeout: 30_000 }, async () => {
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

  describe(`Store jobs and webhooks: ${name}`, { skip: options.skip ?? false }, () => {
    withStore('enqueueJob inserts a pending job, audited job.enqueue; the same key again writes nothing', async (s) => {
      const first = await s.enqueueJob(job(1, { chainId: 'c1' }), who(1));
      assert.equal(first.created, true);
      assert.deepEqual(
        { ...first.job, createdAt: first.job.createdAt.toISOString(), updatedAt: undefined },
        {
          id: 'job-0001',
          kind: 'test.kind',
          key: 'key-1',
          chainId: 'c1',
          state: 'pending',
          attempts: 0,
          maxAttempts: 3,
          nextAt: at(0),
          leaseOwner: null,
          leaseUntil: null,
          payload: { n: 1 },
          progress: {},
          result: null,
          lastError: null,
          createdAt: at(1).toISOString(),
          updatedAt: undefined,
        },
      );
      const head = await s.getAuditHead();
      const again = await s.enqueueJob(job(2, { key: 'key-1', payload: { other: true } }), who(2));
      assert.equal(again.created, false);
      assert.equal(again.job.id, 'job-0001');
      assert.deepEqual(again.job.payload, { n: 1 });
      assert.deepEqual(await s.getAuditHead(), head, 'an idempotent re-enqueue writes no audit record');
      assert.equal(await s.getJob('job-0002'), undefined);
      const audit = await allAudit(s);
      assert.deepEqual(
        audit.map((r) => [r.action, r.subject]),
        [['job.enqueue', 'job:job-0001']],
      );
      await rejectsCode(s.enqueueJob(job(3, { maxAttempts: 0 }), who(3)), 'ERR_STORE_INVALID');
    });

    withStore('claimJobs takes due pending jobs and expired leases only, and marks them running', async (s) => {
      await s.enqueueJob(job(1, { nextAt: at(10) }), who());
      await s.enqueueJob(job(2, { nextAt: at(20) }), who());
      await s.enqueueJob(job(3, { nextAt: at(5), kind: 'other.kind' }), who());
      const first = await s.claimJobs({ now: at(15), limit: 10, owner: 'A', leaseMs: 30_000, kinds: ['test.kind'] });
      assert.deepEqual(
        first.map((j) => [j.id, j.state, j.leaseOwner, j.leaseUntil?.toISOString()]),
        [['job-0001', 'running', 'A', at(45).toISOString()]],
      );
      // The lease of job 1 runs until 45 s: nobody else gets it before then.
      const second = await s.claimJobs({ now: at(30), limit: 10, owner: 'B', leaseMs: 30_000 });
      assert.deepEqual(
        second.map((j) => j.id),
        ['job-0003', 'job-0002'],
      );
      // A's runner died: after its lease, B takes job 1 over (progress and attempts kept).
      await s.updateJob('job-0001', { progress: { step1: true } }, null);
      const third = await s.claimJobs({ now: at(46), limit: 10, owner: 'B', leaseMs: 1000, kinds: ['test.kind'] });
      assert.deepEqual(
        third.map((j) => [j.id, j.leaseOwner, j.progress]),
        [['job-0001', 'B', { step1: true }]],
        'only job 1 (lease expired at 45 s); jobs 2 and 3 are leased until 60 s',
      );
      assert.deepEqual(await s.claimJobs({ now: at(46), limit: 10, owner: 'C', leaseMs: 1000, kinds: [] }), []);
      await s.updateJob('job-0002', { state: 'done' }, null);
      assert.deepEqual(
        (await s.claimJobs({ now: at(1000), limit: 10, owner: 'C', leaseMs: 1000 })).map((j) => j.id).sort(),
        ['job-0001', 'job-0003'],
        'done jobs are never claimed; expired leases are',
      );
    });

    withStore('two stores claiming concurrently never get the same job', async (s, fx) => {
      const other = await fx.open();
      try {
        const N = 60;
        for (let i = 1; i <= N; i++) await s.enqueueJob(job(i), who());
        const claimed: Record<string, string[]> = { A: [], B: [] };
        const claimer = async (store: Store, owner: string): Promise<void> => {
          for (;;) {
            const got = await store.claimJobs({ now: at(1), limit: 3, owner, leaseMs: 60_000 });
            if (got.length === 0) return;
            for (const j of got) assert.equal(j.leaseOwner, owner);
            claimed[owner].push(...got.map((j) => j.id));
          }
        };
        await Promise.all([claimer(s, 'A'), claimer(other, 'B'), claimer(s, 'A'), claimer(other, 'B')]);
        const all = [...claimed.A, ...claimed.B];
        assert.equal(new Set(all).size, all.length, 'a job was handed to two claimers');
        assert.equal(all.length, N);
        // Each row says who holds it, and that is the claimer that got it.
        for (const owner of ['A', 'B'])
          for (const id of claimed[owner]) assert.equal((await s.getJob(id))?.leaseOwner, owner);
      } finally {
        await other.close();
      }
    });

    withStore('updateJob: a step is audited in the same transaction; ifLeaseOwner guards a lost lease', async (s) => {
      await s.enqueueJob(job(1), who());
      await s.claimJobs({ now: at(1), limit: 1, owner: 'A', leaseMs: 1000 });
      const before = (await s.getAuditHead()).seq;
      const renewed = await s.updateJob('job-0001', { leaseUntil: at(100), ifLeaseOwner: 'A' }, null);
      assert.equal(renewed.leaseUntil?.toISOString(), at(100).toISOString());
      assert.equal((await s.getAuditHead()).seq, before, 'no step, no audit record');
      const stepped = await s.updateJob('job-0001', { progress: { a: 1 }, ifLeaseOwner: 'A' }, who(2), {
        action: 'job.step',
        detail: { name: 'first', detail: { x: 1 } },
      });
      assert.deepEqual(stepped.progress, { a: 1 });
      const rec = (await allAudit(s)).at(-1)!;
      assert.deepEqual(
        [rec.seq, rec.action, rec.subject, rec.actor],
        [before + 1, 'job.step', 'job:job-0001', 'alice'],
      );
      assert.deepEqual(rec.detail, { job: 'job-0001', kind: 'test.kind', name: 'first', detail: { x: 1 } });

      // B took the job over: A's late writes change nothing and write no audit record.
      await s.claimJobs({ now: at(200), limit: 1, owner: 'B', leaseMs: 1000 });
      await rejectsCode(
        s.updateJob('job-0001', { state: 'done', ifLeaseOwner: 'A' }, who(3), { action: 'job.done', detail: {} }),
        'ERR_STORE_CONFLICT',
      );
      assert.equal((await s.getJob('job-0001'))?.state, 'running');
      assert.equal((await s.getAuditHead()).seq, before + 1);

      // A step with an action outside job.* or without an actor is refused; nothing is written.
      await rejectsCode(
        s.updateJob('job-0001', { state: 'dead' }, who(4), { action: 'chain.delete', detail: {} }),
        'ERR_STORE_INVALID',
      );
      await rejectsCode(
        s.updateJob('job-0001', { state: 'dead' }, null, { action: 'job.dead', detail: {} }),
        'ERR_STORE_INVALID',
      );
      assert.equal((await s.getJob('job-0001'))?.state, 'running');
      await rejectsCode(s.updateJob('nope', { state: 'done' }, null), 'ERR_STORE_NOT_FOUND');
      await rejectsCode(s.updateJob('job-0001', { state: 'finished' as 'done' }, null), 'ERR_STORE_INVALID');

      const done = await s.updateJob(
        'job-0001',
        { state: 'done', result: { ok: 1 }, leaseOwner: null, leaseUntil: null, ifLeaseOwner: 'B' },
        who(5),
        { action: 'job.done', detail: { result: { ok: 1 } } },
      );
      assert.deepEqual([done.state, done.result, done.leaseOwner, done.leaseUntil], ['done', { ok: 1 }, null, null]);
      assert.equal(verifyAuditLog(await allAudit(s), [], () => true).ok, true);
    });

    withStore('listJobs filters by state, kind and chain and pages by id; countJobs counts by state', async (s) => {
      for (let i = 1; i <= 5; i++)
        await s.enqueueJob(job(i, { kind: i % 2 ? 'odd' : 'even', chainId: i <= 2 ? 'c1' : null }), who());
      await s.updateJob('job-0003', { state: 'dead' }, null);
      const ids = async (q: Parameters<Store['listJobs']>[0]) => (await s.listJobs(q)).map((j) => j.id);
      assert.deepEqual(await ids({ limit: 10 }), ['job-0001', 'job-0002', 'job-0003', 'job-0004', 'job-0005']);
      assert.deepEqual(await ids({ limit: 2, after: 'job-0002' }), ['job-0003', 'job-0004']);
      assert.deepEqual(await ids({ limit: 10, kind: 'odd' }), ['job-0001', 'job-0003', 'job-0005']);
      assert.deepEqual(await ids({ limit: 10, state: 'dead' }), ['job-0003']);
      assert.deepEqual(await ids({ limit: 10, chainId: 'c1', kind: 'even' }), ['job-0002']);
      assert.deepEqual(await s.countJobs(), { pending: 4, running: 0, done: 0, dead: 1 });
    });

    withStore('webhooks: create, get, list, delete — each change audited', async (s) => {
      const w = await s.createWebhook(
        { id: 'wh-b', url: 'https://example.test/hook', chainId: 'c1', events: ['element.revoked'], createdAt: at(1) },
        who(1),
      );
      assert.deepEqual(w, {
        id: 'wh-b',
        url: 'https://example.test/hook',
        chainId: 'c1',
        events: ['element.revoked'],
        createdAt: at(1),
      });
      await s.createWebhook(
        { id: 'wh-a', url: 'http://127.0.0.1:1/', chainId: null, events: null, createdAt: at(2) },
        who(2),
      );
      await rejectsCode(
        s.createWebhook({ id: 'wh-a', url: 'http://x/', chainId: null, events: null, createdAt: at(3) }, who(3)),
        'ERR_STORE_DUPLICATE',
      );
      assert.deepEqual(
        (await s.listWebhooks()).map((x) => [x.id, x.chainId, x.events]),
        [
          ['wh-a', null, null],
          ['wh-b', 'c1', ['element.revoked']],
        ],
      );
      assert.equal((await s.getWebhook('wh-b'))?.url, 'https://example.test/hook');
      await s.deleteWebhook('wh-b', who(4));
      assert.equal(await s.getWebhook('wh-b'), undefined);
      await rejectsCode(s.deleteWebhook('wh-b', who(5)), 'ERR_STORE_NOT_FOUND');
      const audit = await allAudit(s);
      assert.deepEqual(
        audit.map((r) => [r.action, r.subject]),
        [
          ['webhook.create', 'webhook:wh-b'],
          ['webhook.create', 'webhook:wh-a'],
          ['webhook.delete', 'webhook:wh-b'],
        ],
      );
      assert.equal(verifyAuditLog(audit, [], () => true).ok, true);
    });
  });
}
