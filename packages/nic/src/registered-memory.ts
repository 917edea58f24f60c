import { RefBuffer } from "@sgwire/core";
import { checkPositiveInt } from "./checks.js";

/**
 * Arena size: each is one registration, rte_extmem_register for DPDK (which has room for about a
 * hundred) or ibv_reg_mr for ibverbs.
 */
const ARENA_BYTES = 16 << 20;
const MIN_BLOCK = 256;
/** Largest allocate(): one whole arena. */
export const MAX_ALLOCATION = ARENA_BYTES;

/** One registered arena cut into equal blocks of `blockSize` bytes. */
export interface Arena {
  /** The native arena id (descriptors name it as id + 1). */
  id: number;
  /** False when DPDK gave the memory no IOVA (EAL not in IOVA-as-VA mode): never sent by reference. */
  attachable: boolean;
  bytes: Uint8Array;
  blockSize: number;
  blocks: (RefBuffer | null)[];
  free: number[];
}

export interface Lent {
  arena: Arena;
  owner: RefBuffer;
}

/** The block behind a view allocate() returned: found by the view's identity, no `.buffer` call. */
export interface BlockView {
  arena: Arena;
  /** Byte offset of the view in its arena. */
  offset: number;
  owner: RefBuffer;
}

/**
 * Maps and registers `bytes` of memory with the device: the ArrayBuffer, the native arena id
 * (descriptors name it as id + 1), and whether it may be sent by reference (default true).
 */
export type RegisterArena = (bytes: number) => [ArrayBuffer, number, boolean?];

/**
 * Memory a port can transmit from by reference, shared by the backends whose device reads it
 * (DPDK: arenas registered with rte_extmem_register, one instance per thread, every DPDK port of
 * the thread can send from any of it; ibverbs: arenas registered with ibv_reg_mr on the port's
 * protection domain, one instance per port, as a memory region is only valid there). Arenas are
 * cut into power-of-two blocks. allocate() returns a RefBuffer holding one reference; when every
 * reference is dropped (the application's and those of sends in flight) the block goes back to
 * its free list and may be handed out again. Arenas stay mapped while JavaScript can see them;
 * after markClosed() (the registrations are gone) nothing is eligible any more.
 */
export class RegisteredMemory {
  private readonly classes = new Map<number, Arena[]>();
  private readonly byBuffer = new Map<ArrayBufferLike, Arena>();
  // V8 answers `typedArray.buffer` through a runtime call (tens of ns): the send path first
  // looks a segment up by identity, which covers the common case of passing rb.bytes itself
  private readonly views = new WeakMap<Uint8Array, BlockView>();
  /** Blocks handed out and not yet freed (for leak checks). */
  inUse = 0;
  /** Bytes of arena memory mapped. */
  mappedBytes = 0;
  private closed = false;

  /** `label` names the backend in errors ("dpdk port"). */
  constructor(
    private readonly label: string,
    private readonly register: RegisterArena,
  ) {}

  allocate(size: number): RefBuffer {
    if (this.closed) throw new Error(`${this.label}: allocate() after close()`);
    checkPositiveInt(size, `${this.label}: allocate size`, MAX_ALLOCATION);
    let bs = MIN_BLOCK;
    while (bs < size) bs *= 2;
    let list = this.classes.get(bs);
    if (list === undefined) this.classes.set(bs, (list = []));
    let arena = list.find((a) => a.free.length > 0);
    if (arena === undefined) {
      const [ab, id, attachable = true] = this.register(ARENA_BYTES);
      const n = Math.floor(ab.byteLength / bs);
      arena = { id, attachable, bytes: new Uint8Array(ab), blockSize: bs, blocks: new Array(n).fill(null), free: [] };
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
    this.views.set(bytes, { arena: a, offset: idx * bs, owner: rb });
    this.inUse++;
    return rb;
  }

  /** The arena of the last successful owner() call. */
  lastArena: Arena | null = null;

  /**
   * The live RefBuffer whose block `seg` (a view of `buf`, its buffer) lies in, if it is
   * registered memory; undefined otherwise (it must be copied). Sets lastArena. Allocation-free:
   * this runs once per referenced segment on the send path.
   */
  owner(seg: Uint8Array, buf: ArrayBufferLike): RefBuffer | undefined {
    const arena = this.byBuffer.get(buf);
    if (arena === undefined || !arena.attachable || this.closed) return undefined;
    const bs = arena.blockSize;
    const idx = Math.floor(seg.byteOffset / bs);
    const owner = arena.blocks[idx];
    if (owner == null || seg.byteOffset + seg.length > (idx + 1) * bs) return undefined;
    this.lastArena = arena;
    return owner;
  }

  /** The live block `seg` lies in, if it is registered memory; undefined otherwise (it must be copied). */
  lookup(seg: Uint8Array): Lent | undefined {
    const arena = this.byBuffer.get(seg.buffer);
    if (arena === undefined || !arena.attachable || this.closed) return undefined;
    const bs = arena.blockSize;
    const idx = Math.floor(seg.byteOffset / bs);
    const owner = arena.blocks[idx];
    // a view past its block, or of a freed block, is not something we may lend
    if (owner == null || seg.byteOffset + seg.length > (idx + 1) * bs) return undefined;
    return { arena, owner };
  }

  /** `seg` if it is exactly a view allocate() returned and its block is still live. */
  view(seg: Uint8Array): BlockView | undefined {
    const v = this.views.get(seg);
    return v !== undefined && v.owner.refCount > 0 && v.arena.attachable && !this.closed ? v : undefined;
  }

  /** The registrations are gone (the port that made them closed): nothing is eligible any more. */
  markClosed(): void {
    this.closed = true;
  }

  /** The CopyPolicy.isEligible of these ports: may `seg` be sent by reference? (allocation-free) */
  readonly isEligible = (seg: Uint8Array): boolean => this.view(seg) !== undefined || this.owner(seg, seg.buffer) !== undefined;
}
