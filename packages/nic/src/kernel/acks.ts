/**
 * The messages written to one TCP connection that its peer has not acknowledged yet, by where
 * they end in the stream. Both TCP engines keep one per connection and learn how far the peer
 * acknowledged from the kernel (the socket's unacknowledged byte count).
 */
export class UnackedMessages {
  /** Stream bytes written to the kernel. */
  written = 0;
  /** [end offset, bytes] pairs, from `head`. */
  private ends: number[] = [];
  private head = 0;

  /** A message of `bytes` was written after the others. */
  add(bytes: number): void {
    this.written += bytes;
    this.ends.push(this.written, bytes);
  }

  /** Messages not acknowledged yet. */
  get count(): number {
    return (this.ends.length - this.head) / 2;
  }

  /**
   * The peer acknowledged the stream up to `acked` (Infinity: all): each message that ends there
   * or before counts in `stats` as sent (messagesSent, bytesSent).
   */
  confirm(acked: number, stats: { messagesSent: number; bytesSent: number }): void {
    const u = this.ends;
    let h = this.head;
    while (h < u.length && u[h]! <= acked) {
      stats.messagesSent++;
      stats.bytesSent += u[h + 1]!;
      h += 2;
    }
    if (h === u.length) this.clear();
    else if (h > 1024) {
      this.ends = u.slice(h);
      this.head = 0;
    } else this.head = h;
  }

  /** Forgets every message (they were counted elsewhere: lost, or dropped). */
  clear(): void {
    this.ends = [];
    this.head = 0;
  }
}
