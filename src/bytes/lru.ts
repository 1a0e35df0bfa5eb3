/**
 * A size-limited least-recently-used map: what every cache in Catena is, owned by the object that
 * creates it and passed to whoever uses it (no module-level caches; docs/architecture.md). A Map keeps
 * insertion order, so the first key is the least recently used one when every hit re-inserts its key.
 */
export class Lru<K, V> {
  readonly max: number;
  private readonly map = new Map<K, V>();

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`Lru: max must be a positive integer, got ${max}`);
    this.max = max;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): this {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
    return this;
  }

  /** The value for `key`, made by `make` (and kept) on a miss. */
  getOrSet(key: K, make: () => V): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const v = make();
    this.set(key, v);
    return v;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
