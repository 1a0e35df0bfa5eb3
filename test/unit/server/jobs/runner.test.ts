import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../../src/store/open-store.ts';
import { verifyAuditLog, type AuditRecord, type JobRow, type Store } from '../../../../src/store/index.ts';
import { backoffDelay } from '../../../../src/server/jobs/backoff.ts';
import { JobRunner, PermanentJobError, type JobContext } from '../../../../src/server/jobs/runner.ts';

const T0 = Date.parse('2026-02-01T00:00:00.000Z');

/** A store on a temp SQLite file and a clock the test moves. */
async function setup(): Promise<{ dir: string; store: Store; clock: { now: number; fn: () => Date } }> {
  const dir = await mkdtemp(join(tmpdir(), 'catena-runner-'));
  const store = await openStore(join(dir, 'j.db'));
  const clock = { now: T0, fn: () => new Date(clock.now) };
  return { dir, store, clock };
}

const audit = async (s: Store): Promise<AuditRecord[]> => s.listAudit({ limit: 10_000 });
const jobAudit = async (s: Store, id: string) =>
  (await audit(s))
    .filter((r) => r.subject === `job:${id}`)
    .map((r) => [r.action, (r.detail as { name?: string }).name]);

async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test('backoffDelay: doubling steps from baseMs, capped at maxMs, with jitter in [step/2, step]', () => {
  const b = { baseMs: 100, maxMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, b, () => 0)),
    [50, 100, 200, 400, 500, 500],
  );
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, b, () => 0.999999)),
    [100, 200, 400, 800, 1000, 1000],
  );
});

