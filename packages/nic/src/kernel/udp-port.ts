import * as dgram from "node:dgram";
import { chooseCopyThreshold, chooseMaxSegments } from "../calibration-store.js";
import type { RefBuffer, SgList } from "@sgwire/core";
import { PortBase, RxMessage } from "../port-base.js";
import type { Endpoint, PortCaps } from "../port.js";
import { HeapMemory } from "../heap-memory.js";
import { checkBind, checkCommonOptions, checkKeys, checkPositiveInt, type CommonOptionValues } from "../checks.js";
import { LentBufferMutatedError } from "../lent-check.js";
import { prepare, prepareOwned, releaseLent, type Prepared } from "./lend.js";
import { SendArena } from "../send-arena.js";
import { socketFd, UdpDropCounter } from "./procfs.js";
import { nativeKernelAvailable } from "./native-addon.js";

export interface UdpPortOptions {
  backend?: "udp";
  /** Local address to receive on. Default 127.0.0.1, port 0 (any free port). */
  bind?: { address?: string; port?: number };
  /** Sends in flight (handed to the socket, not yet completed) before send() reports back-pressure. Default 256. */
  highWaterMark?: number;
  /** Overrides the recommended copy threshold (bytes). */
  copyThreshold?: number;
  /** Fingerprint lent buffers at send and check them at completion (see lent-check.ts). Default false. */
  debugLentBuffers?: boolean;
  /** How long close() waits for queued sends and completions before it stops anyway (ms). Default 5000. */
  closeTimeoutMs?: number;
  /**
   * Bytes that received, unreleased messages may hold (bytes). Datagrams that arrive beyond it
   * are dropped and counted as rx-overflow (UDP cannot make a sender wait). Default 64 MiB.
   */
  maxRxHeldBytes?: number;
  /**
   * "native": the native addon's socket (sendmmsg/recvmmsg bursts, UDP GSO/GRO, received messages
   * as views of receive slots, kernel drops read with every datagram). "uring": the same socket
   * driven through an io_uring (linked SENDMSG/SENDMSG_ZC submissions, one multishot RECVMSG into
   * provided buffers); needs Linux 6.1 with io_uring enabled (`sgwire nic info` says). "dgram":
   * Node's dgram socket, one sendmsg per message. Default: "native" where the native addon is
   * built, else "dgram".
   */
  engine?: "dgram" | "native" | "uring";
  /** engine "native": receive slots of 64 KiB; received messages hold one each until released. Default 128. */
  rxSlots?: number;
  /**
   * engine "native": messages that reference at least this many bytes are sent with MSG_ZEROCOPY
   * (the kernel reads the pages itself and says when it is done; lent buffers are held until then).
   * Default: the stored calibration's (`sgwire calibrate --backend udp --engine native --store`),
   * else never (on loopback and veths the kernel copies anyway, at extra cost).
   */
  zeroCopyThreshold?: number;
  /**
   * engine "native": overwrite a received message's bytes with 0xDB when it is released, so code
   * that keeps using its views (or values decoded from it) afterwards reads garbage at once
   * instead of, now and then, another message's bytes. For tests and debugging. Default false.
   */
  debugReleasedBuffers?: boolean;
  /**
   * engine "native": send runs of equal-sized datagrams to one destination as one UDP GSO send
   * (the kernel segments it). Turn it off when the peer reads raw frames off a virtual interface
   * of this host (AF_PACKET, AF_XDP or DPDK's af_packet on a veth): the kernel hands such a reader
   * the unsegmented packet, larger than the MTU. Default true (where the kernel has UDP GSO).
   */
  gso?: boolean;
  /**
   * engine "native": sends gathered before they go to the kernel without waiting for the end of
   * the event-loop turn (1..64; 1: every send is its own system call, soonest on the wire).
   * Default: the stored calibration's (`sgwire calibrate --backend udp --engine native --store`),
   * else 64.
   */
  maxBatch?: number;
}

const UDP_KEYS = ["backend", "bind", "highWaterMark", "copyThreshold", "debugLentBuffers", "closeTimeoutMs", "maxRxHeldBytes", "engine", "rxSlots", "zeroCopyThreshold", "debugReleasedBuffers", "gso", "maxBatch"] as const;
/** IPv4 UDP payload limit: 65535 - 20 (IP header) - 8 (UDP header). */
export const UDP_MAX_PAYLOAD = 65507;
/** Linux UIO_MAXIOV: one sendmsg takes at most this many iovecs. */
const IOV_MAX = 1024;
/** Below this a copy into the kernel's iovec walk is cheaper than another segment (measured order, not tuned). */
export const UDP_COPY_THRESHOLD = 512;

interface Queued {
  p: Prepared;
  dest: Endpoint;
}

interface UdpChecked extends CommonOptionValues {
  bind: { address: string; port: number };
  highWaterMark: number;
  engine: "dgram" | "native" | "uring";
  rxSlots: number;
  /** undefined: the stored calibration's, else never */
  zeroCopyThreshold: number | undefined;
  debugReleasedBuffers: boolean;
  gso: boolean;
  maxBatch: number | undefined;
}

