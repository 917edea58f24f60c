/// <reference types="node" preserve="true" />
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
  /**
   * What the transport copies on its own once the port has handed a message over, counted in
   * `stats.copies.driver`: "all" when it copies every byte it sends (the kernel into its socket
   * buffers for udp/tcp; DPDK's net_af_packet, net_af_xdp, net_tap, net_pcap and the vhost and
   * virtio-user PMDs into their rings or descriptors, in user space, on the sending thread;
   * Soft-RoCE's rxe in the kernel), "none" when the device reads the memory by DMA or the driver
   * frees it unread (net_null), "some" when it depends on the message and the port counts it per
   * message (udp engine "native" with MSG_ZEROCOPY: what the kernel reported it copied).
   */
  driverCopies: "all" | "none" | "some";
}

/** Every CPU copy of outgoing message bytes, by where it happened (bytes, since the port opened). */
export interface CopyLedger {
  /**
   * Written by the encoder: the scratch of the lists the port accepted (tags, lengths, scalars,
   * fields under the copy threshold), the sum of their `bytesCopied`.
   */
  encoder: number;
  /**
   * Copied again by the port on the way to the transport: scratch into the port's own send memory
   * (kernel sockets, ibverbs' registered staging ring), and for DPDK into a staging buffer and then
   * into the mbuf (twice); references the transport cannot send from are copied the same way.
   */
  port: number;
  /** Copied by the driver or the kernel after the port (see `caps.driverCopies`): every byte sent, none, or as counted per message. */
  driver: number;
}

/**
 * What one peer or one message did wrong, as counted in `stats.faults` and reported by the
 * `'fault'` event. A fault never stops the port (that is what `'error'` is for) and the event is
 * safe to leave unhandled. See the README's "Errors and faults" for each backend.
 */
export type FaultKind =
  /** A peer's connection failed or ended with an error (reset, refused, timed out, RC disconnect). One per connection. */
  | "peer-reset"
  /** Messages accepted by send() that did not go out or were not acknowledged (counted in drops). */
  | "send-failed"
  /** A received frame or datagram larger than the port accepts (counted in drops). */
  | "oversize"
  /** A received stream whose framing is malformed (counted in drops; the connection is closed). */
  | "bad-frame"
  /** A stream frame cut off by a disconnect (counted in drops). */
  | "truncated"
  /** A received packet that is not a valid message for this port (counted in drops). */
  | "undecodable"
  /** Received messages lost because a receive buffer, ring or the held-bytes bound was full (counted in drops). */
  | "rx-overflow"
  /** A message from or for a peer the port cannot address, found after send() returned (counted in drops). */
  | "unknown-peer"
  /** An error the transport reported that stops neither the port nor a known peer (e.g. a UDP receive error). */
  | "socket-error";

export const FAULT_KINDS: readonly FaultKind[] = [
  "peer-reset", "send-failed", "oversize", "bad-frame", "truncated", "undecodable", "rx-overflow", "unknown-peer", "socket-error",
];

/** The payload of the `'fault'` event. */
export interface PortFault {
  kind: FaultKind;
  /** How many messages (or, for peer-reset and socket-error, events) this report covers. */
  count: number;
  /** The peer concerned, when there is one. */
  peer: Endpoint | null;
  /** What happened, with a message naming it. */
  error: Error;
}

