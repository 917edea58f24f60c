/**
 * Debug mode for lending (`debugLentBuffers: true` in openPort's options): the port fingerprints
 * every referenced segment when a send takes it and again when the send completes. A difference
 * means the application wrote to memory it had lent, before the transport was done with it:
 * what went on the wire may be either version. The port then emits an 'error' event with a
 * LentBufferMutatedError (which throws if nobody listens, as 'error' events do). Costs one pass
 * over each referenced byte at send and at completion; off by default.
 */
export class LentBufferMutatedError extends Error {
  override name = "LentBufferMutatedError";
  constructor(
    readonly backend: string,
    readonly byteLength: number,
  ) {
    super(
      `${backend} port: a lent buffer of ${byteLength} bytes changed before its send completed; ` +
        "do not write to referenced memory until completions() resolves (or its RefBuffer's refCount is back to 1)",
    );
  }
}

/** FNV-1a over the bytes: a fingerprint, cheap enough for a debug mode. */
export function fingerprint(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** Segments lent by one send, with their fingerprints at send time. */
export class LentRecord {
  private readonly segs: Uint8Array[] = [];
  private readonly sums: number[] = [];

  add(seg: Uint8Array): void {
    this.segs.push(seg);
    this.sums.push(fingerprint(seg));
  }

  /** The first lent segment that changed since add(), or null. */
  changed(): Uint8Array | null {
    for (let i = 0; i < this.segs.length; i++) if (fingerprint(this.segs[i]!) !== this.sums[i]) return this.segs[i]!;
    return null;
  }
}
