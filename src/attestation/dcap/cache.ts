/** A Map that forgets its oldest entries past `max` (insertion order), so a long-running verifier stays bounded. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.max) {
      const oldest = this.keys().next();
      // Stryker disable next-line ConditionalExpression: `true` deletes `undefined` from an empty map (max 0), a no-op
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/**
 * What a verifier may remember between quotes, keyed by content so nothing stale can be reused for
 * different bytes: parsed certificates, certificate-signature results, parsed CRLs and their signature
 * results, collateral-signature results, parsed collateral JSON, PCK extensions. Time-dependent checks
 * (validity windows) are never cached: they are re-evaluated at each verification's `at`.
 * A new VerificationCache is a cold verifier.
 *
 * One bounded map per kind, keyed by the content itself (never a concatenation `kind:content`: building
 * a new multi-KB string per lookup made V8 copy and re-hash it every time — ≈ 8 µs per lookup of a PCK
 * chain). A key that is the very same string object as last time (collateral text) costs one cached hash.
 */
export class VerificationCache {
  private readonly kinds = new Map<string, BoundedMap<string, unknown>>();
  hits = 0;
  misses = 0;
  private seq = 0;

  /** A short id, unique within this cache, for an object memoised by content (used in composite keys). */
  nextId(prefix: string): string {
    // Stryker disable next-line UpdateOperator: counting down gives unique ids as well
    return `${prefix}${++this.seq}`;
  }

  /** Memoises `compute()` under (`kind`, `key`). Errors are not cached (they are cheap to recompute and may be transient). */
  memo<T>(kind: string, key: string, compute: () => T): T {
    let m = this.kinds.get(kind);
    if (!m) {
      m = new BoundedMap<string, unknown>(8_192);
      this.kinds.set(kind, m);
    }
    const v = m.get(key);
    // Stryker disable next-line ConditionalExpression: `v !== undefined` only skips m.has(key), which is true whenever it is
    if (v !== undefined || m.has(key)) {
      this.hits++;
      return v as T;
    }
    this.misses++;
    const computed = compute();
    m.set(key, computed);
    return computed;
  }

  /** `d.toISOString()`, remembered per Date object (collateral dates are formatted into every appraisal). */
  private readonly isoByDate = new WeakMap<Date, { time: number; iso: string }>();

  iso(d: Date): string {
    const time = d.getTime();
    const c = this.isoByDate.get(d);
    // Stryker disable next-line ConditionalExpression: never using the remembered text formats the same text again
    if (c && c.time === time) return c.iso;
    const iso = d.toISOString();
    // Stryker disable next-line ObjectLiteral: an entry without its time never matches, and the text is formatted again
    this.isoByDate.set(d, { time, iso });
    return iso;
  }

  /** Results of `memoBytes`, by the very array object, beside a private copy of its bytes. */
  private readonly byObject = new WeakMap<Uint8Array, { kind: string; copy: Buffer; value: unknown }>();

  /**
   * `memo(kind, contentKey(bytes), compute)` for inputs a caller passes again and again as the same
   * array (collateral CRLs and certificates, trusted roots): a repeat is recognised by the object and
   * confirmed by comparing its bytes with a private copy (memcmp, ≈ 0.2 µs for 4 KB) — an array altered
   * in place no longer equals the copy and is looked up by content again.
   */
  memoBytes<T>(kind: string, bytes: Uint8Array, compute: () => T): T {
    const seen = this.byObject.get(bytes);
    if (seen && seen.kind === kind && seen.copy.equals(bytes)) {
      this.hits++;
      return seen.value as T;
    }
    const value = this.memo(kind, contentKey(bytes), compute);
    this.byObject.set(bytes, { kind, copy: Buffer.from(bytes), value });
    return value;
  }

  /** The last few inputs of each `memoRecent` kind, most recent first, with private copies of their bytes. */
  private readonly recent = new Map<string, Array<{ parts: Buffer[]; value: unknown }>>();

  /**
   * `memo(kind, contentKey(...parts), compute)` for inputs that repeat across quotes from the same QE
   * (its PCK chain, its QE report): the last 8 distinct inputs are compared byte for byte (memcmp of a
   * few KB, ≈ 0.1 µs) before the input is turned into a string key (≈ 4 KB hashed and compared per quote).
   */
  memoRecent<T>(kind: string, parts: Uint8Array[], compute: () => T): T {
    let list = this.recent.get(kind);
    if (!list) this.recent.set(kind, (list = []));
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (e.parts.length === parts.length && e.parts.every((p, j) => p.equals(parts[j]))) {
        // Stryker disable next-line ConditionalExpression,EqualityOperator: moving entry 0 to the front leaves the list as it was
        if (i > 0) list.unshift(list.splice(i, 1)[0]);
        this.hits++;
        return e.value as T;
      }
    }
    const value = this.memo(kind, contentKey(...parts), compute);
    list.unshift({ parts: parts.map((p) => Buffer.from(p)), value });
    if (list.length > 8) list.pop();
    return value;
  }

  /**
   * A short id for a text, unique within this cache, equal for equal texts (content-addressed by the map:
   * full string equality). Lets a composite key carry a few characters instead of a multi-KB text.
   */
  textId(text: string): string {
    // Stryker disable next-line StringLiteral: the kind only has to differ from the others (none is ''); ids are unique with any prefix
    return this.memo('text', text, () => this.nextId('text#'));
  }
}

/**
 * Content key for cache lookups: the bytes themselves (as a latin1 string; several parts are
 * length-prefixed), so two different inputs can never share a cached result — no hash to collide — and
 * a lookup costs a string hash, not a SHA-256. Inputs here are small (certificates, CRLs, a few KB).
 */
export function contentKey(...parts: Uint8Array[]): string {
  if (parts.length === 1) return latin1(parts[0]);
  // Stryker disable next-line StringLiteral: a prefix shared by every multi-part key keeps them apart as well
  let k = '';
  for (const p of parts) k += `${p.length}:${latin1(p)}`;
  return k;
}

function latin1(p: Uint8Array): string {
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1');
}
