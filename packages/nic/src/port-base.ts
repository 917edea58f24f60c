import { EventEmitter } from "node:events";
import { SgList, type CopyPolicy, type MessageType, type RefBuffer } from "@sgwire/core";
import type { Endpoint, Port, PortCaps, PortStats, ReceivedMessage, SendCodec } from "./port.js";

/** A received message whose memory is given back by `free` (called once, on release). */
export class RxMessage implements ReceivedMessage {
  private live = true;
  constructor(
    /** Valid until release(). */
    public bytes: Uint8Array,
    readonly source: Endpoint,
    private readonly free: ((m: RxMessage) => void) | null,
  ) {}

  get released(): boolean {
    return !this.live;
  }

  release(): void {
    if (!this.live) throw new Error("ReceivedMessage.release: already released");
    this.live = false;
    this.free?.(this);
  }

  decode<T>(codec: MessageType<T>): T {
    if (!this.live) throw new Error("ReceivedMessage.decode: the message was released; its bytes are gone");
    return codec.fromBinary(this.bytes);
  }
}

export function newStats(): PortStats {
  return {
    messagesSent: 0,
    bytesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    bytesCopied: 0,
    bytesReferenced: 0,
    txRingFull: 0,
    completionsPending: 0,
    queued: 0,
    drops: 0,
    rxHeld: 0,
  };
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
  /** Reused for `send({codec, message})`: safe because transmit copies scratch before returning. */
  private readonly encodeInto = new SgList(256);
  /** `policy` plus `into`, built once: an object spread per send costs more than the encode. */
  private encodeOptions: (Required<CopyPolicy> & { into: SgList }) | null = null;
  private rxQueue: ReceivedMessage[] = [];
  private rxWaiters: Array<(r: IteratorResult<ReceivedMessage>) => void> = [];
  private handler: ((m: ReceivedMessage) => void) | null = null;
  private idleWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];

  get stats(): PortStats {
    return { ...this.st };
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(message: SgList, destination?: Endpoint): boolean;
  send<T>(message: SendCodec<T>, destination?: Endpoint): boolean;
  send<T>(message: SgList | SendCodec<T>, destination?: Endpoint): boolean {
    const name = this.caps.backend;
    if (this.isClosed) throw new Error(`${name} port: send() after close()`);
    let list: SgList;
    if (message instanceof SgList) {
      list = message;
    } else if (message !== null && typeof message === "object" && typeof (message as SendCodec<T>).codec?.encode === "function") {
      const m = message as SendCodec<T>;
      list = m.codec.encode(m.message, (this.encodeOptions ??= { ...this.policy, into: this.encodeInto }));
    } else {
      throw new TypeError(`${name} port: send() takes an SgList or { codec, message }`);
    }
    if (list.byteLength > this.caps.maxMessageBytes) {
      throw new RangeError(
        `${name} port: message of ${list.byteLength} bytes exceeds maxMessageBytes ${this.caps.maxMessageBytes}`,
      );
    }
    if (list.segments.length > this.caps.maxSegments) {
      throw new RangeError(
        `${name} port: message has ${list.segments.length} segments, more than maxSegments ${this.caps.maxSegments}` +
          ` (encode with port.policy to stay within it)`,
      );
    }
    return this.transmit(list, destination);
  }

  /** Hands a checked list to the transport; returns false under back-pressure. */
  protected abstract transmit(list: SgList, destination: Endpoint | undefined): boolean;
  abstract allocate(size: number): RefBuffer;
  /**
   * Releases the transport's resources; called once by close(), after pending sends completed
   * or, with `force`, after close() stopped waiting for them.
   */
  protected abstract shutdown(force: boolean): Promise<void>;

  // ---- receive side

  /** Backends call this for each received message. */
  protected deliver(m: ReceivedMessage): void {
    this.st.messagesReceived++;
    this.st.bytesReceived += m.bytes.length;
    this.st.rxHeld++;
    if (this.handler !== null) {
      this.handler(m);
      return;
    }
    const w = this.rxWaiters.shift();
    if (w !== undefined) w({ value: m, done: false });
    else this.rxQueue.push(m);
  }

  /** Backends call this when a received message is released. */
  protected released(): void {
    this.st.rxHeld--;
  }

  onMessage(handler: ((m: ReceivedMessage) => void) | null): void {
    if (handler !== null && typeof handler !== "function") throw new TypeError("onMessage: handler must be a function or null");
    this.handler = handler;
    if (handler !== null) {
      const q = this.rxQueue;
      this.rxQueue = [];
      for (const m of q) handler(m);
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

  protected drainedNow(): void {
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
    this.emit("drain");
  }

  completions(): Promise<void> {
    if (this.st.completionsPending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  drained(): Promise<void> {
    if (this.st.queued === 0) return Promise.resolve();
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
