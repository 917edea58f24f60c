import { RefBuffer } from "@sgwire/core";
import { checkPositiveInt } from "./checks.js";

/**
 * allocate() for kernel-socket backends: every buffer is its own ArrayBuffer (never a slice of
 * Node's 8 KiB pool, so lending one pins nothing else). The kernel can send from any memory;
 * what this adds is ownership: the port retains a buffer for each send that references it and
 * releases it at completion, so `refCount` tells the application when it may rewrite it.
 */
export class HeapMemory {
  private readonly owners = new WeakMap<ArrayBufferLike, RefBuffer>();

  allocate(size: number, where: string): RefBuffer {
    checkPositiveInt(size, `${where}: allocate size`, 2 ** 31 - 1);
    const bytes = new Uint8Array(size);
    const rb = new RefBuffer(bytes, () => this.owners.delete(bytes.buffer));
    this.owners.set(bytes.buffer, rb);
    return rb;
  }

  /** The live RefBuffer whose memory `seg` is a view of, if it came from allocate(). */
  owner(seg: Uint8Array): RefBuffer | undefined {
    const rb = this.owners.get(seg.buffer);
    return rb !== undefined && rb.refCount > 0 ? rb : undefined;
  }
}
