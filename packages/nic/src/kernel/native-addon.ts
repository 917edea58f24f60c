import { addonBuildHint } from "../native/build-hint.js";
import { loadNativeAddon } from "../native/load.js";

/**
 * One nonblocking UDP socket of the native addon (native/kernel/udp.cc): sendmmsg bursts,
 * recvmmsg into slots of `rxBuffer`, SO_RXQ_OVFL drops, watched by libuv on this thread's loop.
 */
export interface KernelUdpSocket {
  /**
   * Hands `n` messages to the kernel: message i is the next `counts[i]` entries of `segments`
   * (one datagram), sent to destination id `destinations[i]`. Returns how many messages, from
   * the first, the kernel took (it copied them: their memory is free again); `lastErrno` says
   * why the next one was not.
   */
  send(segments: Uint8Array[], counts: Uint32Array, destinations: Uint32Array, n: number, zerocopy?: boolean): number;
  /**
   * Sets SO_ZEROCOPY: send(..., true) then lends the pages to the kernel, which reports when it is
   * done with them; completions are written into `zcInfo` (zcWords per range: first id, last id,
   * copied). Returns 0, or the errno of a kernel that refuses it.
   */
  enableZerocopy(zcInfo: Uint32Array): number;
  /** Sends every datagram on its own from now on (no UDP GSO). */
  disableGso(): void;
  /** Reads the completions the error queue holds now into zcInfo; returns the ranges written. */
  readCompletions(): number;
  /** A destination id for send(); throws a TypeError for an address that is not of the socket's family. */
  addDestination(address: string, port: number): number;
  /** Which events wake onEvent: readable (while a slot is free) and writable (once). */
  setPolling(readable: boolean, writable: boolean): void;
  /** Slot `i` may be read into again. */
  releaseSlot(i: number): void;
  close(): void;
  readonly localPort: number;
  /** The socket's descriptor (-1 once closed). */
  readonly fd: number;
  /** The kernel's count of datagrams it dropped for this socket (SO_RXQ_OVFL), as of the last one read. */
  readonly drops: number;
  readonly lastErrno: number;
  readonly freeSlots: number;
  /** Whether the kernel takes UDP GSO (UDP_SEGMENT): runs of equal datagrams to one destination go as one send. */
  readonly gso: boolean;
  /** Whether the kernel coalesces datagrams of one flow into one read buffer (UDP_GRO); rxInfo's last word is then their size. */
  readonly gro: boolean;
  /** GSO sends made (each carried two datagrams or more). */
  readonly gsoSends: number;
  /** Driven through an io_uring. */
  readonly uring: boolean;
}

export interface KernelUdpLimits {
  /** Messages per sendmmsg/recvmmsg call. */
  burst: number;
  /** Int32 words per received entry in rxInfo: slot, length, truncated, family, port, address (16 bytes), GRO segment size (0: one datagram), payload offset in the slot. */
  infoWords: number;
  /** onEvent's first argument when the socket became writable. */
  writable: number;
  /** onEvent's first argument when MSG_ZEROCOPY completions were read (their count is the third). */
  zerocopy: number;
  /** Uint32 words per completion range in zcInfo. */
  zcWords: number;
  /** Segments one datagram may have (IOV_MAX). */
  iovMax: number;
  /** "": this kernel's io_uring can drive the socket (engine "uring"); else what it lacks. */
  uringMissing: string;
}

/**
 * The sockets of one native TCP port (native/kernel/tcp.cc): a listening socket and its
 * connections (by id), each watched by libuv on this thread's loop. Events come to onEvent(kind,
 * id, value) with the kinds of `kernelTcpEvents`.
 */
