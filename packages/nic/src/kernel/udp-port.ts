import * as dgram from "node:dgram";
import { chooseCopyThreshold, chooseMaxSegments } from "../calibration-store.js";
import type { RefBuffer, SgList } from "@sgwire/core";
import { PortBase, RxMessage } from "../port-base.js";
import type { Endpoint, PortCaps } from "../port.js";
import { HeapMemory } from "../heap-memory.js";
import { checkEndpoint, checkKeys, checkPortNumber, checkPositiveInt } from "../checks.js";
import { LentBufferMutatedError } from "../lent-check.js";
import { prepare, releaseLent, type Prepared } from "./lend.js";

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
}

const UDP_KEYS = ["backend", "bind", "highWaterMark", "copyThreshold", "debugLentBuffers", "closeTimeoutMs"] as const;
/** IPv4 UDP payload limit: 65535 - 20 (IP header) - 8 (UDP header). */
export const UDP_MAX_PAYLOAD = 65507;
/** Linux UIO_MAXIOV: one sendmsg takes at most this many iovecs. */
const IOV_MAX = 1024;
/** Below this a copy into the kernel's iovec walk is cheaper than another segment (measured order, not tuned). */
const UDP_COPY_THRESHOLD = 512;

interface Queued {
  p: Prepared;
  dest: Endpoint;
}

/**
 * Kernel UDP: one datagram per message, `dgram.send(segments)`, which libuv turns into one
 * sendmsg with an iovec, so no user-space copy of referenced segments (the kernel copies them
 * into the skb; loopback has no zero-copy). Completion is the send callback.
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

  private constructor(
    private readonly sock: dgram.Socket,
    o: UdpPortOptions,
  ) {
    super();
    this.hwm = o.highWaterMark ?? 256;
    this.debugLent = o.debugLentBuffers === true;
    if (o.closeTimeoutMs !== undefined) this.closeWaitMs = checkPositiveInt(o.closeTimeoutMs, "openPort: closeTimeoutMs", 2 ** 31 - 1);
    const copyThreshold = chooseCopyThreshold(o.copyThreshold, "udp", "kernel-udp", UDP_COPY_THRESHOLD);
    this.caps = {
      backend: "udp",
      driver: "kernel-udp",
      maxSegments: IOV_MAX - 1, // one iovec spare: scratch runs are merged, never split
      maxMessageBytes: UDP_MAX_PAYLOAD,
      copyThreshold,
      referencesAnyMemory: true,
    };
    this.policy = { copyThreshold, maxSegments: chooseMaxSegments("udp", "kernel-udp", this.caps.maxSegments), isEligible: () => true };
    sock.on("message", (buf, rinfo) => {
      this.deliver(new RxMessage(buf, { address: rinfo.address, port: rinfo.port }, this.onRelease));
    });
    sock.on("error", (err) => this.emit("error", err));
  }

  private readonly onRelease = (m: RxMessage): void => {
    // Node allocated this buffer for the one datagram; dropping the view lets GC reclaim it
    m.bytes = EMPTY;
    this.released();
  };

  static async open(o: UdpPortOptions): Promise<UdpPort> {
    checkKeys(o, UDP_KEYS, "openPort(udp)");
    if (o.highWaterMark !== undefined) checkPositiveInt(o.highWaterMark, "openPort(udp): highWaterMark");
    if (o.copyThreshold !== undefined && !(typeof o.copyThreshold === "number" && o.copyThreshold >= 0)) {
      throw new RangeError(`openPort(udp): copyThreshold must be a number >= 0, got ${String(o.copyThreshold)}`);
    }
    const address = o.bind?.address ?? "127.0.0.1";
    const port = checkPortNumber(o.bind?.port ?? 0, "openPort(udp): bind.port", true);
    const sock = dgram.createSocket({ type: address.includes(":") ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(port, address, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    const p = new UdpPort(sock, o);
    const a = sock.address();
    p.localAddress = { address: a.address, port: a.port };
    return p;
  }

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("udp port: allocate() after close()");
    return this.memory.allocate(size, "udp port");
  }

  protected transmit(list: SgList, destination: Endpoint | undefined): boolean {
    const dest = checkEndpoint(destination, "udp port: send() destination");
    const p = prepare(list, this.memory, null, this.debugLent);
    this.st.bytesCopied += p.scratchBytes;
    this.st.bytesReferenced += p.referencedBytes;
    this.st.completionsPending++;
    if (this.inFlight >= this.hwm || this.queue.length > 0) {
      this.queue.push({ p, dest });
      this.st.queued++;
      this.st.txRingFull++;
      return false;
    }
    this.hand(p, dest);
    return this.inFlight < this.hwm;
  }

  private hand(p: Prepared, dest: Endpoint): void {
    this.inFlight++;
    const bytes = p.scratchBytes + p.referencedBytes;
    this.sock.send(p.segments, dest.port, dest.address, (err) => {
      this.inFlight--;
      const changed = releaseLent(p);
      if (changed !== null) this.emit("error", new LentBufferMutatedError("udp", changed.length));
      if (err) {
        this.st.drops++;
        this.emit("error", err);
      } else {
        this.st.messagesSent++;
        this.st.bytesSent += bytes;
      }
      this.sendCompleted();
      this.pump();
    });
  }

  private pump(): void {
    if (this.queue.length === 0) return;
    while (this.queue.length > 0 && this.inFlight < this.hwm) {
      const q = this.queue.shift()!;
      this.st.queued--;
      this.hand(q.p, q.dest);
    }
    if (this.queue.length === 0) this.drainedNow();
  }

  protected async shutdown(force: boolean): Promise<void> {
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