/** Every option checked, before anything is opened. */
export function checkUdpOptions(o: UdpPortOptions): UdpChecked {
  checkKeys(o, UDP_KEYS, "openPort(udp)");
  const common = checkCommonOptions(o, "openPort(udp)");
  const highWaterMark = o.highWaterMark === undefined ? 256 : checkPositiveInt(o.highWaterMark, "openPort(udp): highWaterMark");
  const bind = checkBind(o.bind, "openPort(udp)", { address: "127.0.0.1", port: 0 });
  const engine = o.engine ?? (nativeKernelAvailable() ? "native" : "dgram");
  if (engine !== "dgram" && engine !== "native" && engine !== "uring") {
    throw new TypeError(`openPort(udp): engine must be "native", "uring" or "dgram", got ${JSON.stringify(o.engine)}`);
  }
  if (o.rxSlots !== undefined && engine === "dgram") throw new TypeError('openPort(udp): rxSlots applies to the engines "native" and "uring" only');
  const rxSlots = o.rxSlots === undefined ? 128 : checkPositiveInt(o.rxSlots, "openPort(udp): rxSlots", 65536);
  if (o.zeroCopyThreshold !== undefined && engine === "dgram") throw new TypeError('openPort(udp): zeroCopyThreshold applies to the engines "native" and "uring" only');
  if (o.zeroCopyThreshold !== undefined && !(typeof o.zeroCopyThreshold === "number" && o.zeroCopyThreshold >= 1)) {
    throw new RangeError(`openPort(udp): zeroCopyThreshold must be a number >= 1, got ${String(o.zeroCopyThreshold)}`);
  }
  if (o.debugReleasedBuffers !== undefined && typeof o.debugReleasedBuffers !== "boolean") {
    throw new TypeError(`openPort(udp): debugReleasedBuffers must be a boolean, got ${typeof o.debugReleasedBuffers}`);
  }
  if (o.debugReleasedBuffers === true && engine === "dgram") throw new TypeError('openPort(udp): debugReleasedBuffers applies to the engines "native" and "uring" only');
  if (o.gso !== undefined && typeof o.gso !== "boolean") throw new TypeError(`openPort(udp): gso must be a boolean, got ${typeof o.gso}`);
  // gso: false holds for dgram too (it never sends GSO); true asks for what only native does
  if (o.gso === true && engine === "dgram") throw new TypeError('openPort(udp): gso applies to the engines "native" and "uring" only');
  if (o.maxBatch !== undefined && engine === "dgram") throw new TypeError('openPort(udp): maxBatch applies to the engines "native" and "uring" only');
  const maxBatch = o.maxBatch === undefined ? undefined : checkPositiveInt(o.maxBatch, "openPort(udp): maxBatch", 64);
  return { ...common, bind, highWaterMark, engine, rxSlots, zeroCopyThreshold: o.zeroCopyThreshold, debugReleasedBuffers: o.debugReleasedBuffers === true, gso: o.gso !== false, maxBatch };
}

/**
 * What both UDP engines start from: caps (IOV_MAX - 1 segments, one iovec spare: scratch runs are
 * merged, never split), the policy (the stored calibration of this engine's driver, else 512 bytes) and
 * send memory for the encoder (a datagram's scratch is at most 64 KiB: every encode fits a chunk).
 * Without MSG_ZEROCOPY the kernel copies every byte into its socket buffers: driverCopies "all".
 */
export function udpSetup(copyThresholdOption: number | undefined, driver: string): { caps: PortCaps; policy: PortBase["policy"]; sendArena: SendArena } {
  // each engine has its own stored calibration (`sgwire calibrate --backend udp --engine native`)
  const copyThreshold = chooseCopyThreshold(copyThresholdOption, "udp", driver, UDP_COPY_THRESHOLD);
  const caps: PortCaps = {
    backend: "udp",
    driver,
    maxSegments: IOV_MAX - 1,
    maxMessageBytes: UDP_MAX_PAYLOAD,
    copyThreshold,
    referencesAnyMemory: true,
    driverCopies: "all",
  };
  const policy = { copyThreshold, maxSegments: chooseMaxSegments("udp", driver, caps.maxSegments), isEligible: () => true };
  return { caps, policy, sendArena: new SendArena(512 * 1024, UDP_MAX_PAYLOAD) };
}

/**
 * Kernel UDP: one datagram per message, `dgram.send(segments)`, which libuv turns into one
 * sendmsg with an iovec, so no user-space copy of referenced segments (the kernel copies them
 * into the skb; loopback has no zero-copy). Completion is the send callback.
 *
 * Faults (never 'error'): a send the socket refuses (send-failed), a receive error the socket
 * reports (socket-error), datagrams the kernel dropped because the socket's receive buffer was
 * full (rx-overflow, read from /proc/net/udp every 250 ms and on every `stats` read) or that
 * arrived while the port held `maxRxHeldBytes` (rx-overflow).
 */
