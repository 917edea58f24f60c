/**
 * A reference-counted buffer: memory that several owners (the application, sends in flight)
 * share. It is created with one reference, held by its creator. Whoever lends it to something
 * asynchronous calls retain() first and that thing calls release() when done; when the count
 * reaches zero `onFree` runs (for instance, returning the memory to a pool) and the bytes must
 * no longer be used by anyone.
 */
export class RefBuffer {
  private refs = 1;

  constructor(
    /** The memory. Valid while refCount > 0. */
    readonly bytes: Uint8Array,
    private readonly onFree?: (bytes: Uint8Array) => void,
  ) {}

  get refCount(): number {
    return this.refs;
  }

  retain(): this {
    if (this.refs <= 0) throw new Error("RefBuffer.retain: buffer already freed");
    this.refs++;
    return this;
  }

  /** Drops one reference; frees the memory when none remain. */
  release(): void {
    if (this.refs <= 0) throw new Error("RefBuffer.release: released more often than retained");
    if (--this.refs === 0) this.onFree?.(this.bytes);
  }
}
