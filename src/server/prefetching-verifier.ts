import { hex } from '../bytes/util.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import type { CollateralBlob } from '../chain/types.ts';

interface Started {
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
  private readonly started = new Map<string, Started>();
  constructor(private readonly base: RemoteEvidenceVerifier) {}

  private static key(quoteHex: string, at: Date): string {
    return `${at.getTime()}:${quoteHex}`;
  }

  /** Starts verifying `quote` (hex) with `collateral` at `at`; call the returned function when the request is done. */
  start(quoteHex: string, quote: Uint8Array, collateral: CollateralBlob, at: Date): () => void {
    const k = PrefetchingVerifier.key(quoteHex, at);
    let s = this.started.get(k);
    if (s && s.collateral !== collateral) return () => {};
    if (!s) {
      s = { collateral, result: this.base.verify(quote, collateral, at), users: 0 };
      s.result.catch(() => {}); // a failure is reported to whoever asks for it
      this.started.set(k, s);
    }
    s.users++;
    const entry = s;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--entry.users === 0 && this.started.get(k) === entry) this.started.delete(k);
    };
  }

  /** Open entries (for tests: every request releases what it started). */
  get size(): number {
    return this.started.size;
  }

  verify(quote: Uint8Array, collateral: CollateralBlob, at: Date): Promise<RemoteEvidenceResult> {
    const s = this.started.size > 0 ? this.started.get(PrefetchingVerifier.key(hex(quote), at)) : undefined;
    if (s && s.collateral === collateral) return s.result;
    return this.base.verify(quote, collateral, at);
  }
}