export class UdpPort extends PortBase {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  localAddress: Endpoint = { address: "", port: 0 };
  private readonly memory = new HeapMemory();
  private readonly debugLent: boolean;
  private readonly hwm: number;
  private inFlight = 0;
  private queue: Queued[] = [];
  /** The kernel's drops for this socket (receive buffer full), as rx-overflow faults. */
  private readonly drops: UdpDropCounter;

  private constructor(
    private readonly sock: dgram.Socket,
    o: UdpChecked,
  ) {
    super();
    this.hwm = o.highWaterMark;
    this.debugLent = o.debugLentBuffers;
    this.closeWaitMs = o.closeTimeoutMs;
    this.maxRxHeldBytes = o.maxRxHeldBytes;
    ({ caps: this.caps, policy: this.policy, sendArena: this.sendArena } = udpSetup(o.copyThreshold, "kernel-udp"));
    sock.on("message", (buf, rinfo) => {
      const source = { address: rinfo.address, port: rinfo.port };
      if (this.rxFull) {
        this.fault("rx-overflow", new Error(`udp port: datagram of ${buf.length} bytes dropped: received messages hold maxRxHeldBytes ${this.maxRxHeldBytes}`), source);
        return;
      }
      this.deliver(new RxMessage(buf, source, this.onRelease));
    });
    // after bind, the socket's errors are receive errors of one datagram: it keeps working
    sock.on("error", (err) => this.fault("socket-error", err));
    this.drops = new UdpDropCounter(socketFd(sock), (n) => this.fault("rx-overflow", kernelDropError(n), null, n));
  }

  private readonly onRelease = (m: RxMessage): void => {
    // Node allocated this buffer for the one datagram; dropping the view lets GC reclaim it
    m.bytes = EMPTY;
  };

  static async open(o: UdpPortOptions): Promise<UdpPort> {
    const c = checkUdpOptions(o);
    const sock = dgram.createSocket({ type: c.bind.address.includes(":") ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", (err) => {
        sock.close();
        reject(err);
      });
      sock.bind(c.bind.port, c.bind.address, () => {
        sock.removeAllListeners("error");
        resolve();
      });
    });
    const p = new UdpPort(sock, c);
    const a = sock.address();
    p.localAddress = { address: a.address, port: a.port };
    return p;
  }

  /** Kernel drops of this socket since the port opened (receive buffer full), as rx-overflow faults. */
  protected override refreshStats(): void {
    this.drops.refresh();
  }

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("udp port: allocate() after close()");
    return this.memory.allocate(size, "udp port");
  }

  protected transmit(list: SgList, dest: Endpoint, owned: boolean): boolean {
    const p = owned ? prepareOwned(list, this.memory, null, this.sendArena!.take(list), this.debugLent) : prepare(list, this.memory, null, this.debugLent);
    if (this.inFlight >= this.hwm || this.queue.length > 0) {
      this.queue.push({ p, dest });
      this.st.queued++;
      this.st.txRingFull++;
    } else {
      try {
        this.hand(p, dest);
      } catch (e) {
        // the socket refused it synchronously: nothing was sent, counted or kept
        releaseLent(p);
        throw e;
      }
    }
    this.st.bytesCopied += p.scratchBytes;
    this.st.copies.port += p.scratchBytes;
    this.st.bytesReferenced += p.referencedBytes;
    this.st.completionsPending++;
    return this.queue.length === 0 && this.inFlight < this.hwm;
  }

  /** Hands one message to the socket; throws (having changed nothing) if the socket refuses it at once. */
  private hand(p: Prepared, dest: Endpoint): void {
    const bytes = p.wireBytes;
    this.sock.send(p.segments, dest.port, dest.address, (err) => {
      this.inFlight--;
      const changed = releaseLent(p);
      if (changed !== null) this.emit("error", new LentBufferMutatedError("udp", changed.length));
      if (err) {
        this.fault("send-failed", err, dest);
      } else {
        this.st.messagesSent++;
        this.st.bytesSent += bytes;
      }
      this.sendCompleted();
      this.pump();
    });
    this.inFlight++;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.hwm) {
      const q = this.queue.shift()!;
      this.st.queued--;
      try {
        this.hand(q.p, q.dest);
      } catch (e) {
        releaseLent(q.p);
        this.fault("send-failed", e instanceof Error ? e : new Error(String(e)), q.dest);
        this.sendCompleted();
      }
    }
    if (this.queue.length === 0 && this.inFlight < this.hwm && this.owesDrain) this.drainedNow();
  }

  protected async shutdown(force: boolean): Promise<void> {
    this.drops.stop();
    if (force) {
      // never handed to the socket: give back what they lent; they are dropped
      for (const q of this.queue) {
        releaseLent(q.p);
        this.st.drops++;
        this.sendCompleted();
      }
      this.queue = [];
      this.st.queued = 0;
    }
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}

const EMPTY = new Uint8Array(0);

/** The rx-overflow fault of `n` datagrams the kernel dropped (the socket's receive buffer was full). */
export function kernelDropError(n: number): Error {
  return new Error(`udp port: the kernel dropped ${n} datagrams: the socket's receive buffer was full`);
}
