/**
 * The kv store: keys to values in memory from `port.allocate()` (registered memory for DPDK), so
 * a response can reference a stored value instead of copying it.
 *
 * Overwrites and lifetimes: a response that references a value is a send in flight, and the port
 * holds a reference on the value's RefBuffer until the send completes. A PUT therefore writes in
 * place only when the store holds the only reference (refCount 1: nothing in flight can see the
 * bytes change); otherwise it writes a new buffer and swaps it in (copy-on-write), and the old one
 * is freed when its last send completes. A reader never sees a value half old, half new.
 */
import type { RefBuffer } from "@sgwire/core";

export interface Allocator {
  allocate(size: number): RefBuffer;
}

interface Slot {
  /** The store's reference. */
  rb: RefBuffer;
  /** The value: rb.bytes, or its first bytes when an in-place write was shorter. */
  value: Uint8Array;
}

export interface StoreStats {
  keys: number;
  bytes: number;
  inPlaceWrites: number;
  copyOnWrites: number;
}

export class Store {
  private readonly map = new Map<string, Slot>();
  private bytes = 0;
  private inPlace = 0;
  private cow = 0;

  constructor(private readonly mem: Allocator) {}

  /** The value of `key`: valid until the next put/delete of that key (lend it to a send before then). */
  get(key: string): Uint8Array | undefined {
    return this.map.get(key)?.value;
  }

  /** Stores a copy of `value` (which may be a view of a receive buffer). */
  put(key: string, value: Uint8Array): void {
    const s = this.map.get(key);
    if (s !== undefined && s.rb.refCount === 1 && s.rb.bytes.length >= value.length && value.length > 0) {
      // nothing in flight references this buffer: rewriting it cannot tear a response
      s.rb.bytes.set(value);
      this.bytes += value.length - s.value.length;
      s.value = s.rb.bytes.subarray(0, value.length);
      this.inPlace++;
      return;
    }
    const rb = this.mem.allocate(Math.max(1, value.length));
    rb.bytes.set(value);
    this.commit(key, rb, value.length);
  }

  /**
   * A buffer for a value that arrives in pieces; it is not visible to readers until `commit`.
   * The caller owns the reference until then.
   */
  reserve(size: number): RefBuffer {
    return this.mem.allocate(Math.max(1, size));
  }

  /** Makes a reserved buffer the value of `key` (the store takes over its reference). */
  commit(key: string, rb: RefBuffer, length: number): void {
    const old = this.map.get(key);
    this.map.set(key, { rb, value: rb.bytes.subarray(0, length) });
    this.bytes += length;
    if (old !== undefined) {
      this.cow++;
      this.bytes -= old.value.length;
      old.rb.release(); // freed now, or when the last send that references it completes
    }
  }

  delete(key: string): boolean {
    const s = this.map.get(key);
    if (s === undefined) return false;
    this.map.delete(key);
    this.bytes -= s.value.length;
    s.rb.release();
    return true;
  }

  /** Drops every value (the server is stopping). */
  clear(): void {
    for (const s of this.map.values()) s.rb.release();
    this.map.clear();
    this.bytes = 0;
  }

  get stats(): StoreStats {
    return { keys: this.map.size, bytes: this.bytes, inPlaceWrites: this.inPlace, copyOnWrites: this.cow };
  }
}