export interface KernelTcpSockets {
  /** Dials a peer: a connection id (`connected` or `error` follows), or -errno when the kernel refused at once. */
  connect(address: string, port: number): number;
  /**
   * Hands the segments, minus `skip` bytes already written from the front, to the kernel in
   * sendmsg calls until all are written or the socket is full; returns the bytes it took
   * (`lastErrno` says why it stopped short: EAGAIN, wait with wantWritable).
   */
  write(id: number, segments: Uint8Array[], skip: number, zerocopy?: boolean): number;
  /** After a write with zerocopy: the completion id of its last sendmsg that took bytes (-1: none; the connection lacks SO_ZEROCOPY). */
  readonly lastZcId: number;
  /** SO_ZEROCOPY on every connection; completions are read into zcInfo (zcWords per range: first id, last id, copied). 0, or the kernel's errno. */
  enableZerocopy(zcInfo: Uint32Array): number;
  /** Reads the connection's MSG_ZEROCOPY completions into zcInfo; returns the ranges written. */
  readCompletions(id: number): number;
  /** A `writable` event once the connection's socket has room again. */
  wantWritable(id: number): void;
  /** Where connections without a target of their own read (one after the other, each read at most sharedReadMax bytes). */
  setShared(buffer: ArrayBuffer, offset: number, length: number): void;
  /** A target of the connection's own for its next bytes; reading waits while it has no room. */
  setTarget(id: number, buffer: ArrayBuffer, offset: number, length: number): void;
  /** The connection reads into the shared target again. */
  clearTarget(id: number): void;
  setReading(id: number, on: boolean): void;
  /** Bytes written that the peer's TCP has not acknowledged (SIOCOUTQ); -1 for a connection that is gone. */
  unacked(id: number): number;
  /** Sends FIN after what was written; the connection still reads. */
  end(id: number): void;
  /** Closes a connection; `reset`: unsent bytes are discarded and the peer gets a RST. */
  closeConnection(id: number, reset: boolean): void;
  /** Closes the listening socket and every connection (reset). */
  close(): void;
  readonly localPort: number;
  readonly lastErrno: number;
  /** Connections open. */
  readonly connections: number;
}

export interface KernelTcpEvents {
  /** A connection was accepted; its peer is in peerInfo (family, port, address). */
  accept: number;
  connected: number;
  /** `value` bytes were read into the connection's target. */
  data: number;
  /** The peer closed its side (FIN): nothing more will be read. */
  end: number;
  /** The connection failed (`value`: errno); it is not watched any more. */
  error: number;
  writable: number;
  /** accept() failed (`value`: errno); the socket still listens. */
  acceptError: number;
  peerWords: number;
  iovMax: number;
  /** Uint32 words per completion range in zcInfo. */
  zcWords: number;
  /** Most bytes one read into the shared target takes. */
  sharedReadMax: number;
}

export interface KernelAddon {
  KernelUdp: new (
    family: 4 | 6,
    address: string,
    port: number,
    rxBuffer: ArrayBuffer,
    slotBytes: number,
    rxInfo: Int32Array,
    onEvent: (n: number, drops: number, completions: number) => void,
    uring?: boolean,
  ) => KernelUdpSocket;
  kernelUdpLimits: KernelUdpLimits;
  KernelTcp: new (
    family: 4 | 6,
    address: string,
    port: number,
    peerInfo: Int32Array,
    onEvent: (kind: number, id: number, value: number) => void,
  ) => KernelTcpSockets;
  kernelTcpEvents: KernelTcpEvents;
}

/**
 * The native addon's kernel part, or an Error saying why it is not there (not built, or built by
 * an older version of this package). The addon is built by the package's install script on
 * Linux; it needs no system package.
 */
export function loadKernelAddon(): KernelAddon | Error {
  const a = loadNativeAddon<Partial<KernelAddon>>("sgwire_nic.node", "native addon", {
    missing: (path) =>
      `@sgwire/nic: the native kernel backend needs the native addon, which is not built (${path} is missing): ` +
      `build it with ${addonBuildHint()}`,
  });
  if (a instanceof Error) return a;
  if (typeof a.KernelUdp !== "function" || a.kernelUdpLimits === undefined || typeof a.KernelTcp !== "function" || a.kernelTcpEvents === undefined) {
    return new Error(`@sgwire/nic: the native addon was built without the kernel backend (an older build): rebuild it with ${addonBuildHint()}`);
  }
  return a as KernelAddon;
}

/**
 * Whether the native kernel engines can run here (the addon is built with its kernel part): the
 * engine udp and tcp ports use when the `engine` option is not given. Otherwise Node's dgram and
 * net sockets are used.
 */
export function nativeKernelAvailable(): boolean {
  return !(loadKernelAddon() instanceof Error);
}
