import type { RefBuffer } from "@sgwire/core";
import { PortBase } from "./port-base.js";
import { LentBufferMutatedError, type LentRecord } from "./lent-check.js";

/** Messages staged before they are handed to the native side in one call (as DPDK's examples use). */
export const TX_BURST = 32;

/** The registered buffers one in-flight message lent: none, one, or several. */
export type Lent = RefBuffer | RefBuffer[] | undefined;

/** `prev` with `rb` added (retain `rb` first: the message now holds a reference). */
export function addLent(prev: Lent, rb: RefBuffer): Lent {
  if (prev === undefined) return rb;
  if (Array.isArray(prev)) {
    prev.push(rb);
    return prev;
  }
  return [prev, rb];
}

/** Drops the references a message held, once the device can no longer read them. */
export function releaseLent(l: Lent): void {
  if (l === undefined) return;
  if (Array.isArray(l)) for (const rb of l) rb.release();
  else l.release();
}

type PollTimer = NodeJS.Immediate | NodeJS.Timeout;

/**
 * The skeleton of the ports whose native side is polled from the JavaScript thread (DPDK and
 * ibverbs): staged messages are handed over a burst at a time (TX_BURST, or at the end of the
 * tick), back-pressure follows what is staged or queued, and one poll loop (setImmediate while
 * there is progress, a 1 ms timer after 64 idle polls) hands over what is left, reaps
 * completions and receives, for as long as there is work.
 *
 * A backend writes its descriptors and then calls scheduleFlush(); it implements flush() (hand
 * the staged messages over, reap completions, then updatePressure()), queuedBeyondStage() (what
 * it accepted and holds outside the staged descriptors) and receiveBurst(); pollExtra() is work
 * of its own (connection events). shutdown() starts with stopPolling().
 */
export abstract class PolledPort extends PortBase {
  /** The native side is closed: nothing is handed over or polled any more. */
  protected down = false;
  protected backpressured = false;
  /** Messages whose descriptors are written and not yet handed to the native side. */
  protected nStaged = 0;
  /**
   * Whether the loop polls while the port is idle (ibverbs: to accept connections); such polls do
   * not keep the process alive.
   */
  protected pollsWhenIdle = false;
  private flushQueued = false;
  private pollTimer: PollTimer | null = null;
  private idlePolls = 0;

  /** Hands the staged messages to the native side, reaps completions, and calls updatePressure(). */
  protected abstract flush(): void;
  /** Messages accepted and held outside the staged descriptors (a native backlog, an overflow queue). */
  protected abstract queuedBeyondStage(): number;
  /** Receives one burst and delivers it; returns how many messages arrived. */
  protected abstract receiveBurst(): number;
  /** The backend's own work at the start of each poll (connection events); whether anything moved. */
  protected pollExtra(): boolean {
    return false;
  }
  /** The backend's own work that keeps the loop running (connects in progress). */
  protected get extraWork(): boolean {
    return false;
  }

  /** After a message was staged: a full burst goes now, anything less at the end of this tick. */
  protected scheduleFlush(): void {
    if (this.nStaged >= TX_BURST) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushSoon);
    }
  }

  private readonly flushSoon = (): void => {
    this.flushQueued = false;
    if (!this.down && this.nStaged > 0) this.flush();
  };

  /** Back-pressure from what is still queued; 'drain' once it is all handed over. */
  protected updatePressure(): void {
    const queued = this.nStaged + this.queuedBeyondStage();
    this.st.queued = queued;
    if (queued > 0) {
      if (!this.backpressured) {
        this.backpressured = true;
        this.st.txRingFull++;
      }
      this.schedulePoll();
    } else if (this.backpressured) {
      this.backpressured = false;
      this.drainedNow();
    }
    if (this.st.completionsPending > 0) this.schedulePoll();
  }

  protected override receiversChanged(): void {
    if (this.wantsMessages) this.schedulePoll();
  }

  private get busy(): boolean {
    return this.wantsMessages || this.nStaged > 0 || this.queuedBeyondStage() > 0 || this.st.completionsPending > 0 || this.extraWork;
  }

  protected schedulePoll(): void {
    if (this.down) return;
    if (this.pollTimer !== null) {
      // work arrived while the loop only listened: the pending poll must now keep the process alive
      if (this.pollsWhenIdle && this.busy) this.pollTimer.ref();
      return;
    }
    this.pollTimer = this.idlePolls > 64 ? setTimeout(this.poll, 1) : setImmediate(this.poll);
    if (!this.busy) this.pollTimer.unref();
  }

  private readonly poll = (): void => {
    this.pollTimer = null;
    if (this.down) return;
    let progress = this.pollExtra();
    const before = this.st.completionsPending + this.nStaged + this.queuedBeyondStage();
    if (before > 0) {
      this.flush();
      if (this.down) return;
      progress ||= this.st.completionsPending + this.nStaged + this.queuedBeyondStage() !== before;
    }
    while (this.wantsMessages && !this.down) {
      if (this.receiveBurst() === 0) break;
      progress = true;
    }
    this.idlePolls = progress ? 0 : this.idlePolls + 1;
    if (this.pollsWhenIdle || this.busy) this.schedulePoll();
  };

  /** debugLentBuffers: reports a message whose lent buffers changed before the device was done. */
  protected checkLent(rec: LentRecord | undefined): void {
    const changed = rec?.changed() ?? null;
    if (changed !== null) this.emit("error", new LentBufferMutatedError(this.caps.backend, changed.length));
  }

  /** The start of shutdown(): false if it already ran; else stops the loop and marks the port down. */
  protected stopPolling(): boolean {
    if (this.down) return false;
    this.down = true;
    if (this.pollTimer !== null) {
      clearTimeout(this.pollTimer as NodeJS.Timeout);
      clearImmediate(this.pollTimer as NodeJS.Immediate);
      this.pollTimer = null;
    }
    return true;
  }

  /** The end of shutdown(): nothing is queued any more, and every send still pending is settled. */
  protected settleAfterShutdown(): void {
    this.nStaged = 0;
    this.st.queued = 0;
    if (this.st.completionsPending > 0) this.sendCompleted(this.st.completionsPending);
  }
}
