import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob } from '../chain/types.ts';
import { Lru } from '../bytes/lru.ts';
import { p256PublicFromRaw, p256Verify } from '../crypto/ecdsa.ts';
import { createDcapRemoteVerifier } from './dcap-remote-verifier.ts';

/** Where in a request's `bytes` a job's key or quote is: [offset, length]. */
type Span = [number, number];

/**
 * Host → worker: a batch of links whose signature and quote to check at `at`, as spans of `bytes`:
 * `sign`, the parent key (64) ‖ the signature (64) ‖ the link's signing bytes; `quote`, the quote to
 * verify against the collateral `collateralId`.
 */
export interface LinkCryptoRequest {
  id: number;
  at: number;
  /** Collateral sent along the first time a worker needs it, by id (the bundle's collateral hash). */
  collateral?: Record<string, CollateralBlob>;
  bytes: ArrayBuffer;
  jobs: Array<{ sign?: Span; quote?: Span; collateralId?: string }>;
}
/** Per job: the signature verdict (null: it throws; undefined: not asked) and the quote's result without its report. */
export interface LinkCryptoReply {
  id: number;
  results: Array<{
    signature?: boolean | null;
    remote?:
      Omit<Extract<RemoteEvidenceResult, { ok: true }>, 'report'> | Extract<RemoteEvidenceResult, { ok: false }> | null;
  }>;
}

/** What one worker thread keeps: its warm DCAP verifier, the collateral it was sent, decoded parent keys. */
interface WorkerState {
  verifier: RemoteEvidenceVerifier;
  collateral: Map<string, CollateralBlob>;
  /** Parents' keys decoded once (a parent signs several links): the 4,096 used last. */
  keys: Lru<string, KeyObject>;
}

function signature({ keys }: WorkerState, sign: Uint8Array): boolean | null {
  const key = sign.subarray(0, 64);
  try {
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    const pk = keys.getOrSet(k, () => p256PublicFromRaw(key));
    return p256Verify(pk, sign.subarray(128), sign.subarray(64, 128));
  } catch {
    return null;
  }
}

async function remote(
  { verifier, collateral }: WorkerState,
  id: string | undefined,
  quote: Uint8Array | undefined,
  at: Date,
): Promise<LinkCryptoReply['results'][number]['remote']> {
  if (id === undefined || !quote) return undefined;
  const blob = collateral.get(id);
  if (!blob) return null;
  try {
    const r = await verifier.verify(quote, blob, at);
    if (!r.ok) return r;
    if (r.tee === 'tdx') {
      const { td: _t, ...rest } = r;
      return rest;
    }
    const { report: _r, ...rest } = r;
    return rest;
  } catch {
    return null;
  }
}

// This thread's warm DCAP verifier (QE contexts, certificate and CRL caches), trusting exactly `root`.
const state: WorkerState = {
  verifier: createDcapRemoteVerifier((workerData as { root: Uint8Array }).root),
  collateral: new Map(),
  keys: new Lru(4096),
};

parentPort!.on('message', (m: LinkCryptoRequest) => {
  for (const [id, c] of Object.entries(m.collateral ?? {})) state.collateral.set(id, c);
  const at = new Date(m.at);
  const span = (s: Span | undefined) => (s ? new Uint8Array(m.bytes, s[0], s[1]) : undefined);
  void Promise.all(
    m.jobs.map(async (j) => {
      const out: LinkCryptoReply['results'][number] = {};
      if (j.sign) out.signature = signature(state, span(j.sign)!);
      const r = await remote(state, j.collateralId, span(j.quote), at);
      if (r !== undefined) out.remote = r;
      return out;
    }),
  ).then((results) => parentPort!.postMessage({ id: m.id, results } satisfies LinkCryptoReply));
});
parentPort!.postMessage({ ready: true });
