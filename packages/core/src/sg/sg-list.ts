/**
 * A scatter-gather list: the ordered segments whose concatenation is one encoded message.
 *
 * Two kinds of segment:
 * - scratch segments are views of `scratch`, memory this SgList owns: tags, lengths, varints and
 *   every field that the copy policy chose to copy;
 * - referenced segments are the application's own Uint8Arrays, exactly as passed in the message
 *   (same ArrayBuffer, offset and length), never copied.
 *
 * Lifetime: scratch segments stay valid until this SgList is reused (passed as `into` to another
 * encode) or reset. Referenced segments alias application memory: the application must not
 * mutate it until every consumer of this list (a send in flight, for instance) has finished.
 */
const NO_SCRATCH = new Uint8Array(0);

export class SgList {
  /** The segments, in wire order. Never contains an empty segment. */
  segments: Uint8Array[] = [];
  /** Total bytes: the sum of the segments' lengths. */
  byteLength = 0;
  /** Bytes written into scratch (tags, lengths, scalars, copied fields). */
  bytesCopied = 0;
  /** Bytes in referenced segments (application memory, not copied). */
  bytesReferenced = 0;
  /** Number of referenced segments. */
  referenceCount = 0;
  /** Scratch memory; grows on demand and is reused across encodes into this list. */
  scratch: Uint8Array;
  /**
   * @internal scratch views of earlier encodes, reused when a segment covers the same bytes; made
   * at the first view a list needs (a run that is the whole scratch is the scratch itself)
   */
  views: (Uint8Array | undefined)[] | null = null;
  /** @internal offset in scratch of each cached view */
  viewStarts: number[] | null = null;
  /**
   * @internal per segment, true when it is a reference (written by the encoder beside
   * `segments`); lets isScratch answer without reading `.buffer`, which is slow on typed arrays.
   * Null until an encode into this list references something: a list of scratch alone (every
   * small message) carries no array for it.
   */
  refs: boolean[] | null = null;
  /** @internal segments the last encode wrote (-1: none, or reset since): `refs` describes them */
  encodedSegments = -1;

  /** @param scratch initial scratch memory, or its size in bytes */
  constructor(scratch: number | Uint8Array = 0) {
    // no scratch yet: one shared empty array (V8 allocates each new zero-length typed array off
    // its heap, which costs more than a small one); it holds no byte and is never a segment
    this.scratch = typeof scratch !== "number" ? scratch : scratch === 0 ? NO_SCRATCH : new Uint8Array(scratch);
  }

  /** Empties the list so it can be reused; keeps the scratch allocation. */
  reset(): void {
    this.segments.length = 0;
    if (this.refs !== null) this.refs.length = 0;
    this.encodedSegments = -1;
    this.byteLength = 0;
    this.bytesCopied = 0;
    this.bytesReferenced = 0;
    this.referenceCount = 0;
  }

  /**
   * Gives the list `memory` as its scratch: the next encode into it writes its copied bytes there
   * when they fit (else it allocates scratch of its own, as always). A transport uses this to have
   * the encoder write straight into its send memory, which it then owns until the send completes.
   * Earlier segments of this list become invalid.
   */
  useScratch(memory: Uint8Array): void {
    this.scratch = memory;
    if (this.views !== null) this.views.length = 0; // views of the old scratch
  }

  /** Makes sure scratch holds at least `n` bytes (contents are not preserved). */
  reserveScratch(n: number): Uint8Array {
    if (this.scratch.length < n) {
      // grow geometrically so a list reused for growing messages reallocates rarely
      this.scratch = new Uint8Array(Math.max(n, this.scratch.length * 2, 64));
      if (this.views !== null) this.views.length = 0; // views of the old scratch
    }
    return this.scratch;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** True when segment `i` lives in this list's scratch memory (it was copied). */
  isScratch(i: number): boolean {
    if (this.encodedSegments === this.segments.length) return this.refs === null || this.refs[i] !== true;
    // a list whose segments were set by hand: decide by memory
    const seg = this.segments[i]!;
    const sc = this.scratch;
    return seg.buffer === sc.buffer && seg.byteOffset >= sc.byteOffset && seg.byteOffset + seg.length <= sc.byteOffset + sc.length;
  }

  /** The concatenation of all segments in one new buffer (this copies every byte). */
  toBinary(): Uint8Array {
    const segs = this.segments;
    if (segs.length === 1) return segs[0]!.slice();
    const out = new Uint8Array(this.byteLength);
    let pos = 0;
    for (const s of segs) {
      out.set(s, pos);
      pos += s.length;
    }
    return out;
  }

  [Symbol.iterator](): IterableIterator<Uint8Array> {
    return this.segments[Symbol.iterator]();
  }
}

/**
 * Registered-symbol brand of SgList. A project can end up with two copies of @sgwire/core (one
 * under @sgwire/nic, one of its own); `instanceof SgList` is false across copies, the brand is not.
 */
const SG_LIST_BRAND = Symbol.for("sgwire.SgList");
Object.defineProperty(SgList.prototype, SG_LIST_BRAND, { value: true });

/** True for an SgList made by any copy of @sgwire/core (use this rather than `instanceof SgList`). */
export function isSgList(value: unknown): value is SgList {
  return typeof value === "object" && value !== null && (value as { [SG_LIST_BRAND]?: unknown })[SG_LIST_BRAND] === true;
}
