/**
 * Send memory a port lends the encoder: `send({ codec, message })` has the encoder write the
 * message's scratch (tags, lengths, small fields) straight into it, so the port does not copy
 * those bytes again. Kernel ports use it (kernel/lend.ts prepareOwned).
 */
import type { SgList } from "@sgwire/core";

/** A chunk of a SendArena and how many sends still hold parts of it. */
export interface ArenaChunk {
  readonly arena: SendArena;
  bytes: Uint8Array;
  used: number;
  holders: number;
}

/**
 * The send memory of a kernel port: chunks the encoder writes scratch into (bump allocation, one
 * region per send), each reused once every send holding part of it has completed. Never handed
 * to the application: its bytes go only to the socket.
 */
export class SendArena {
  private cur: ArenaChunk;
  private readonly free: ArenaChunk[] = [];

  constructor(
    private readonly chunkBytes = 256 * 1024,
    /** A chunk with less room than this is retired before an encode: most messages' scratch fits. */
    private readonly minRoom = 16 * 1024,
    /**
     * Bytes left free before each send's scratch, for what the port writes in front of it (TCP:
     * the length prefix, so prefix and scratch go to the socket as one segment).
     */
    readonly headroom = 0,
  ) {
    this.cur = this.chunk();
  }

  private chunk(): ArenaChunk {
    return this.free.pop() ?? { arena: this, bytes: new Uint8Array(this.chunkBytes), used: 0, holders: 0 };
  }

  /** Points `list`'s scratch at the free part of the current chunk. */
  lend(list: SgList): void {
    if (this.cur.bytes.length - this.cur.used < this.minRoom) {
      // retired: reused once its last holder completes (or now, when it has none)
      const old = this.cur;
      this.cur = this.chunk();
      if (old.holders === 0) this.recycle(old);
    }
    list.useScratch(this.cur.bytes.subarray(this.cur.used + this.headroom));
  }

  /**
   * After the encode: the chunk the list's scratch is in, now held by this send, or null when the
   * scratch did not fit and the list allocated its own (then nothing here is held).
   */
  take(list: SgList): ArenaChunk | null {
    const c = this.cur;
    if (list.scratch.buffer !== c.bytes.buffer) return null;
    c.used += this.headroom + list.bytesCopied;
    c.holders++;
    return c;
  }

  /** A send that held part of `c` completed. */
  give(c: ArenaChunk): void {
    if (--c.holders === 0 && c !== this.cur) this.recycle(c);
  }

  private recycle(c: ArenaChunk): void {
    c.used = 0;
    if (this.free.length < 4) this.free.push(c);
  }
}

