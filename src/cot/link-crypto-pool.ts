import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RemoteEvidenceResult } from '../chain/remote-verifier.ts';
import type { CollateralBlob, Link } from '../chain/types.ts';
import type { LinkCryptoPrefetcher, PrefetchedLinkCrypto } from '../chain/verify-bundle-v2.ts';
import { fromHex } from '../bytes/util.ts';
import { linkSigningBytes } from '../chain/signing.ts';
import { workerExecArgv } from '../sgx/runtime/worker-exec-argv.ts';
import type { LinkCryptoReply, LinkCryptoRequest } from './link-crypto-worker.ts';

type Job = { link: Link; key?: Uint8Array; collateral?: CollateralBlob; quote?: Uint8Array };

const maybe = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** Parent key (64), signature (64) and signing bytes of a link, or undefined where they cannot be made. */
function signParts(link: Link, key: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] | undefined {
  if (key.length !== 64) return undefined;
  const sig = maybe(() => fromHex(link.signature, 64));
  const data = sig && maybe(() => linkSigningBytes(link));
  return sig && data ? [key, sig, data] : undefined;
}

const BOOTSTRAP = new URL('./link-crypto-worker-bootstrap.js', import.meta.url);

interface PoolWorker {
  worker: Worker;
  busy: number;
  sentCollateral: Set<string>;
  calls: Map<number, (r: LinkCryptoReply['results']) => void>;
  failed?: Error;
}

/**
 * Worker threads (one per core by default) that check link signatures and DCAP quotes for the
 * streaming verifier of proof bundles v2 (`verifyBundleV2`'s prefetcher). Each runs the same code on
 * the same inputs as the verifier's own thread (p256Verify over linkSigningBytes, made on that thread from
 * the link it checks; Catena's DCAP
 * verifier trusting exactly `root`, warm per thread); a job a worker could not answer comes back
 * null and the verifier computes it itself, so the verdicts are the single-threaded ones.
 */
export class LinkCryptoPool implements LinkCryptoPrefetcher {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  /** Verdicts the workers computed (signatures and quotes), for tests and benchmarks. */
  answered = 0;

  constructor(root: Uint8Array, threads = availableParallelism()) {
    for (let i = 0; i < Math.max(1, threads); i++) {
      let worker: Worker;
      try {
        worker = new Worker(BOOTSTRAP, { workerData: { root }, execArgv: workerExecArgv() });
      } catch {
        worker = new Worker(BOOTSTRAP, { workerData: { root }, execArgv: [] });
      }
      const w: PoolWorker = { worker, busy: 0, sentCollateral: new Set(), calls: new Map() };
      worker.on('message', (m: LinkCryptoReply | { ready: true }) => {
        if ('ready' in m) return;
        const c = w.calls.get(m.id);
        w.calls.delete(m.id);
        w.busy--;
        for (const r of m.results) this.answered += (r.signature != null ? 1 : 0) + (r.remote != null ? 1 : 0);
        c?.(m.results);
      });
      const fail = (e: Error) => {
        w.failed = e;
        for (const c of w.calls.values()) c([]);
        w.calls.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`link-crypto worker exited (${code})`)));
      this.workers.push(w);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  /**
   * Links go to a worker chosen by their parent's key, so each parent's key is decoded by one thread
   * only (a decode costs about half a verification); the first link (no key) goes to the first worker.
   */
  start(batch: Job[], at: Date): PrefetchedLinkCrypto[] {
    const live = this.workers.filter((w) => !w.failed);
    if (!live.length) return batch.map(() => ({}));
    const groups = live.map(() => [] as number[]);
    batch.forEach((j, i) => groups[j.key ? (j.key[0] * 256 + j.key[1]) % live.length : 0].push(i));
    const out: PrefetchedLinkCrypto[] = batch.map(() => ({}));
    groups.forEach((idx, g) => {
      if (idx.length) this.send(live[g], idx, batch, at, out);
    });
    return out;
  }

  private send(w: PoolWorker, idx: number[], batch: Job[], at: Date, out: PrefetchedLinkCrypto[]): void {
    const collateral: Record<string, CollateralBlob> = {};
    // A worker gets bytes only, in one buffer handed over (not copied): per link the parent key, the
    // signature and the signing bytes (computed here, from the very link this thread checks), and the
    // quote. A link whose bytes cannot be made here (not canonical JSON, bad hex) gets no job: the
    // checker computes it itself and names the failure.
    const parts = idx.map((i) => {
      const { link, key, collateral: c, quote } = batch[i];
      const sign = key ? signParts(link, key) : undefined;
      const id = link.evidence.kind === 'dcap-quote' && c ? link.evidence.collateral : undefined;
      const q =
        id !== undefined ? (quote ?? maybe(() => fromHex((link.evidence as { quote: string }).quote))) : undefined;
      if (id !== undefined && q && !w.sentCollateral.has(id)) {
        w.sentCollateral.add(id);
        collateral[id] = c!;
      }
      return { sign, id: q ? id : undefined, q };
    });
    let size = 0;
    for (const p of parts) size += (p.sign ? 128 + p.sign[2].length : 0) + (p.q?.length ?? 0);
    const bytes = new Uint8Array(size);
    let at0 = 0;
    const put = (...bs: Uint8Array[]): [number, number] => {
      const from = at0;
      for (const b of bs) {
        bytes.set(b, at0);
        at0 += b.length;
      }
      return [from, at0 - from];
    };
    const jobs = parts.map((p) => ({
      ...(p.sign ? { sign: put(...p.sign) } : {}),
      ...(p.id !== undefined ? { collateralId: p.id, quote: put(p.q!) } : {}),
    }));
    const id = this.nextId++;
    const msg: LinkCryptoRequest = {
      id,
      at: at.getTime(),
      bytes: bytes.buffer,
      jobs,
      ...(Object.keys(collateral).length ? { collateral } : {}),
    };
    const results = new Promise<LinkCryptoReply['results']>((resolve) => {
      w.calls.set(id, resolve);
      w.busy++;
      try {
        w.worker.postMessage(msg, [msg.bytes]);
      } catch {
        w.calls.delete(id);
        w.busy--;
        resolve([]);
      }
    });
    jobs.forEach((j, k) => {
      out[idx[k]] = {
        ...(j.sign ? { signature: results.then((r) => r[k]?.signature ?? null) } : {}),
        ...(j.collateralId !== undefined
          ? { remote: results.then((r) => (r[k]?.remote ?? null) as RemoteEvidenceResult | null) }
          : {}),
      };
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
