import { SgList, type CopyPolicy } from "@sgwire/core";

/** The encode options a port lends for send({ codec, message }). */
export type LendOptions = Required<CopyPolicy> & { into: SgList };

/**
 * Fixed slots of a port's staging memory that `send({ codec, message })` has the encoder write
 * its scratch into, so that the port copies none of it (DPDK: the native side copies it once into
 * the mbuf; ibverbs: the device reads it from the registered region). Each slot has a list of its
 * own: the encoder keeps its views of a list's scratch from one message to the next, so a steady
 * stream allocates nothing (a region of the buffer handed out per message would need a new view
 * each time, which costs more than the copy it saves).
 *
 * A slot is lent by lend(), claimed by take() when the port accepts the message, and given back
 * by release() once the device is done with it. A message whose scratch outgrew its slot (the
 * encoder then used memory of its own), or a send when every slot is in use, is copied as the
 * scratch of any list is. A slot's list keeps the larger scratch it grew while its messages do
 * not fit (so a stream of large messages allocates nothing either), and goes back to the slot
 * after a message that would have fitted.
 */
export class StagingSlots {
  private readonly lists: SgList[] = [];
  private windows: Uint8Array[] = [];
  private readonly free: number[] = [];
  /** The slot lend() gave the current send; kept for the next one if this send threw first. */
  private lent = -1;
  private options: LendOptions | null = null;

  constructor(
    readonly count: number,
    readonly bytes: number,
  ) {
    for (let k = count - 1; k >= 0; k--) {
      this.lists[k] = new SgList(0);
      this.free.push(k);
    }
  }

  /** Bytes of staging memory the slots take. */
  get regionBytes(): number {
    return this.count * this.bytes;
  }

  /** Places the slots in `buffer` from `base`: at the start and whenever the staging memory is replaced. */
  cut(buffer: ArrayBufferLike, base = 0): void {
    this.windows = [];
    for (let k = 0; k < this.count; k++) this.windows[k] = new Uint8Array(buffer, base + k * this.bytes, this.bytes);
  }

  /** The encode options for the next send({ codec, message }): a free slot's list, or null if none is free. */
  lend(policy: Required<CopyPolicy>): LendOptions | null {
    let k = this.lent;
    if (k < 0) {
      const f = this.free.pop();
      if (f === undefined) return null;
      this.lent = k = f;
    }
    const list = this.lists[k]!;
    const win = this.windows[k]!;
    // back to the slot: after it was cut anew, or after a message that would have fitted it
    if (list.scratch !== win && (list.scratch.length <= win.length || list.bytesCopied <= win.length)) list.useScratch(win);
    const o = (this.options ??= { ...policy, into: list });
    o.into = list;
    return o;
  }

  /**
   * The slot holding the scratch of `list`, the message being accepted, or -1 when it is not in
   * one (`owned` false: encoded elsewhere; or its scratch outgrew the slot). A slot returned is
   * the caller's until release().
   */
  take(list: SgList, owned: boolean): number {
    if (!owned) return -1;
    const k = this.lent;
    this.lent = -1;
    if (k < 0) return -1;
    if (list.scratch !== this.windows[k]) {
      this.free.push(k);
      return -1;
    }
    return k;
  }

  /** The device is done with slot `k` (-1 is ignored). */
  release(k: number): void {
    if (k >= 0) this.free.push(k);
  }

  /** Slots not lent or holding a message (for tests). */
  get freeCount(): number {
    return this.free.length + (this.lent >= 0 ? 1 : 0);
  }
}
