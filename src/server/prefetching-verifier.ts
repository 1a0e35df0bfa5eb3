import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob } from '../chain/types.ts';

interface Started {
  quote: Buffer;
  atMs: number;
  collateral: CollateralBlob;
  result: Promise<RemoteEvidenceResult>;
  users: number;
}

/**
 * Lets the manager start a quote's DCAP verification before an append takes its chain's lock, so
 * the verifications of concurrent appends run in parallel (on the verifier pool's threads) while
 * the link checks themselves stay one at a time per chain. When the chain's LinkChecker then asks
 * for exactly that verification — the same quote bytes, the same collateral object, the same time —
 * it gets the started one: the same verifier on the same inputs, computed earlier, not a cached
 * verdict for other bytes or another time. Any other call verifies afresh. An entry lives only
 * while the request that started it runs (its `release`), so nothing is reused across appends: a
 * replayed quote is verified again and then refused by the checks that refuse it today.
 */
export class PrefetchingVerifier implements RemoteEvidenceVerifier {
  // As many entries as appends in flight: a scan comparing time, collateral, then bytes (memcmp).
  private readonly started: Started[] = [];
  constructor(private readonly base: RemoteEvidenceVerifier) {}

  private find(quote: Buffer, collateral: CollateralBlob, atMs: number): Started | undefined {
    for (const s of this.started) if (s.atMs === atMs && s.collateral === collateral && s.quote.equals(quote)) return s;
    return undefined;
  }

  /** Starts verifying `quote` with `collateral` at `at`; call the returned function when the request is done. */
  start(quote: Uint8Array, collateral: CollateralBlob, at: Date): () => void {
    const q = Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength);
    let s = this.find(q, collateral, at.getTime());
    if (!s) {
      s = { quote: q, atMs: at.getTime(), collateral, result: this.base.verify(quote, collateral, at), users: 0 };
      s.result.catch(() => {}); // a failure is reported to whoever asks for it
      this.started.push(s);
    }
    s.users++;
    const entry = s;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--entry.users === 0) this.started.splice(this.started.indexOf(entry), 1);
    };
  }

  /** Open entries (for tests: every request releases what it started). */
  get size(): number {
    return this.started.length;
  }

  verify(quote: Uint8Array, collateral: CollateralBlob, at: Date): Promise<RemoteEvidenceResult> {
    const s = this.started.length > 0 ? this.find(Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength), collateral, at.getTime()) : undefined;
    return s ? s.result : this.base.verify(quote, collateral, at);
  }
}