test('a failing job is retried with exponential backoff, then done; each outcome is audited', async () => {
  const { dir, store, clock } = await setup();
  try {
    const runner = new JobRunner({
      store,
      clock: clock.fn,
      backoff: { baseMs: 1000, maxMs: 60_000 },
      random: () => 0.5,
    });
    let calls = 0;
    runner.register('flaky', async (ctx) => {
      calls++;
      if (calls < 3) throw new Error(`boom ${calls}`);
      return { ok: (ctx.job.payload as { n: number }).n };
    });
    const { job } = await runner.enqueue({ kind: 'flaky', key: 'k1', payload: { n: 7 } }, 'alice');
    assert.equal(await runner.runDue(), 1);
    let row = (await store.getJob(job.id))!;
    assert.deepEqual([row.state, row.attempts, row.lastError], ['pending', 1, 'Error: boom 1']);
    assert.equal(row.nextAt.getTime() - clock.now, 750, 'step 1000 ms, jitter 0.5 → 750 ms');
    assert.equal(row.leaseOwner, null);
    assert.equal(await runner.runDue(), 0, 'not due before its backoff');
    clock.now += 750;
    assert.equal(await runner.runDue(), 1);
    row = (await store.getJob(job.id))!;
    assert.deepEqual([row.state, row.attempts], ['pending', 2]);
    assert.equal(row.nextAt.getTime() - clock.now, 1500, 'the step doubled: 2000 ms → 1500 ms');
    clock.now += 1500;
    assert.equal(await runner.runDue(), 1);
    row = (await store.getJob(job.id))!;
    assert.deepEqual([row.state, row.attempts, row.result, row.lastError], ['done', 2, { ok: 7 }, null]);
    assert.deepEqual(await jobAudit(store, job.id), [
      ['job.enqueue', undefined],
      ['job.step', 'attempt.failed'],
      ['job.step', 'attempt.failed'],
      ['job.done', undefined],
    ]);
    assert.equal(await runner.runDue(), 0, 'a done job never runs again');
    assert.equal(calls, 3);
    assert.equal(verifyAuditLog(await audit(store), [], () => true).ok, true);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('after maxAttempts failures a job is dead (audited job.dead) and never runs again', async () => {
  const { dir, store, clock } = await setup();
  try {
    const changes: string[] = [];
    const runner = new JobRunner({
      store,
      clock: clock.fn,
      backoff: { baseMs: 10, maxMs: 10 },
      onChange: (j) => changes.push(j.state),
    });
    let calls = 0;
    runner.register('bad', async () => {
      calls++;
      throw new Error('always');
    });
    const { job } = await runner.enqueue({ kind: 'bad', key: 'k', payload: null, maxAttempts: 2 }, 'alice');
    await runner.runDue();
    clock.now += 10;
    await runner.runDue();
    clock.now += 1_000_000;
    assert.equal(await runner.runDue(), 0);
    const row = (await store.getJob(job.id))!;
    assert.deepEqual([row.state, row.attempts, row.lastError, calls], ['dead', 2, 'Error: always', 2]);
    assert.deepEqual(changes, ['pending', 'pending', 'dead']);
    const dead = (await audit(store)).at(-1)!;
    assert.equal(dead.action, 'job.dead');
    assert.deepEqual(dead.detail, { job: job.id, kind: 'bad', attempts: 2, error: 'Error: always', permanent: false });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('PermanentJobError (ERR_JOB_PERMANENT) sends a job to dead at once', async () => {
  const { dir, store, clock } = await setup();
  try {
    const runner = new JobRunner({ store, clock: clock.fn });
    const err = new PermanentJobError('the target is gone');
    assert.equal(err.code, 'ERR_JOB_PERMANENT');
    runner.register('doomed', async () => {
      throw err;
    });
    const { job } = await runner.enqueue({ kind: 'doomed', key: 'k', payload: null, maxAttempts: 10 }, 'alice');
    await runner.runDue();
    const row = (await store.getJob(job.id))!;
    assert.deepEqual([row.state, row.attempts], ['dead', 1]);
    assert.match(row.lastError!, /the target is gone/);
    assert.deepEqual((await audit(store)).at(-1)!.detail, {
      job: job.id,
      kind: 'doomed',
      attempts: 1,
      error: 'PermanentJobError (ERR_JOB_PERMANENT): the target is gone',
      permanent: true,
    });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('enqueue is idempotent on its key: one job, one run', async () => {
  const { dir, store, clock } = await setup();
  try {
    const runner = new JobRunner({ store, clock: clock.fn });
    let calls = 0;
    runner.register('once', async () => ++calls);
    const a = await runner.enqueue({ kind: 'once', key: 'same', payload: 1 }, 'alice');
    const b = await runner.enqueue({ kind: 'once', key: 'same', payload: 2 }, 'bob');
    assert.deepEqual([a.created, b.created, b.job.id, b.job.payload], [true, false, a.job.id, 1]);
    await runner.runDue();
    await runner.enqueue({ kind: 'once', key: 'same', payload: 3 }, 'carol');
    await runner.runDue();
    assert.equal(calls, 1);
    assert.equal((await store.listJobs({ limit: 10 })).length, 1);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a job whose runner died mid-handler is resumed by a new runner after its lease, from its recorded progress', async () => {
  const { dir, store, clock } = await setup();
  const warnings: unknown[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let stepsDone!: () => void;
  const atGate = new Promise<void>((r) => (stepsDone = r));
  const done: Record<string, number> = { a: 0, b: 0, c: 0 };
  const seen: Record<string, unknown>[] = [];
  // The handler: three steps; a resumed run skips the ones its progress names.
  const handler = (crash: boolean) => async (ctx: JobContext) => {
    seen.push({ ...ctx.progress });
    for (const name of ['a', 'b', 'c']) {
      if (ctx.progress[name]) continue;
      done[name]++;
      await ctx.step(name, { run: crash ? 1 : 2 }, { [name]: true });
      if (crash && name === 'b') {
        stepsDone();
        await gate; // the process "dies" here: the handler never returns (until the test lets it)
      }
    }
    return { finishedBy: crash ? 'first' : 'second' };
  };
  const log = { warn: (o: object, msg?: string) => warnings.push(msg), error: () => {} };
  const first = new JobRunner({ store, clock: clock.fn, leaseMs: 60_000, owner: 'first', log });
  first.register('migrate', handler(true));
  const { job } = await first.enqueue({ kind: 'migrate', key: 'm1', payload: null }, 'alice');
  const firstRun = first.runDue();
  await atGate;
  // A restart: a new store instance on the same database, a new runner, after the dead one's lease.
  const store2 = await openStore(join(dir, 'j.db'));
  try {
    clock.now += 60_001;
    const second = new JobRunner({ store: store2, clock: clock.fn, leaseMs: 60_000, owner: 'second' });
    second.register('migrate', handler(false));
    assert.equal(await second.runDue(), 1);
    const row = (await store2.getJob(job.id))!;
    assert.deepEqual([row.state, row.result, row.attempts], ['done', { finishedBy: 'second' }, 0]);
    assert.deepEqual(seen, [{}, { a: true, b: true }], 'the resumed handler saw the first run’s progress');
    assert.deepEqual(done, { a: 1, b: 1, c: 1 }, 'every step ran exactly once');
    // The zombie wakes up and finishes: it no longer holds the lease, so it changes nothing.
    const headBefore = await store2.getAuditHead();
    release();
    await firstRun;
    await first.stop();
    assert.deepEqual((await store2.getJob(job.id))!.result, { finishedBy: 'second' });
    assert.deepEqual(await store2.getAuditHead(), headBefore);
    assert.deepEqual(warnings, ['recording a job outcome failed'], 'the zombie was refused (lease lost)');
    assert.deepEqual(await jobAudit(store2, job.id), [
      ['job.enqueue', undefined],
      ['job.step', 'a'],
      ['job.step', 'b'],
      ['job.step', 'c'],
      ['job.done', undefined],
    ]);
    assert.equal(verifyAuditLog(await audit(store2), [], () => true).ok, true);
  } finally {
    await store2.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('leases are renewed while a handler runs', async () => {
  const { dir, store } = await setup();
  try {
    const runner = new JobRunner({ store, leaseMs: 300 });
    let release!: () => void;
    let started!: (j: JobRow) => void;
    const running = new Promise<JobRow>((r) => (started = r));
    runner.register('slow', async (ctx) => {
      started(ctx.job);
      await new Promise<void>((r) => (release = r));
    });
    await runner.enqueue({ kind: 'slow', key: 'k', payload: null }, 'alice');
    const pass = runner.runDue();
    const claimed = await running;
    await waitFor('a lease renewal', async () => {
      const until = (await store.getJob(claimed.id))!.leaseUntil;
      return until !== null && until.getTime() > claimed.leaseUntil!.getTime();
    });
    release();
    await pass;
    assert.equal((await store.getJob(claimed.id))!.state, 'done');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a hanging handler does not hold up other jobs; stop() aborts it and releases its job unharmed', async () => {
  const { dir, store } = await setup();
  try {
    const finished: string[] = [];
    const runner = new JobRunner({
      store,
      pollMs: 20,
      concurrency: 2,
      onChange: (j) => {
        if (j.state === 'done') finished.push(j.key);
      },
    });
    let hangStarted = false;
    runner.register('hang', (ctx) => {
      hangStarted = true;
      return new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    });
    runner.register('quick', async () => 'ok');
    runner.start();
    const hung = await runner.enqueue({ kind: 'hang', key: 'hang', payload: null }, 'alice');
    await waitFor('the hanging handler to start', () => hangStarted);
    for (let i = 0; i < 5; i++) await runner.enqueue({ kind: 'quick', key: `q${i}`, payload: null }, 'alice');
    await waitFor('the quick jobs', () => finished.length === 5);
    assert.equal((await store.getJob(hung.job.id))!.state, 'running', 'still hanging while the others finished');
    await runner.stop();
    const row = (await store.getJob(hung.job.id))!;
    assert.deepEqual([row.state, row.attempts, row.leaseOwner], ['pending', 0, null], 'released, not failed');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
