import { RefBuffer } from "@sgwire/core";
import { checkPositiveInt } from "../checks.js";

/** Arena size: one ibv_reg_mr each. */
const ARENA_BYTES = 16 << 20;
const MIN_BLOCK = 256;
/** Largest allocate(): one whole arena. */
export const MAX_ALLOCATION = ARENA_BYTES;

export interface Arena {
  /** The native arena id (descriptors name it as id + 1). */
  id: number;
  bytes: Uint8Array;
  blockSize: number;
  blocks: (RefBuffer | null)[];
  free: number[];
}

export interface Lent {
  arena: Arena;
  owner: RefBuffer;
}

/**
 * Memory an ibverbs port can send from by reference: arenas registered with ibv_reg_mr on the
 * port's protection domain (a memory region is only valid there, so each port has its own),
 * cut into power-of-two blocks. allocate() returns a RefBuffer holding one reference; the block
 * goes back to its free list when every reference (the application's and those of sends in
 * flight) is dropped. The arenas stay mapped while JavaScript can see them; close() deregisters
 * them, after which they are no longer eligible.
 */
export class IbvRegisteredMemory {
  private readonly classes = new Map<number, Arena[]>();
  private readonly byBuffer = new Map<ArrayBufferLike, Arena>();
  /** Blocks handed out and not yet freed (for leak checks). */
  inUse = 0;
  mappedBytes = 0;
  private closed = false;

  constructor(private readonly allocArena: (bytes: number) => [ArrayBuffer, number]) {}

  allocate(size: number): RefBuffer {
    checkPositiveInt(size, "ibverbs port: allocate size", MAX_ALLOCATION);
    let bs = MIN_BLOCK;
    while (bs < size) bs *= 2;
    let list = this.classes.get(bs);
    if (list === undefined) this.classes.set(bs, (list = []));
    let arena = list.find((a) => a.free.length > 0);
    if (arena === undefined) {
      const [ab, id] = this.allocArena(ARENA_BYTES);
      const n = Math.floor(ab.byteLength / bs);
      arena = { id, bytes: new Uint8Array(ab), blockSize: bs, blocks: new Array(n).fill(null), free: [] };
      for (let i = n - 1; i >= 0; i--) arena.free.push(i);
      list.push(arena);
      this.byBuffer.set(ab, arena);
      this.mappedBytes += ab.byteLength;
    }
    const a = arena;
    const idx = a.free.pop()!;
    const bytes = a.bytes.subarray(idx * bs, idx * bs + size);
    const rb = new RefBuffer(bytes, () => {
      a.blocks[idx] = null;
      a.free.push(idx);
      this.inUse--;
    });
    a.blocks[idx] = rb;
    this.inUse++;
    return rb;
  }

  /** The live block `seg` lies in, if it is this port's registered memory; undefined otherwise (it must be copied). */
  lookup(seg: Uint8Array): Lent | undefined {
    if (this.closed) return undefined;
    const arena = this.byBuffer.get(seg.buffer);
    if (arena === undefined) return undefined;
    const bs = arena.blockSize;
    const idx = Math.floor(seg.byteOffset / bs);
    const owner = arena.blocks[idx];
    if (owner == null || seg.byteOffset + seg.length > (idx + 1) * bs) return undefined;
    return { arena, owner };
  }

  /** After the port closed its memory regions are gone: nothing is eligible any more. */
  markClosed(): void {
    this.closed = true;
  }

  readonly isEligible = (seg: Uint8Array): boolean => this.lookup(seg) !== undefined;
}
