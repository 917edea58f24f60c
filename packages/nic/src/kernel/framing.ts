/**
 * Length-delimited protobuf framing over a byte stream: each message is preceded by its length
 * as a varint (what protobuf's writeDelimited/parseDelimitedFrom use).
 *
 * FrameReader yields views: a message that lies inside one received chunk is a subarray of that
 * chunk (no copy); only a message split across chunks is assembled, once, into a new buffer.
 * Chunks are kept as views, so the stream must not reuse chunk memory (Node's sockets don't).
 */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(
    message: string,
    /** "oversize": a length over maxMessageBytes; "bad-frame": a malformed length prefix. */
    readonly kind: "oversize" | "bad-frame" = "bad-frame",
  ) {
    super(message);
  }
}

/** The varint length prefix for a message of `n` bytes. */
export function lengthPrefix(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

const MAX_PREFIX = 5;

export class FrameReader {
  /** Pieces of the incomplete frame at the head of the stream. */
  private parts: Uint8Array[] = [];
  private partsLen = 0;
  /** Whole length (prefix + body) of the incomplete frame, or -1 while its prefix is incomplete. */
  private frameLen = -1;
  private prefixLen = 0;
  /** Bytes of frames assembled from several chunks (copied) since the last takeCopied(). */
  private copied = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Feeds one chunk; calls `emit` for each complete message, in order. Throws FrameError on bad framing. */
  push(chunk: Uint8Array, emit: (m: Uint8Array) => void): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partsLen === 0) {
        if (this.parsePrefix(chunk, pos) && pos + this.frameLen <= chunk.length) {
          emit(chunk.subarray(pos + this.prefixLen, pos + this.frameLen));
          pos += this.frameLen;
          this.frameLen = -1;
          continue;
        }
        this.parts.push(chunk.subarray(pos));
        this.partsLen = chunk.length - pos;
        return;
      }
      if (this.frameLen < 0) {
        // prefix split across chunks: it is at most 5 bytes, so joining is cheap
        const head = new Uint8Array(this.partsLen + Math.min(MAX_PREFIX, chunk.length - pos));
        let o = 0;
        for (const p of this.parts) {
          head.set(p, o);
          o += p.length;
        }
        head.set(chunk.subarray(pos, pos + head.length - o), o);
        if (!this.parsePrefix(head, 0)) {
          this.parts = [head];
          this.partsLen = head.length;
          pos += head.length - o;
          continue;
        }
      }
      const need = this.frameLen - this.partsLen;
      if (chunk.length - pos < need) {
        this.parts.push(chunk.subarray(pos));
        this.partsLen += chunk.length - pos;
        return;
      }
      const frame = new Uint8Array(this.frameLen);
      let o = 0;
      for (const p of this.parts) {
        frame.set(p, o);
        o += p.length;
      }
      frame.set(chunk.subarray(pos, pos + need), o);
      this.copied += this.frameLen;
      pos += need;
      emit(frame.subarray(this.prefixLen));
      this.parts = [];
      this.partsLen = 0;
      this.frameLen = -1;
    }
  }

  /** Reads the prefix at `pos`; sets frameLen/prefixLen and returns true when it is complete. */
  private parsePrefix(buf: Uint8Array, pos: number): boolean {
    let len = 0;
    let mul = 1;
    for (let i = 0; i < MAX_PREFIX; i++) {
      if (pos + i >= buf.length) return false;
      const b = buf[pos + i]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) {
        if (len > this.maxMessageBytes) {
          throw new FrameError(`stream frame of ${len} bytes exceeds maxMessageBytes ${this.maxMessageBytes}`, "oversize");
        }
        this.prefixLen = i + 1;
        this.frameLen = i + 1 + len;
        return true;
      }
    }
    throw new FrameError(`stream frame length prefix is longer than ${MAX_PREFIX} bytes`, "bad-frame");
  }

  /** Bytes copied to assemble split frames since the last call. */
  takeCopied(): number {
    const n = this.copied;
    this.copied = 0;
    return n;
  }

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.partsLen;
  }
}
