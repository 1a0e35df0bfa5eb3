import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { StoreError } from '../../store/errors.ts';
import type { AuditActor, JobRow, Store } from '../../store/types.ts';
import { backoffDelay, type Backoff } from './backoff.ts';
import { PermanentJobError } from './errors.ts';
import { newJobId } from './job-id.ts';

export { PermanentJobError } from './errors.ts';
export type { Backoff } from './backoff.ts';

/** What a handler gets for one run of a job. */
export interface JobContext {
  readonly job: JobRow;
  /** The progress recorded so far (by this run's steps, and by earlier runs that crashed or failed). */
  readonly progress: Record<string, unknown>;
  /**
   * Aborted when the runner stops or loses the job's lease to another runner: a handler should give up
   * soon (an aborted run is not counted as a failed attempt when the runner is stopping).
   */
  readonly signal: AbortSignal;
  /**
   * Merges `progress` into the job's progress, persists it and writes one audit record `job.step`
   * {name, detail} — one transaction. A handler resumed after a crash reads ctx.progress to skip the
   * steps already done.
   */
  step(name: string, detail?: unknown, progress?: Record<string, unknown>): Promise<void>;
}

/** Resolves with the job's result (JSON; undefined is stored as null); throws to fail the attempt. */
export type JobHandler = (ctx: JobContext) => Promise<unknown>;

/** The part of a pino/fastify logger the runner uses. */
export interface JobLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface JobRunnerOptions {
  store: Store;
  clock?: () => Date;
  log?: JobLogger;
  /** This runner's name in leases (default host:pid:random). */
  owner?: string;
  /** How often the store is polled for due jobs (ms, default 1000); enqueue wakes the loop at once. */
  pollMs?: number;
  /** How long a claim holds a job (ms, default 30 s); renewed every leaseMs/3 while the handler runs. */
  leaseMs?: number;
  /** Handlers running at once (default 4): a hanging one holds one slot only. */
  concurrency?: number;
  /** Delay before a retry (default base 1 s, max 5 min), see backoffDelay. */
  backoff?: Backoff;
  /** Called with the job after every state change this runner makes (enqueue, done, retry, dead). */
  onChange?: (job: JobRow) => void;
  /** Tests: the jitter source (default Math.random). */
  random?: () => number;
}

export interface EnqueueRequest {
  kind: string;
  /** Idempotency key: a second enqueue with the same key returns the first job (created = false). */
  key: string;
  chainId?: string | null;
  payload: unknown;
  /** Default 5. */
  maxAttempts?: number;
  /** Due this long from now (default 0). */
  delayMs?: number;
}

const silent: JobLogger = { warn() {}, error() {} };
/**
 * Crash tests (test/e2e/selfmanage-crash.test.ts): with CATENA_FAILPOINT=step:NAME the process kills
 * itself (SIGKILL, nothing flushed) right after the step NAME is committed — a manager dying mid-job.
 */
function crashAt(point: string): void {
  if (process.env.CATENA_FAILPOINT === point) process.kill(process.pid, 'SIGKILL');
}

