import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { equal, fromHex } from '../bytes/util.ts';
import { linkSigningBytes } from '../chain/signing.ts';
import type { Link } from '../chain/types.ts';
import type { PrefetchedSignature } from '../chain/verify-bundle.ts';
import { workerExecArgv } from '../sgx/runtime/worker-exec-argv.ts';

/** Slots in shared memory: `slots` jobs of at most `slotBytes` each (4-byte length, key, signature, message). */
export interface LaneLayout {
  slots: number;
  slotBytes: number;
}

/** The shared memory's layout: Int32 control words, then the slots. */
export const LANE = {
  /** Control words: jobs posted so far, the close flag, then one state per slot. */
  tail: 0,
  closed: 1,
  state: 2,
  ctrlBytes: (l: LaneLayout) => 4 * (2 + l.slots),
  /** Bytes before a slot's message: length (4), parent key (64), signature (64). */
  head: 132,
  free: 0,
  posted: 1,
  valid: 2,
  invalid: 3,
  /** The worker could not answer (a key that does not decode …): the chain computes it. */
  unanswered: 4,
} as const;

const BOOTSTRAP = new URL('./signature-lane-bootstrap.js', import.meta.url);

/** How long a verdict is waited for before the lane is given up (the chain then verifies in-thread). */
const WAIT_MS = 10_000;

/**
 * One worker thread that checks link signatures ahead of the chain: `start(link, parentKey)` hands it
 * p256Verify(parent key, linkSigningBytes(link), signature) — the very computation LinkChecker makes —
 * and the chain, created with `prefetched: lane.prefetched`, reads the verdict when it checks that link
 * (in order, as always). A verdict is used only for the same link object and a key byte-identical to
 * the parent key the chain itself holds; anything the lane could not answer (a malformed signature,
 * a key that does not decode, an input too large for a slot, a lost worker) is computed in-thread, so
 * every verdict, failure and its named check is the single-threaded one.
 *
 * Jobs and verdicts pass through shared memory (no message per link, no event on this thread): a
 * chain build starts link k's check, makes link k + 1 (enclaves, the parent's checks and signature)
 * while the worker verifies, then appends link k — the verdict is waiting.
 */
export class SignatureLane {
  private readonly worker: Worker;
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;
  private tail = 0;
  /** `tail` when the worker was last woken. */
  private woken = 0;
  private broken = false;
  private readonly started = new Map<Link, { slot: number; key: Uint8Array }>();

  private constructor(
    private readonly layout: LaneLayout,
    private readonly batch: number,
  ) {
    const sab = new SharedArrayBuffer(LANE.ctrlBytes(layout) + layout.slots * layout.slotBytes);
    this.ctrl = new Int32Array(sab, 0, LANE.ctrlBytes(layout) / 4);
    this.data = new Uint8Array(sab, LANE.ctrlBytes(layout));
    const opts = { workerData: { sab, layout } };
    try {
      this.worker = new Worker(BOOTSTRAP, { ...opts, execArgv: workerExecArgv() });
    } catch {
      this.worker = new Worker(BOOTSTRAP, { ...opts, execArgv: [] });
    }
    this.worker.on('error', () => (this.broken = true));
    this.worker.on('exit', () => (this.broken = true));
    this.worker.unref();
  }

  /** A lane whose worker is up (its start-up is paid here, not by the first links). */
  static async open(opts: { layout?: LaneLayout; batch?: number } = {}): Promise<SignatureLane> {
    const layout = opts.layout ?? { slots: 32, slotBytes: 64 * 1024 };
    const lane = new SignatureLane(layout, Math.max(1, Math.min(opts.batch ?? 1, layout.slots)));
    await once(lane.worker, 'message');
    return lane;
  }

  /** Verdicts the worker computed, and how often and how long (ms) one was waited for (tests, benchmarks). */
  answered = 0;
  waits = 0;
  waitedMs = 0;

  /**
   * Starts the check of `link`'s signature under `parentKey` (64-byte X‖Y). Nothing is started when a
   * slot is not free or the inputs are not well-formed (LinkChecker then computes and names it).
   */
  start(link: Link, parentKey: Uint8Array): void {
    if (this.broken || this.started.has(link) || parentKey.length !== 64) return;
    const slot = this.tail % this.layout.slots;
    if (Atomics.load(this.ctrl, LANE.state + slot) !== LANE.free) return;
    let msg: Uint8Array;
    let sig: Uint8Array;
    try {
      sig = fromHex(link.signature, 64, 'link signature');
      msg = linkSigningBytes(link);
    } catch {
      return;
    }
    const at = slot * this.layout.slotBytes;
    if (LANE.head + msg.length > this.layout.slotBytes) return;
    new DataView(this.data.buffer, this.data.byteOffset + at, 4).setUint32(0, msg.length, true);
    this.data.set(parentKey, at + 4);
    this.data.set(sig, at + 68);
    this.data.set(msg, at + LANE.head);
    Atomics.store(this.ctrl, LANE.state + slot, LANE.posted);
    this.tail++;
    Atomics.store(this.ctrl, LANE.tail, this.tail);
    this.started.set(link, { slot, key: Uint8Array.from(parentKey) });
    if (this.tail - this.woken >= this.batch) this.wake();
  }

  /**
   * Wakes the worker for the jobs posted since the last wake. A worker that has caught up sleeps, and
   * waking it costs both threads a context switch (measured here, loaded machine: ≈ 18 µs of CPU per
   * wake-up, ≈ 6 µs per job woken by 8): it is woken once per `batch` jobs, and whenever a verdict it
   * was not woken for is wanted.
   */
  wake(): void {
    if (this.woken === this.tail) return;
    this.woken = this.tail;
    Atomics.notify(this.ctrl, LANE.tail);
  }

  /** The verdict for `link` (waiting for it if need be), then its slot is free; undefined: none. */
  private take(slot: number): boolean | undefined {
    const i = LANE.state + slot;
    let s = Atomics.load(this.ctrl, i);
    if (s === LANE.posted) {
      this.wake();
      this.waits++;
    }
    const t0 = performance.now();
    const until = t0 + WAIT_MS;
    while (s === LANE.posted && !this.broken) {
      const left = until - performance.now();
      if (left <= 0 || Atomics.wait(this.ctrl, i, LANE.posted, left) === 'timed-out') {
        this.broken = true; // the worker is lost or stalled: every later check is computed in-thread
        return undefined;
      }
      s = Atomics.load(this.ctrl, i);
    }
    if (s === LANE.posted) return undefined;
    this.waitedMs += performance.now() - t0;
    Atomics.store(this.ctrl, i, LANE.free);
    if (s === LANE.valid || s === LANE.invalid) {
      this.answered++;
      return s === LANE.valid;
    }
    return undefined;
  }

  /** For `Chain.create({ prefetched })`: the verdict started for this link object under this very key. */
  readonly prefetched: PrefetchedSignature = (link, key) => {
    const e = this.started.get(link);
    if (!e) return undefined;
    this.started.delete(link);
    const v = this.take(e.slot);
    return v === undefined || !equal(e.key, key) ? undefined : Promise.resolve(v);
  };

  /** Drops what was started for `link` (it will not be appended), freeing its slot. */
  cancel(link: Link): void {
    const e = this.started.get(link);
    if (!e) return;
    this.started.delete(link);
    this.take(e.slot);
  }

  async close(): Promise<void> {
    Atomics.store(this.ctrl, LANE.closed, 1);
    Atomics.notify(this.ctrl, LANE.tail);
    await this.worker.terminate();
  }
}
