
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
  readonly entries = new BoundedMap<string, unknown>(8_192);
  hits = 0;
  misses = 0;
  private seq = 0;

  /** A short id, unique within this cache, for an object memoised by content (used in composite keys). */
  nextId(prefix: string): string {
    return `${prefix}${++this.seq}`;
  }

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

/**
 * Content key for cache lookups: the bytes themselves (as a latin1 string, length-prefixed per part), so
 * two different inputs can never share a cached result — no hash to collide — and a lookup costs a
 * string hash, not a SHA-256. Inputs here are small (certificates, CRLs, collateral, a few KB).
 */
export function contentKey(...parts: Uint8Array[]): string {
  let k = '';
  for (const p of parts) k += `${p.length}:${Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1')}`;
  return k;
}
