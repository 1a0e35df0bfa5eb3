import { workerExecArgv } from '../sgx/runtime/worker-exec-argv.ts';
import { Worker } from 'node:worker_threads';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob, Link } from '../chain/types.ts';
import { fromHex } from '../bytes/util.ts';
import type { VerifyReply, VerifyRequest } from './verifier-worker.ts';

const BOOTSTRAP = new URL('./verifier-worker-bootstrap.js', import.meta.url);
/** Collateral sets a worker keeps (the oldest is dropped first; it is sent again if used again). */
const COLLATERAL_PER_WORKER = 16;
const START_TIMEOUT_MS = 60_000;

/** A quote verification and, when asked for, a link signature verdict (null: not computable there). */
export interface PooledResult {
  result: RemoteEvidenceResult;
  signature?: boolean | null;
}

interface PoolWorker {
  worker: Worker;
  ready: Promise<void>;
  alive: boolean;
  calls: Map<number, { resolve: (r: PooledResult) => void; reject: (e: Error) => void }>;
  /** Collateral ids this worker holds, oldest first. */
  sent: number[];
}

/**
 * A RemoteEvidenceVerifier that runs Catena's DCAP verifier (one warm instance per thread, trusting
 * exactly `root`) in worker threads, so quote verifications of concurrent appends run on other
 * cores than the manager's event loop. Same verifier code, same inputs, same result; a worker that
 * fails or does not start sends its calls to `fallback` (the in-process verifier) instead.
 */
export class VerifierPool implements RemoteEvidenceVerifier {
  private readonly workers: PoolWorker[] = [];
  private readonly collateralIds = new WeakMap<CollateralBlob, number>();
  private nextCollateralId = 1;
  private nextCallId = 1;
  private closed = false;

  constructor(
    root: Uint8Array,
    threads: number,
    private readonly fallback: RemoteEvidenceVerifier,
  ) {
    for (let i = 0; i < threads; i++) this.workers.push(this.start(root));
  }

  private start(root: Uint8Array): PoolWorker {
    let worker: Worker;
    try {
      worker = new Worker(BOOTSTRAP, { workerData: { root }, execArgv: workerExecArgv() });
    } catch {
      // Node flags a worker refuses (e.g. V8 heap flags given to the manager's process): none then.
      worker = new Worker(BOOTSTRAP, { workerData: { root }, execArgv: [] });
    }
    const w: PoolWorker = { worker, ready: Promise.resolve(), alive: true, calls: new Map(), sent: [] };
    const fail = (why: string) => {
      if (!w.alive) return;
      w.alive = false;
      for (const c of w.calls.values()) c.reject(new Error(why));
      w.calls.clear();
    };
    w.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail('verifier worker did not start in time');
        reject(new Error('verifier worker did not start in time'));
        void worker.terminate();
      }, START_TIMEOUT_MS);
      timer.unref();
      worker.on('message', (m: VerifyReply | { ready: true }) => {
        if ('ready' in m) {
          clearTimeout(timer);
          if (w.calls.size === 0) worker.unref();
          resolve();
          return;
        }
        const c = w.calls.get(m.id);
        if (!c) return;
        w.calls.delete(m.id);
        if (w.calls.size === 0) worker.unref();
        if (m.ok)
          c.resolve(m.signature !== undefined ? { result: m.result, signature: m.signature } : { result: m.result });
        else c.reject(new Error(m.message));
      });
      worker.on('error', (e) => {
        clearTimeout(timer);
        fail(`verifier worker failed: ${e.message}`);
        reject(e);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        fail(`verifier worker exited (${code})`);
        reject(new Error(`verifier worker exited (${code})`));
      });
    });
    w.ready.catch(() => {});
    // Referenced while starting (a verify() may be waiting for it), then only while calls are in flight.
    return w;
  }

  /** Threads still serving calls. */
  get liveThreads(): number {
    return this.workers.filter((w) => w.alive).length;
  }

  async verify(quote: Uint8Array, collateral: CollateralBlob, at: Date): Promise<RemoteEvidenceResult> {
    return (await this.run(quote, collateral, at)).result;
  }

  /**
   * A remote link's quote verification (from its evidence hex) together with the check that `key`
   * (hex X‖Y) signed the link, both off this thread: the signature verdict is what LinkChecker's own
   * p256Verify over linkSigningBytes would give, or null where it would fail on format first.
   */
  verifyLink(
    link: Link & { evidence: { kind: 'dcap-quote' } },
    key: string,
    collateral: CollateralBlob,
    at: Date,
  ): Promise<PooledResult> {
    return this.run(undefined, collateral, at, link, key);
  }

  private async run(
    quote: Uint8Array | undefined,
    collateral: CollateralBlob,
    at: Date,
    link?: Link,
    key?: string,
  ): Promise<PooledResult> {
    const live = this.closed ? [] : this.workers.filter((w) => w.alive);
    // The least busy thread.
    let w = live[0];
    for (const x of live) if (x.calls.size < w.calls.size) w = x;
    if (w) {
      try {
        await w.ready;
        return await this.call(w, quote, collateral, at, link, key);
      } catch {
        // A worker that died or never started: the same verification in this thread (below).
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = quote ?? fromHex(link?.evidence.kind === 'dcap-quote' ? link.evidence.quote : '');
    } catch (e) {
      return { result: { ok: false, check: 'format', message: (e as Error).message } };
    }
    // No signature verdict: the link's checker verifies it itself.
    return { result: await this.fallback.verify(bytes, collateral, at), ...(link ? { signature: null } : {}) };
  }

  private call(
    w: PoolWorker,
    quote: Uint8Array | undefined,
    collateral: CollateralBlob,
    at: Date,
    link?: Link,
    key?: string,
  ): Promise<PooledResult> {
    if (!w.alive) return Promise.reject(new Error('verifier worker gone'));
    let cid = this.collateralIds.get(collateral);
    if (cid === undefined) this.collateralIds.set(collateral, (cid = this.nextCollateralId++));
    const msg: VerifyRequest = {
      id: this.nextCallId++,
      collateralId: cid,
      at: at.getTime(),
      ...(quote ? { quote } : {}),
      ...(link && key !== undefined ? { link, key } : {}),
    };
    if (!w.sent.includes(cid)) {
      msg.collateral = collateral;
      w.sent.push(cid);
      if (w.sent.length > COLLATERAL_PER_WORKER) msg.drop = w.sent.splice(0, w.sent.length - COLLATERAL_PER_WORKER);
    }
    return new Promise<PooledResult>((resolve, reject) => {
      w.calls.set(msg.id, { resolve, reject });
      w.worker.ref();
      try {
        w.worker.postMessage(msg);
      } catch (e) {
        w.calls.delete(msg.id);
        w.sent = w.sent.filter((x) => x !== cid);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.workers.map(async (w) => {
        w.alive = false;
        for (const c of w.calls.values()) c.reject(new Error('verifier pool closed'));
        w.calls.clear();
        await w.worker.terminate();
      }),
    );
  }
}
