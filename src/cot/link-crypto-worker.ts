import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { fromHex } from '../bytes/util.ts';
import { linkSigningBytes } from '../chain/signing.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob, Link } from '../chain/types.ts';
import { p256PublicFromRaw, p256Verify } from '../crypto/ecdsa.ts';
import { createDcapRemoteVerifier } from './dcap-remote-verifier.ts';

/** Host → worker: a batch of links whose signature (with `key`) and quote (with collateral `collateralId`) to check at `at`. */
export interface LinkCryptoRequest {
  id: number;
  at: number;
  /** Collateral sent along the first time a worker needs it, by id (the bundle's collateral hash). */
  collateral?: Record<string, CollateralBlob>;
  jobs: Array<{ link: Link; key?: Uint8Array; collateralId?: string }>;
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
  /** Parents' keys decoded once (a parent signs several links): bounded, cleared when full. */
  keys: Map<string, KeyObject>;
}

function signature({ keys }: WorkerState, link: Link, key: Uint8Array): boolean | null {
  try {
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    let pk = keys.get(k);
    if (!pk) {
      pk = p256PublicFromRaw(key);
      if (keys.size >= 4096) keys.clear();
      keys.set(k, pk);
    }
    return p256Verify(pk, linkSigningBytes(link), fromHex(link.signature, 64, 'signature'));
  } catch {
    return null;
  }
}

async function remote(
  { verifier, collateral }: WorkerState,
  link: Link,
  id: string | undefined,
  at: Date,
): Promise<LinkCryptoReply['results'][number]['remote']> {
  if (link.evidence.kind !== 'dcap-quote' || id === undefined) return undefined;
  const blob = collateral.get(id);
  if (!blob) return null;
  let quote: Uint8Array;
  try {
    quote = fromHex(link.evidence.quote);
  } catch {
    return null;
  }
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
  keys: new Map(),
};

parentPort!.on('message', (m: LinkCryptoRequest) => {
  for (const [id, c] of Object.entries(m.collateral ?? {})) state.collateral.set(id, c);
  const at = new Date(m.at);
  void Promise.all(
    m.jobs.map(async (j) => {
      const out: LinkCryptoReply['results'][number] = {};
      if (j.key) out.signature = signature(state, j.link, j.key);
      const r = await remote(state, j.link, j.collateralId, at);
      if (r !== undefined) out.remote = r;
      return out;
    }),
  ).then((results) => parentPort!.postMessage({ id: m.id, results } satisfies LinkCryptoReply));
});
parentPort!.postMessage({ ready: true });
