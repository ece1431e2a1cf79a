/**
 * An in-process cache of computed values by key, each kept `ttlMs`: however many supervisors
 * refresh, and however fast events arrive, a key is computed at most once per ttl per process
 * (concurrent callers share the computation in flight). Failures are not kept.
 */
export class TtlCache<T> {
  readonly #entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(readonly ttlMs: number, readonly maxKeys = 100) {}

  /** `notBefore`: an entry whose computation started earlier is stale (the caller knows of a later change). */
  get(key: string, compute: () => Promise<T>, now = Date.now(), notBefore = 0): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.ttlMs && hit.at >= notBefore) return hit.value;
    if (this.#entries.size >= this.maxKeys) {
      for (const [k, e] of this.#entries) if (now - e.at >= this.ttlMs) this.#entries.delete(k);
      if (this.#entries.size >= this.maxKeys) this.#entries.delete(this.#entries.keys().next().value as string);
    }
    const value = compute();
    this.#entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }
}
