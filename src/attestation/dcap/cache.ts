import { hex } from '../../bytes/util.ts';
import { sha256 } from '../../crypto/sha256.ts';

/** A Map that forgets its oldest entries past `max` (insertion order), so a long-running verifier stays bounded. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/**
 * What a verifier may remember between quotes, keyed by content hash so nothing stale can be reused for
 * different bytes: parsed certificates, certificate-signature results, parsed CRLs and their signature
 * results, collateral-signature results, parsed collateral JSON, PCK extensions. Time-dependent checks
 * (validity windows) are never cached: they are re-evaluated at each verification's `at`.
 * A new VerificationCache is a cold verifier.
 */
export class VerificationCache {
  readonly entries = new BoundedMap<string, unknown>(20_000);
  hits = 0;
  misses = 0;

  /** Memoises `compute()` under `kind:key`. Errors are not cached (they are cheap to recompute and may be transient). */
  memo<T>(kind: string, key: string, compute: () => T): T {
    const k = `${kind}:${key}`;
    if (this.entries.has(k)) {
      this.hits++;
      return this.entries.get(k) as T;
    }
    this.misses++;
    const v = compute();
    this.entries.set(k, v);
    return v;
  }
}

/** Content key for cache lookups. */
export function contentKey(...parts: Uint8Array[]): string {
  if (parts.length === 1) return hex(sha256(parts[0]!));
  return parts.map((p) => hex(sha256(p))).join('|');
}
