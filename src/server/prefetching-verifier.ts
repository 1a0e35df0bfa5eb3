import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../chain/remote-verifier.ts';
import { hex } from '../bytes/util.ts';
import type { CollateralBlob, Link } from '../chain/types.ts';

/** A verifier that can also check a remote link's signature with its quote (VerifierPool). */
interface LinkVerifier extends RemoteEvidenceVerifier {
  verifyLink(
    link: Link,
    key: string,
    collateral: CollateralBlob,
    at: Date,
  ): Promise<{ result: RemoteEvidenceResult; signature?: boolean | null }>;
}
const verifiesLinks = (v: RemoteEvidenceVerifier): v is LinkVerifier =>
  typeof (v as Partial<LinkVerifier>).verifyLink === 'function';

interface Started {
  quote: Buffer;
  /** With a signature verdict: the link object and signer key (hex) it is for. */
  link?: Link;
  key?: string;
  signature?: Promise<boolean | undefined>;
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

  /**
   * Starts verifying `quote` with `collateral` at `at` — and, given `signed` and a base verifier that
   * can (VerifierPool), the check that `signed.key` signed `signed.link` — off this thread. Call the
   * returned function when the request is done.
   */
  start(quote: Uint8Array, collateral: CollateralBlob, at: Date, signed?: { link: Link; key: string }): () => void {
    const q = Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength);
    let s = this.find(q, collateral, at.getTime());
    if (!s) {
      if (signed && verifiesLinks(this.base)) {
        const both = this.base.verifyLink(signed.link, signed.key, collateral, at);
        const signature = both.then((r) => (typeof r.signature === 'boolean' ? r.signature : undefined));
        s = {
          quote: q,
          atMs: at.getTime(),
          collateral,
          result: both.then((r) => r.result),
          users: 0,
          link: signed.link,
          key: signed.key,
          signature,
        };
        signature.catch(() => {});
      } else {
        s = { quote: q, atMs: at.getTime(), collateral, result: this.base.verify(quote, collateral, at), users: 0 };
      }
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

  /**
   * The started verdict on whether `key` (raw X‖Y) signed this very link object, if one was started
   * for it (undefined: verify it yourself; the promise may also resolve undefined, same meaning).
   */
  signatureFor(link: Link, key: Uint8Array): Promise<boolean | undefined> | undefined {
    for (const s of this.started) if (s.link === link && s.signature && s.key === hex(key)) return s.signature;
    return undefined;
  }

  verify(quote: Uint8Array, collateral: CollateralBlob, at: Date): Promise<RemoteEvidenceResult> {
    const s =
      this.started.length > 0
        ? this.find(Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength), collateral, at.getTime())
        : undefined;
    return s ? s.result : this.base.verify(quote, collateral, at);
  }
}
