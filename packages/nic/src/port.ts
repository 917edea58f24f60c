import type { EventEmitter } from "node:events";
import type { CopyPolicy, MessageType, RefBuffer, SgList } from "@sgwire/core";

/** Names of the transports `openPort` knows. */
export type BackendName = "udp" | "tcp" | "dpdk" | "ibverbs";

/** Where a message goes, or where it came from: an IPv4 address (or host name for kernel backends) and a port. */
export interface Endpoint {
  address: string;
  port: number;
}

/** What a port can do; encoders take `policy` as their CopyPolicy. */
export interface PortCaps {
  backend: BackendName;
  /** The driver behind the port, e.g. "kernel-udp", "net_null", "net_af_packet". */
  driver: string;
  /** Most segments one message may have (a larger SgList is rejected by send). */
  maxSegments: number;
  /** Largest encoded message, in bytes (a larger one is rejected by send). */
  maxMessageBytes: number;
  /** The copy threshold this backend recommends, in bytes. */
  copyThreshold: number;
  /** True when any Uint8Array may be referenced; false when only memory from allocate() may. */
  referencesAnyMemory: boolean;
}

/** Counters since the port was opened. A snapshot: `port.stats` returns a new object. */
export interface PortStats {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  /** Payload bytes copied on the way out (scratch segments and ineligible references). */
  bytesCopied: number;
  /** Payload bytes handed to the transport by reference (never touched by the CPU here). */
  bytesReferenced: number;
  /** Times a send found the transmit path full and kept (part of) its messages queued. */
  txRingFull: number;
  /** Messages sent but not yet completed (their lent buffers are still held). */
  completionsPending: number;
  /** Messages queued in the port because of back-pressure, not yet handed to the transport. */
  queued: number;
  /** Received frames or stream bytes that were not valid messages for this port, and transmit errors. */
  drops: number;
  /** Received messages handed to the application and not yet released. */
  rxHeld: number;
}

/**
 * A received message. `bytes` is a view of the receive buffer (an mbuf for DPDK, the kernel
 * read buffer for sockets), not a copy: it is valid until `release()`. After release the port
 * may reuse the memory; for DPDK the view is detached (it becomes empty) so stale reads cannot
 * see another packet. Decoded bytes fields are views too and share that lifetime.
 */
export interface ReceivedMessage {
  readonly bytes: Uint8Array;
  readonly source: Endpoint;
  /** Gives the receive buffer back. Calling it twice throws. */
  release(): void;
  /** Decodes `bytes` with a generated codec (bytes fields are views: valid until release()). */
  decode<T>(codec: MessageType<T>): T;
}

/** What `send` takes besides an SgList: a message and its generated codec. */
export interface SendCodec<T> {
  codec: MessageType<T>;
  message: T;
}

export interface Port extends EventEmitter {
  readonly caps: PortCaps;
  /** The copy policy to encode with for this port (from caps; isEligible for registered memory). */
  readonly policy: Required<CopyPolicy>;
  readonly stats: PortStats;
  /** The local address the port receives on. */
  readonly localAddress: Endpoint;
  readonly closed: boolean;

  /**
   * Sends one message: an SgList (as an encoder returned it) or a message with its codec
   * (encoded here with `policy`). Scratch segments are copied by the port before send returns,
   * so the SgList may be reused at once. Referenced segments are lent to the transport until
   * the send completes: buffers from `allocate()` are retained and released by the port; any
   * other referenced Uint8Array must not be mutated until `completions()` resolves.
   *
   * Returns true when the transport took the message and has room for more; false when the
   * port is under back-pressure (the message is kept queued and will be sent): wait for the
   * 'drain' event or `drained()` before sending more. Throws RangeError for a message over
   * `caps.maxMessageBytes` or with more than `caps.maxSegments` segments, Error after close().
   */
  send(message: SgList, destination?: Endpoint): boolean;
  send<T>(message: SendCodec<T>, destination?: Endpoint): boolean;

  /** Memory the transport can send from by reference. One reference, held by the caller. */
  allocate(size: number): RefBuffer;

  /**
   * Received messages, in arrival order. Each must be released. Only one consumer at a time:
   * either this iterator or `onMessage`.
   */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage>;
  /** Calls `handler` for every received message (replaces any previous handler; null stops). */
  onMessage(handler: ((m: ReceivedMessage) => void) | null): void;

  /** Resolves when nothing is queued by back-pressure any more. */
  drained(): Promise<void>;
  /** Resolves when every send so far has completed (all lent buffers are back). */
  completions(): Promise<void>;
  /** Stops receiving, waits for pending sends to complete, frees the transport. */
  close(): Promise<void>;
}
