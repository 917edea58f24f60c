/// <reference types="node" preserve="true" />
import { EventEmitter } from "node:events";
import { SgList, type CopyPolicy, type MessageType, type RefBuffer } from "@sgwire/core";
import type { Endpoint, FaultKind, Port, PortCaps, PortFault, PortStats, ReceivedMessage, SendCodec } from "./port.js";
import { FAULT_KINDS } from "./port.js";
import { checkEndpoint, DEFAULT_MAX_RX_HELD_BYTES, isSgList } from "./checks.js";
import type { SendArena } from "./send-arena.js";

/**
 * A received message whose memory is given back by `free` (called once, on release). `bytes` is
 * always a plain Uint8Array: a Buffer is re-viewed (same memory, no copy), so every backend hands
 * the application the same type.
 */
export class RxMessage implements ReceivedMessage {
  private live = true;
  /** Bytes counted in the port's rxHeldBytes while this message is held. */
  readonly heldBytes: number;
  /** Set by PortBase.deliver: gives the message's share of rxHeld/rxHeldBytes back. */
  settle: ((m: RxMessage) => void) | null = null;
  /** Valid until release(). */
  public bytes: Uint8Array;
  constructor(
    bytes: Uint8Array,
    readonly source: Endpoint,
    private readonly free: ((m: RxMessage) => void) | null,
  ) {
    this.bytes = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.heldBytes = bytes.byteLength;
  }

  get released(): boolean {
    return !this.live;
  }

  release(): void {
    if (!this.live) throw new Error("ReceivedMessage.release: already released");
    this.live = false;
    const s = this.settle;
    this.settle = null;
    s?.(this);
    this.free?.(this);
  }

  decode<T>(codec: MessageType<T>): T {
    if (!this.live) throw new Error("ReceivedMessage.decode: the message was released; its bytes are gone");
    return codec.fromBinary(this.bytes);
  }
}

export function newFaultCounts(): Record<FaultKind, number> {
  const f = {} as Record<FaultKind, number>;
  for (const k of FAULT_KINDS) f[k] = 0;
  return f;
}

export function newStats(): PortStats {
  return {
    messagesSent: 0,
    bytesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    bytesCopied: 0,
    bytesReferenced: 0,
    copies: { encoder: 0, port: 0, driver: 0 },
    txRingFull: 0,
    completionsPending: 0,
    queued: 0,
    drops: 0,
    rxHeld: 0,
    rxHeldBytes: 0,
    rxCopied: 0,
    rxBytesCopied: 0,
    zeroCopySent: 0,
    zeroCopyCopied: 0,
    faults: newFaultCounts(),
  };
}

/** Faults that lose messages: they count in `drops` as well. */
const LOSSES: ReadonlySet<FaultKind> = new Set<FaultKind>([
  "send-failed", "oversize", "bad-frame", "truncated", "undecodable", "rx-overflow", "unknown-peer",
]);

/**
 * An exception from the application's own callback (onMessage handler, 'fault' listener) is
 * not the port's: it is rethrown outside the port's loop, as an uncaught exception, like any
 * exception thrown by a callback, and the port keeps receiving.
 */
export function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/**
 * What every backend shares: option checks on send, encoding with the port's policy, the
 * receive queue (async iterator or callback), completion and drain promises, stats.
 * A backend implements `transmit` (hand one valid SgList to the transport), `allocate` and
 * `shutdown`.
 */
export abstract class PortBase extends EventEmitter implements Port {
  abstract readonly caps: PortCaps;
  abstract readonly policy: Required<CopyPolicy>;
  abstract readonly localAddress: Endpoint;

