import * as net from "node:net";
import { chooseCopyThreshold, chooseMaxSegments } from "../calibration-store.js";
import type { RefBuffer, SgList } from "@sgwire/core";
import { PortBase, RxMessage } from "../port-base.js";
import type { Endpoint, PortCaps } from "../port.js";
import { HeapMemory } from "../heap-memory.js";
import { checkEndpoint, checkKeys, checkPortNumber, checkPositiveInt } from "../checks.js";
import { LentBufferMutatedError } from "../lent-check.js";
import { prepare, releaseLent } from "./lend.js";
import { FrameReader, lengthPrefix } from "./framing.js";

export interface TcpPortOptions {
  backend: "tcp";
  /** Where to listen for peers. Default 127.0.0.1, port 0 (any free port). */
  bind?: { address?: string; port?: number };
  /** Largest message accepted or sent, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Overrides the recommended copy threshold (bytes). */
  copyThreshold?: number;
  /** Fingerprint lent buffers at send and check them at completion (see lent-check.ts). Default false. */
  debugLentBuffers?: boolean;
  /** How long close() waits for queued sends and completions before it stops anyway (ms). Default 5000. */
  closeTimeoutMs?: number;
}

const TCP_KEYS = ["backend", "bind", "maxMessageBytes", "copyThreshold", "debugLentBuffers", "closeTimeoutMs"] as const;
/** One writev takes at most 1024 iovecs (Linux UIO_MAXIOV); libuv splits longer ones, which is still correct. */
const TCP_MAX_SEGMENTS = 1023;
const TCP_COPY_THRESHOLD = 512;

interface Conn {
  sock: net.Socket;
  key: string;
  needDrain: boolean;
  /** Destroyed by a forced close: write callbacks that still run report no error, but nothing went out. */
  aborted: boolean;
}

/**
 * Kernel TCP: length-delimited protobuf messages over a stream. All segments of a message are
 * written between cork() and uncork(), which Node turns into one writev; the write callback of
 * the last segment is the completion. Peers are connections: sending to an endpoint uses the
 * connection accepted from it, or opens one to it.
 */
export class TcpPort extends PortBase {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  localAddress: Endpoint = { address: "", port: 0 };
  private readonly memory = new HeapMemory();
  private readonly debugLent: boolean;
  private readonly conns = new Map<string, Conn>();
  private waitingDrain = 0;

  private constructor(
    private readonly server: net.Server,
    o: TcpPortOptions,
  ) {
    super();
    const copyThreshold = chooseCopyThreshold(o.copyThreshold, "tcp", "kernel-tcp", TCP_COPY_THRESHOLD);
    this.debugLent = o.debugLentBuffers === true;
    if (o.closeTimeoutMs !== undefined) this.closeWaitMs = checkPositiveInt(o.closeTimeoutMs, "openPort: closeTimeoutMs", 2 ** 31 - 1);
    this.caps = {
      backend: "tcp",
      driver: "kernel-tcp",
      maxSegments: TCP_MAX_SEGMENTS,
      maxMessageBytes: o.maxMessageBytes ?? 64 * 1024 * 1024,
      copyThreshold,
      referencesAnyMemory: true,
    };
    this.policy = { copyThreshold, maxSegments: chooseMaxSegments("tcp", "kernel-tcp", TCP_MAX_SEGMENTS), isEligible: () => true };
    server.on("connection", (sock) => this.adopt(sock, `${sock.remoteAddress}:${sock.remotePort}`));
  }

