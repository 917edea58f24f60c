import { RefBuffer } from "@sgwire/core";
import { checkPositiveInt } from "../checks.js";
import type { NativeAddon } from "./native.js";

/** Arena size: each is one rte_extmem_register call (DPDK has room for about a hundred). */
const ARENA_BYTES = 16 << 20;
const MIN_BLOCK = 256;
/** Largest allocate(): one whole arena. */
export const MAX_ALLOCATION = ARENA_BYTES;

/** One registered arena cut into equal blocks of `blockSize` bytes. */
export interface Arena {
  /** The native arena id (descriptors name it as id + 1). */
  id: number;
  /** False when the memory has no IOVA (EAL not in IOVA-as-VA mode): never sent by reference. */
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
 * Memory DPDK can transmit from by reference: arenas of anonymous memory registered with
 * rte_extmem_register (see native/dpdk-eal.cc), cut into power-of-two blocks. allocate() returns
 * a RefBuffer holding one reference; when every reference is dropped (the application's and
 * those of sends in flight) the block goes back to its free list and may be handed out again.
 * Arenas are kept for the life of the process, so memory JavaScript can see is never unmapped
 * while a view of it exists.
 *
 * One instance per thread (arenas belong to the Node.js environment that mapped them): every
 * DPDK port of the thread can send from any of its registered buffers.
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

  constructor(private readonly native: NativeAddon) {}

  allocate(size: number): RefBuffer {
    checkPositiveInt(size, "dpdk port: allocate size", MAX_ALLOCATION);
    let bs = MIN_BLOCK;
    while (bs < size) bs *= 2;
    let list = this.classes.get(bs);
    if (list === undefined) this.classes.set(bs, (list = []));
    let arena = list.find((a) => a.free.length > 0);
    if (arena === undefined) {
      const [ab, id, attachable] = this.native.allocArena(ARENA_BYTES);
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
    if (arena === undefined || !arena.attachable) return undefined;
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
    if (arena === undefined || !arena.attachable) return undefined;
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
    return v !== undefined && v.owner.refCount > 0 && v.arena.attachable ? v : undefined;
  }

  /** The CopyPolicy.isEligible of DPDK ports: may `seg` be sent by reference? (allocation-free) */
  readonly isEligible = (seg: Uint8Array): boolean => this.view(seg) !== undefined || this.owner(seg, seg.buffer) !== undefined;
}