/** Counters since the port was opened. A snapshot: `port.stats` returns a new object. */
export interface PortStats {
  /**
   * Messages the transport reported delivered: UDP, the datagram was handed to the kernel; TCP,
   * the peer's TCP acknowledged every byte of it (see the README); DPDK/ibverbs, the device
   * completed it. A failed or cancelled send is never counted here.
   */
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  /**
   * Message bytes the port copied on the way out (scratch segments and references the transport
   * cannot send from), each counted once however often the port copied it (`copies.port` counts
   * every copy).
   */
  bytesCopied: number;
  /**
   * Message bytes handed to the transport by reference: the port did not copy them (a driver may:
   * `caps.driverCopies`, `copies.driver`).
   */
  bytesReferenced: number;
  /** Every CPU copy of outgoing bytes, by where it happened: encoder, port, driver. */
  copies: CopyLedger;
  /** Times a send found the transmit path full and kept (part of) its messages queued. */
  txRingFull: number;
  /** Messages sent but not yet completed (their lent buffers are still held). */
  completionsPending: number;
  /**
   * Messages accepted by send() and not yet handed to the transport: held because of
   * back-pressure, or (the native kernel engines) until the end of the event-loop turn, when the
   * turn's sends go to the kernel together.
   */
  queued: number;
  /**
   * Messages lost, sent or received: the sum of the message faults (send-failed, oversize,
   * bad-frame, truncated, undecodable, rx-overflow, unknown-peer) plus what a forced close cancelled.
   */
  drops: number;
  /** Received messages handed to the application and not yet released. */
  rxHeld: number;
  /** Bytes of those messages; bounded by the `maxRxHeldBytes` option. */
  rxHeldBytes: number;
  /**
   * Received messages the port copied into memory of their own instead of handing a view of its
   * receive buffers (udp engine "native": when the application holds most receive slots). 0 on
   * backends that never copy on receive.
   */
  rxCopied: number;
  /**
   * Received bytes the port copied on the way in: udp engine "native", the messages it copied out
   * of its slots; tcp, frames split across reads (engine "net": assembled from Node's chunks;
   * engine "native": a frame's first bytes moved to a buffer it fits). 0 on backends that never
   * copy on receive.
   */
  rxBytesCopied: number;
  /** Messages sent with MSG_ZEROCOPY (udp engine "native" with `zeroCopyThreshold`; 0 elsewhere). */
  zeroCopySent: number;
  /**
   * Of those, the ones whose completion said the kernel copied them anyway (loopback and veths
   * always do: the bytes are counted in `copies.driver`).
   */
  zeroCopyCopied: number;
  /** Faults by kind (every kind present, 0 when none happened). */
  faults: Record<FaultKind, number>;
}

/**
 * A received message. `bytes` is a plain Uint8Array (on every backend; never a Buffer), a view of the receive buffer (an mbuf for DPDK, the kernel
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

/**
 * Events: `'fault'` (PortFault; one peer or one message went wrong; safe to leave unhandled),
 * `'drain'` (sends may resume after send() returned false), `'error'` (only what stops the port
 * itself, e.g. its socket or device failed; and LentBufferMutatedError with debugLentBuffers).
 */
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
   * (encoded here with `policy`). An SgList's scratch segments are copied by the port before send
   * returns, so the SgList may be reused at once; with `{ codec, message }` the kernel ports have
   * the encoder write the scratch straight into their send memory instead (no copy by the port). Referenced segments are lent to the transport until
   * the send completes: buffers from `allocate()` are retained and released by the port; any
   * other referenced Uint8Array must not be mutated until `completions()` resolves.
   *
   * Returns true when the transport took the message and has room for more; false when the
   * port is under back-pressure (the message is kept queued and will be sent): wait for the
   * 'drain' event or `drained()` before sending more. After every `false`, 'drain' is emitted
   * once when the port can take sends again, and `drained()` resolves then (not before).
   * Throws, and leaves the port exactly as it was (nothing sent, counted, retained or queued),
   * for the caller's mistakes: TypeError for a missing or bad destination or a segment that is
   * not a live Uint8Array (e.g. its ArrayBuffer was transferred after encode()), RangeError for
   * a message over `caps.maxMessageBytes` or with more than `caps.maxSegments` segments, Error
   * after close(). What goes wrong later (a peer that resets, a send the transport refuses) is a
   * `'fault'` event and a count in `stats.faults`, never a throw or an `'error'`.
   */
  send(message: SgList, destination: Endpoint): boolean;
  send<T>(message: SendCodec<T>, destination: Endpoint): boolean;

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