  static async open(o: TcpPortOptions): Promise<TcpPort> {
    checkKeys(o, TCP_KEYS, "openPort(tcp)");
    if (o.maxMessageBytes !== undefined) checkPositiveInt(o.maxMessageBytes, "openPort(tcp): maxMessageBytes", 2 ** 31 - 1);
    if (o.copyThreshold !== undefined && !(typeof o.copyThreshold === "number" && o.copyThreshold >= 0)) {
      throw new RangeError(`openPort(tcp): copyThreshold must be a number >= 0, got ${String(o.copyThreshold)}`);
    }
    const address = o.bind?.address ?? "127.0.0.1";
    const port = checkPortNumber(o.bind?.port ?? 0, "openPort(tcp): bind.port", true);
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, address, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const p = new TcpPort(server, o);
    const a = server.address() as net.AddressInfo;
    p.localAddress = { address: a.address, port: a.port };
    return p;
  }

  private adopt(sock: net.Socket, key: string): Conn {
    const c: Conn = { sock, key, needDrain: false, aborted: false };
    this.conns.set(key, c);
    sock.setNoDelay(true);
    const frames = new FrameReader(this.caps.maxMessageBytes);
    const source = { address: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 };
    if (source.address === "") {
      // outgoing connection not yet established: the peer is the endpoint we dialled
      const i = key.lastIndexOf(":");
      source.address = key.slice(0, i);
      source.port = Number(key.slice(i + 1));
    }
    const emit = (m: Uint8Array): void => this.deliver(new RxMessage(m, source, this.onRelease));
    sock.on("data", (chunk: Buffer) => {
      try {
        frames.push(chunk, emit);
      } catch (err) {
        this.st.drops++;
        this.emit("error", err);
        sock.destroy();
      }
    });
    sock.on("drain", () => {
      if (!c.needDrain) return;
      c.needDrain = false;
      this.st.queued--;
      if (--this.waitingDrain === 0) this.drainedNow();
    });
    sock.on("error", (err) => this.emit("error", err));
    sock.on("close", () => {
      if (this.conns.get(key) === c) this.conns.delete(key);
      if (c.needDrain) {
        c.needDrain = false;
        this.st.queued--;
        if (--this.waitingDrain === 0) this.drainedNow();
      }
    });
    return c;
  }

  private readonly onRelease = (m: RxMessage): void => {
    m.bytes = EMPTY;
    this.released();
  };

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("tcp port: allocate() after close()");
    return this.memory.allocate(size, "tcp port");
  }

  protected transmit(list: SgList, destination: Endpoint | undefined): boolean {
    const dest = checkEndpoint(destination, "tcp port: send() destination");
    const key = `${dest.address}:${dest.port}`;
    let c = this.conns.get(key);
    if (c === undefined) {
      c = this.adopt(net.connect({ host: dest.address, port: dest.port, noDelay: true }), key);
    }
    const p = prepare(list, this.memory, lengthPrefix(list.byteLength), this.debugLent);
    this.st.bytesCopied += p.scratchBytes;
    this.st.bytesReferenced += p.referencedBytes;
    this.st.completionsPending++;
    const sock = c.sock;
    const segs = p.segments;
    const bytes = p.scratchBytes + p.referencedBytes;
    const conn = c;
    let ok = true;
    sock.cork();
    for (let i = 0; i < segs.length - 1; i++) ok = sock.write(segs[i]!);
    ok = sock.write(segs[segs.length - 1]!, (err) => {
      const changed = releaseLent(p);
      if (changed !== null) this.emit("error", new LentBufferMutatedError("tcp", changed.length));
      if (err || conn.aborted) this.st.drops++;
      else {
        this.st.messagesSent++;
        this.st.bytesSent += bytes;
      }
      this.sendCompleted();
    });
    sock.uncork();
    if (!ok && !c.needDrain) {
      c.needDrain = true;
      this.st.queued++;
      this.st.txRingFull++;
      this.waitingDrain++;
    }
    return this.waitingDrain === 0;
  }

  protected async shutdown(force: boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.conns.values()) {
        // forced: writes still pending fail (their callbacks release what they lent)
        if (force) {
          c.aborted = true;
          c.sock.destroy();
        }
        else c.sock.end(() => c.sock.destroy());
      }
    });
  }
}

const EMPTY = new Uint8Array(0);