  protected readonly st: PortStats = newStats();
  protected isClosed = false;
  /**
   * Reused for `send({codec, message})`: safe because transmit either copies its scratch before
   * returning, or (with a sendArena) the scratch is send memory this send alone holds.
   */
  private readonly encodeInto = new SgList(256);
  /**
   * Send memory the encoder writes into for `send({ codec, message })` (kernel ports): the port
   * then sends the scratch as it is, no copy. Null: transmit copies the scratch of every list.
   */
  protected sendArena: SendArena | null = null;
  /** `policy` plus `into`, built once: an object spread per send costs more than the encode. */
  private encodeOptions: (Required<CopyPolicy> & { into: SgList }) | null = null;
  private rxQueue: RxMessage[] = [];
  private rxWaiters: Array<(r: IteratorResult<ReceivedMessage>) => void> = [];
  private handler: ((m: ReceivedMessage) => void) | null = null;
  private idleWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];
  /** send() returned false since the last 'drain': one 'drain' is owed. */
  protected owesDrain = false;
  /** Bound on what received, unreleased messages may hold (the `maxRxHeldBytes` option). */
  protected maxRxHeldBytes = DEFAULT_MAX_RX_HELD_BYTES;

  get stats(): PortStats {
    this.refreshStats();
    // a driver that copies every byte copies what went out: what the transport reported sent
    // "some": the backend counts what the driver copied, message by message
    const driver = this.caps.driverCopies === "all" ? this.st.bytesSent : this.caps.driverCopies === "some" ? this.st.copies.driver : 0;
    return { ...this.st, copies: { ...this.st.copies, driver }, faults: { ...this.st.faults } };
  }

  /** Hook: bring counters read from outside (procfs, the driver) up to date before a snapshot. */
  protected refreshStats(): void {}

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Counts a fault of one peer or one message and reports it with a `'fault'` event (nothing
   * happens when nobody listens). Losses (every kind but peer-reset and socket-error) count in
   * `drops` too. Never throws: an exception from a listener is rethrown outside the port.
   */
  protected fault(kind: FaultKind, error: Error, peer: Endpoint | null = null, count = 1): void {
    if (count <= 0) return;
    this.st.faults[kind] += count;
    if (LOSSES.has(kind)) this.st.drops += count;
    if (this.listenerCount("fault") === 0) return;
    const f: PortFault = { kind, count, peer, error };
    try {
      this.emit("fault", f);
    } catch (e) {
      rethrowLater(e);
    }
  }

  /**
   * The port itself cannot go on (its device refused a work request, an internal check failed):
   * it stops (what it still holds is dropped and counted, lent buffers given back) and `'error'`
   * says why. Called from the port's own loops instead of throwing there, where an exception
   * would escape from a microtask or timer with the port in an unknown state.
   */
  protected portFailed(error: Error): void {
    const wasOpen = !this.isClosed;
    this.closeWaitMs = 0; // nothing more will go out: close() stops at once
    if (wasOpen) void this.close().catch(rethrowLater);
    this.emit("error", error);
  }

  send(message: SgList, destination: Endpoint): boolean;
  send<T>(message: SendCodec<T>, destination: Endpoint): boolean;
  send<T>(message: SgList | SendCodec<T>, destination: Endpoint): boolean {
    const name = this.caps.backend;
    if (this.isClosed) throw new Error(`${name} port: send() after close()`);
    // the destination of the last send, unchanged, was checked then (no error text built per send)
    const dest =
      destination === this.lastDestination && destination.port === this.lastPort && destination.address === this.lastAddress
        ? destination
        : this.checkDestination(destination);
    let list: SgList;
    let owned = false;
    if (isSgList(message)) {
      list = message;
    } else if (message !== null && typeof message === "object" && typeof (message as SendCodec<T>).codec?.encode === "function") {
      const m = message as SendCodec<T>;
      // with send memory to lend, the encoder writes the scratch there: the only copy of it
      const lent = this.lendScratch();
      owned = lent !== null;
      list = m.codec.encode(m.message, lent ?? (this.encodeOptions ??= { ...this.policy, into: this.encodeInto }));
    } else {
      throw new TypeError(`${name} port: send() takes an SgList or { codec, message }`);
    }
    if (list.byteLength > this.caps.maxMessageBytes) {
      throw new RangeError(
        `${name} port: message of ${list.byteLength} bytes exceeds maxMessageBytes ${this.caps.maxMessageBytes}`,
      );
    }
    const segs = list.segments;
    if (segs.length > this.caps.maxSegments) {
      throw new RangeError(
        `${name} port: message has ${segs.length} segments, more than maxSegments ${this.caps.maxSegments}` +
          ` (encode with port.policy to stay within it)`,
      );
    }
    // every segment must still be the memory encode() saw: a transferred (detached) ArrayBuffer
    // or a resized one is refused here, before the port changes anything
    let total = 0;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (!(s instanceof Uint8Array)) throw new TypeError(`${name} port: segment ${i} is not a Uint8Array`);
      total += s.byteLength;
    }
    if (total !== list.byteLength) {
      throw new TypeError(
        `${name} port: the message's segments hold ${total} bytes but it was encoded as ${list.byteLength}` +
          " (a referenced buffer was transferred, detached or resized after encode())",
      );
    }
    const ok = this.transmit(list, dest, owned);
    // accepted (transmit throws, having changed nothing, when it refuses): the encoder's share
    this.st.copies.encoder += list.bytesCopied;
    if (!ok) this.owesDrain = true;
    return ok;
  }

  private lastDestination: Endpoint | null = null;
  private lastPort = 0;
  private lastAddress = "";

  private checkDestination(destination: Endpoint): Endpoint {
    const dest = checkEndpoint(destination, `${this.caps.backend} port: send() destination`);
    this.lastDestination = dest;
    this.lastPort = dest.port;
    this.lastAddress = dest.address;
    return dest;
  }

  /**
   * Before `send({ codec, message })` encodes: the encode options (the port's policy and a list
   * whose scratch is send memory of the port) to encode with, or null to encode into the reused
   * list and have transmit copy its scratch as for any list. The default lends from `sendArena`
   * when there is one.
   */
  protected lendScratch(): (Required<CopyPolicy> & { into: SgList }) | null {
    if (this.sendArena === null) return null;
    this.sendArena.lend(this.encodeInto);
    return (this.encodeOptions ??= { ...this.policy, into: this.encodeInto });
  }

  /**
   * Hands a checked list to the transport; returns false under back-pressure. `owned`: the list's
   * scratch was written into memory lendScratch lent (a sendArena: take it from there) or into
   * memory the list allocated for this send alone, so it needs no copy; otherwise the caller may
   * reuse the list at once.
   */
  protected abstract transmit(list: SgList, destination: Endpoint, owned: boolean): boolean;
  abstract allocate(size: number): RefBuffer;
  /**
   * Releases the transport's resources; called once by close(), after pending sends completed
   * or, with `force`, after close() stopped waiting for them.
   */
  protected abstract shutdown(force: boolean): Promise<void>;

  // ---- receive side

  /**
   * Backends call this for each received message. An exception thrown by the application's
   * handler does not reach the backend's loop: it is rethrown outside it (see rethrowLater) and
   * receiving goes on.
   */
  protected deliver(m: RxMessage): void {
    this.st.messagesReceived++;
    this.st.bytesReceived += m.heldBytes;
    this.st.rxHeld++;
    this.st.rxHeldBytes += m.heldBytes;
    m.settle = this.settle;
    const h = this.handler;
    if (h !== null) {
      try {
        h(m);
      } catch (e) {
        rethrowLater(e);
      }
      return;
    }
    const w = this.rxWaiters.shift();
    if (w !== undefined) w({ value: m, done: false });
    else this.rxQueue.push(m);
  }

  private readonly settle = (m: RxMessage): void => {
    const wasFull = this.rxFull;
    this.st.rxHeld--;
    this.st.rxHeldBytes -= m.heldBytes;
    if (wasFull && !this.rxFull && !this.isClosed) this.rxRoomAvailable();
  };

  /** Kept for backends written before RxMessage settled its own accounting: does nothing now. */
  protected released(): void {}

  /** True while received, unreleased messages hold `maxRxHeldBytes` or more: stop reading. */
  protected get rxFull(): boolean {
    return this.st.rxHeldBytes >= this.maxRxHeldBytes;
  }

  /** Hook: held bytes fell back under `maxRxHeldBytes` (resume reading). */
  protected rxRoomAvailable(): void {}

  onMessage(handler: ((m: ReceivedMessage) => void) | null): void {
    if (handler !== null && typeof handler !== "function") throw new TypeError("onMessage: handler must be a function or null");
    this.handler = handler;
    if (handler !== null) {
      const q = this.rxQueue;
      this.rxQueue = [];
      for (const m of q) {
        try {
          handler(m);
        } catch (e) {
          rethrowLater(e);
        }
      }
    }
    this.receiversChanged();
  }

  /** Hook for polling backends: whether anyone is waiting for messages changed. */
  protected receiversChanged(): void {}

  protected get wantsMessages(): boolean {
    return this.handler !== null || this.rxWaiters.length > 0;
  }

  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    return {
      next: (): Promise<IteratorResult<ReceivedMessage>> => {
        const m = this.rxQueue.shift();
        if (m !== undefined) return Promise.resolve({ value: m, done: false });
        if (this.isClosed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.rxWaiters.push(resolve);
          this.receiversChanged();
        });
      },
      return: (): Promise<IteratorResult<ReceivedMessage>> => Promise.resolve({ value: undefined, done: true }),
    };
  }

  // ---- completions and back-pressure

  protected sendCompleted(n = 1): void {
    this.st.completionsPending -= n;
    if (this.st.completionsPending === 0 && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }

  /**
   * The backend can take sends again: resolves drained() and, when send() returned false since
   * the last one, emits 'drain' (once per such episode).
   */
  protected drainedNow(): void {
    const owed = this.owesDrain;
    this.owesDrain = false;
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
    if (owed) this.emit("drain");
  }

  /** Someone waits for the queue to empty: a 'drain' is owed or drained() was called. */
  protected get drainAwaited(): boolean {
    return this.owesDrain || this.drainWaiters.length > 0;
  }

  completions(): Promise<void> {
    if (this.st.completionsPending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when nothing is queued and no 'drain' is owed (send() may be called again). */
  drained(): Promise<void> {
    if (this.st.queued === 0 && !this.owesDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** How long close() waits for queued sends and completions before it stops the transport anyway. */
  protected closeWaitMs = 5000;

  /**
   * Stops accepting sends, waits (at most closeWaitMs) until what was accepted has gone out and
   * completed, then frees the transport. After the wait runs out (a peer that never reads, a
   * link that never takes packets) the transport is stopped with messages in it: they count as
   * drops and their lent buffers are given back only once the transport can no longer read them.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      (async () => {
        await this.drained();
        await this.completions();
        return true;
      })(),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.closeWaitMs))),
    ]);
    clearTimeout(timer);
    await this.shutdown(!settled);
    if (!settled) {
      // a stopped transport reports its cancelled sends (and releases what they lent) shortly
      const t = new Promise<void>((r) => (timer = setTimeout(r, 1000)));
      await Promise.race([this.completions(), t]);
      clearTimeout(timer);
    }
    const ws = this.rxWaiters;
    this.rxWaiters = [];
    for (const w of ws) w({ value: undefined, done: true });
    this.handler = null;
  }
}