/** How a failure is recorded (lastError, audit): the error's class, its stable code when it has one, its message. */
const message = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_')
    ? `${e.name} (${code}): ${e.message}`
    : `${e.name}: ${e.message}`;
};
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A durable job runner over the Store: jobs survive restarts (rows in the store), are claimed under a
 * lease (a crashed runner's jobs are taken over once the lease expires), retried with exponential
 * backoff, and every step and outcome is an audit record. Handlers run concurrently (`concurrency`
 * slots), so one that hangs does not hold up the others.
 */
export class JobRunner {
  readonly owner: string;
  readonly #store: Store;
  readonly #clock: () => Date;
  readonly #log: JobLogger;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #concurrency: number;
  readonly #backoff: Backoff;
  readonly #onChange: ((job: JobRow) => void) | undefined;
  readonly #random: () => number;
  readonly #handlers = new Map<string, JobHandler>();
  readonly #active = new Map<string, { done: Promise<void>; abort: AbortController }>();
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #woken = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: JobRunnerOptions) {
    this.#store = o.store;
    this.#clock = o.clock ?? (() => new Date());
    this.#log = o.log ?? silent;
    this.owner = o.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#pollMs = Math.max(1, o.pollMs ?? 1000);
    this.#leaseMs = Math.max(1, Math.trunc(o.leaseMs ?? 30_000));
    this.#concurrency = Math.max(1, Math.trunc(o.concurrency ?? 4));
    this.#backoff = o.backoff ?? { baseMs: 1000, maxMs: 300_000 };
    this.#onChange = o.onChange;
    this.#random = o.random ?? Math.random;
  }

  /** The audit actor of what this runner writes. */
  #who(): AuditActor {
    return { actor: `job-runner:${this.owner}`, at: this.#clock() };
  }

  #changed(job: JobRow): void {
    try {
      this.#onChange?.(job);
    } catch (err) {
      this.#log.error({ err, job: job.id }, 'job onChange listener failed');
    }
  }

  register(kind: string, handler: JobHandler): void {
    if (this.#handlers.has(kind)) throw new Error(`a handler for job kind ${kind} is already registered`);
    this.#handlers.set(kind, handler);
  }

  async enqueue(j: EnqueueRequest, actor: string): Promise<{ job: JobRow; created: boolean }> {
    const now = this.#clock();
    const r = await this.#store.enqueueJob(
      {
        id: newJobId(now),
        kind: j.kind,
        key: j.key,
        chainId: j.chainId ?? null,
        payload: j.payload,
        maxAttempts: j.maxAttempts ?? 5,
        nextAt: new Date(now.getTime() + Math.max(0, j.delayMs ?? 0)),
      },
      { actor, at: now },
    );
    if (r.created) {
      this.#changed(r.job);
      this.#wakeUp();
    }
    return r;
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#runLoop();
  }

  /** Stops claiming, aborts the running handlers' signals and waits for them to end. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeUp();
    await this.#loop;
    this.#loop = undefined;
    for (const a of this.#active.values()) a.abort.abort(new Error('the job runner is stopping'));
    await Promise.all([...this.#active.values()].map((a) => a.done));
    this.#stopping = false;
  }

  /** One pass: claims the due jobs (up to the free slots), runs them, resolves when they ended. */
  async runDue(): Promise<number> {
    const started = await this.#fill();
    await Promise.all(started);
    return started.length;
  }

  /** Claims at once instead of at the next poll (e.g. after a job was made due again). */
  wake(): void {
    this.#wakeUp();
  }

  #wakeUp(): void {
    clearTimeout(this.#timer);
    const w = this.#wake;
    this.#wake = undefined;
    // Nobody waiting (the loop is claiming): it claims again before it sleeps.
    if (w) w();
    else this.#woken = true;
  }

  async #runLoop(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false;
      try {
        // Started, not awaited: the loop claims again as soon as a slot frees (#wakeUp).
        void (await this.#fill());
      } catch (err) {
        this.#log.error({ err }, 'claiming jobs failed');
      }
      if (this.#stopping) break;
      if (this.#woken) {
        this.#woken = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, this.#pollMs);
      });
    }
  }

  /** Claims as many due jobs as there are free slots and starts them; their completions. */
  async #fill(): Promise<Promise<void>[]> {
    const free = this.#concurrency - this.#active.size;
    if (free <= 0 || this.#stopping || this.#handlers.size === 0) return [];
    const jobs = await this.#store.claimJobs({
      now: this.#clock(),
      limit: free,
      owner: this.owner,
      leaseMs: this.#leaseMs,
      kinds: [...this.#handlers.keys()],
    });
    return jobs.map((job) => {
      const abort = new AbortController();
      const done = this.#run(job, abort).finally(() => {
        this.#active.delete(job.id);
        this.#wakeUp();
      });
      this.#active.set(job.id, { done, abort });
      return done;
    });
  }

  async #run(job: JobRow, abort: AbortController): Promise<void> {
    const store = this.#store;
    const owner = this.owner;
    let progress: Record<string, unknown> = isRecord(job.progress) ? { ...job.progress } : {};
    let lost = false;
    let renewing: Promise<void> = Promise.resolve();
    const renew = setInterval(
      () => {
        renewing = renewing
          .then(() =>
            store.updateJob(
              job.id,
              { leaseUntil: new Date(this.#clock().getTime() + this.#leaseMs), ifLeaseOwner: owner },
              null,
            ),
          )
          .then(
            () => undefined,
            (err: unknown) => {
              if (err instanceof StoreError && err.code === 'ERR_STORE_CONFLICT') {
                lost = true;
                abort.abort(new Error(`lease of job ${job.id} lost`));
              }
              this.#log.warn({ err, job: job.id }, 'renewing a job lease failed');
            },
          );
      },
      Math.max(1, Math.floor(this.#leaseMs / 3)),
    );
    const ctx: JobContext = {
      job,
      get progress() {
        return progress;
      },
      signal: abort.signal,
      step: async (name, detail, patch) => {
        const next = { ...progress, ...(patch ?? {}) };
        await store.updateJob(job.id, { progress: next, ifLeaseOwner: owner }, this.#who(), {
          action: 'job.step',
          detail: { name, detail: detail ?? null },
        });
        progress = next;
        crashAt(`step:${name}`);
      },
    };
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      const handler = this.#handlers.get(job.kind);
      if (!handler) throw new PermanentJobError(`no handler for job kind ${job.kind}`);
      outcome = { ok: true, value: await handler(ctx) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearInterval(renew);
      await renewing;
    }
    if (lost) return; // another runner holds the job now: its outcome is that runner's to write
    try {
      this.#changed(await this.#finish(job, outcome, abort.signal.aborted && this.#stopping));
    } catch (err) {
      // A conflict: the lease expired and another runner took the job meanwhile (it will finish it).
      this.#log.warn({ err, job: job.id }, 'recording a job outcome failed');
    }
  }

  #finish(
    job: JobRow,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown },
    released: boolean,
  ): Promise<JobRow> {
    const store = this.#store;
    const release = { leaseOwner: null, leaseUntil: null, ifLeaseOwner: this.owner };
    if (outcome.ok) {
      const result = outcome.value === undefined ? null : outcome.value;
      return store.updateJob(job.id, { ...release, state: 'done', result, lastError: null }, this.#who(), {
        action: 'job.done',
        detail: { attempts: job.attempts, result },
      });
    }
    const error = message(outcome.error);
    if (released) {
      // Stopped mid-run (shutdown): not the job's fault; it is due again at once, for any runner.
      return store.updateJob(job.id, { ...release, state: 'pending', nextAt: this.#clock() }, null);
    }
    const attempts = job.attempts + 1;
    if (outcome.error instanceof PermanentJobError || attempts >= job.maxAttempts) {
      return store.updateJob(job.id, { ...release, state: 'dead', attempts, lastError: error }, this.#who(), {
        action: 'job.dead',
        detail: { attempts, error, permanent: outcome.error instanceof PermanentJobError },
      });
    }
    const nextAt = new Date(this.#clock().getTime() + backoffDelay(attempts, this.#backoff, this.#random));
    return store.updateJob(job.id, { ...release, state: 'pending', attempts, nextAt, lastError: error }, this.#who(), {
      action: 'job.step',
      detail: { name: 'attempt.failed', attempt: attempts, error, retryAt: nextAt.toISOString() },
    });
  }
}
