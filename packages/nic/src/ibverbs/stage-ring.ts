/**
 * Allocation in the registered staging region. Scratch bytes of a message must stay put until
 * its work request completes (the device reads them by DMA at any time before that), so the
 * region is a ring: each message takes one contiguous run at the head, and runs are given back
 * in the order they were taken (the port frees a message's run only when it and every older
 * message completed). A run that does not fit before the end wraps to offset 0; the skipped
 * tail is accounted to that run, so freeing in order keeps `tail` exact.
 */
export class StageRing {
  private head = 0;
  private tail = 0;
  private used = 0;
  /** Bytes the last successful alloc() consumed (its length plus any skipped tail). */
  consumed = 0;

  constructor(readonly size: number) {}

  /** Offset of `n` contiguous bytes, or -1 if the ring has no room now. */
  alloc(n: number): number {
    const S = this.size;
    if (n === 0) {
      this.consumed = 0;
      return 0;
    }
    if (n > S || this.used + n > S) return -1;
    if (this.used === 0) this.head = this.tail = 0;
    let off: number;
    if (this.head >= this.tail) {
      // free space: [head, S) and [0, tail)
      if (S - this.head >= n) {
        off = this.head;
        this.consumed = n;
      } else if (this.tail >= n) {
        off = 0;
        this.consumed = S - this.head + n;
        if (this.used + this.consumed > S) return -1;
      } else return -1;
    } else {
      if (this.tail - this.head < n) return -1;
      off = this.head;
      this.consumed = n;
    }
    this.head = (off + n) % S;
    this.used += this.consumed;
    return off;
  }

  /** Gives back the oldest run (`consumed` as alloc() reported it). */
  free(consumed: number): void {
    if (consumed === 0) return;
    this.tail = (this.tail + consumed) % this.size;
    this.used -= consumed;
  }

  get bytesUsed(): number {
    return this.used;
  }
}
