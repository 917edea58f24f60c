/**
 * The gRPC kv example's store: keys to immutable values in memory, with per-key versions and
 * change listeners (for Watch).
 *
 * Values are never written in place: a put stores a new Uint8Array (a copy of the request's bytes,
 * which are a view of the received HTTP/2 data) and drops the old one. A response that references
 * the old value (sgwire writes stored values to the stream by reference) keeps it alive until the
 * stream is done with it, and can never see it change half-way: there is no refcount to keep, the
 * garbage collector frees an old value once no pending write holds it.
 */

/** A stored value and how many times its key was put since it was last created. */
export interface Stored {
  readonly value: Uint8Array;
  readonly version: bigint;
}

/** A put or a delete, as Watch streams them. */
export type StoreChange = { kind: "put"; key: string; value: Uint8Array; version: bigint } | { kind: "delete"; key: string };

/** Why a put was refused; the server maps it to a gRPC status. */
export class StoreError extends Error {
  constructor(
    readonly reason: "empty-key" | "full",
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

export interface StoreOptions {
  /** Most keys held (default 100,000). */
  maxKeys?: number;
  /** Most value bytes held in all (default 256 MiB). */
  maxBytes?: number;
}

export class KvStore {
  readonly #map = new Map<string, Stored>();
  readonly #listeners = new Set<(c: StoreChange) => void>();
  readonly #maxKeys: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(options: StoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    for (const [name, v] of [["maxKeys", this.#maxKeys], ["maxBytes", this.#maxBytes]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`KvStore: ${name} must be a non-negative integer, got ${String(v)}`);
    }
  }

  /** The value of `key`: keep it as long as you like, a later put or delete does not change it. */
  get(key: string): Stored | undefined {
    return this.#map.get(key);
  }

  /** Stores a copy of `value` under `key`; returns the key's new version. Throws a StoreError if refused. */
  put(key: string, value: Uint8Array): bigint {
    if (key === "") throw new StoreError("empty-key", "the key is empty");
    const old = this.#map.get(key);
    if (old === undefined && this.#map.size >= this.#maxKeys) throw new StoreError("full", `the store holds ${this.#maxKeys} keys, its limit`);
    const bytes = this.#bytes - (old?.value.length ?? 0) + value.length;
    if (bytes > this.#maxBytes) throw new StoreError("full", `storing ${value.length} bytes would pass the store's limit of ${this.#maxBytes} bytes`);
    const own = value.slice(); // a copy in an ArrayBuffer of its own: the request's bytes are a view of received data
    const stored: Stored = { value: own, version: (old?.version ?? 0n) + 1n };
    this.#map.set(key, stored);
    this.#bytes = bytes;
    this.#emit({ kind: "put", key, value: own, version: stored.version });
    return stored.version;
  }

  /** Removes `key`; false if it had no value. */
  delete(key: string): boolean {
    const old = this.#map.get(key);
    if (old === undefined) return false;
    this.#map.delete(key);
    this.#bytes -= old.value.length;
    this.#emit({ kind: "delete", key });
    return true;
  }

  /** Calls `fn` with every change from now on; returns what stops it. */
  subscribe(fn: (c: StoreChange) => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  get size(): { keys: number; bytes: number; watchers: number } {
    return { keys: this.#map.size, bytes: this.#bytes, watchers: this.#listeners.size };
  }

  #emit(c: StoreChange): void {
    for (const fn of this.#listeners) fn(c);
  }
}
