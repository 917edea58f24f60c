import * as net from "node:net";
import { chooseCopyThreshold, chooseMaxSegments } from "../calibration-store.js";
import type { RefBuffer, SgList } from "@sgwire/core";
import { PortBase, RxMessage, rethrowLater } from "../port-base.js";
import type { Endpoint, PortCaps } from "../port.js";
import { HeapMemory } from "../heap-memory.js";
import { checkBind, checkCommonOptions, checkKeys, checkPositiveInt, type CommonOptionValues } from "../checks.js";
import { LentBufferMutatedError } from "../lent-check.js";
import { prepare, prepareOwnedFramed, releaseLent } from "./lend.js";
import { SendArena } from "../send-arena.js";
import { FrameError, FrameReader, lengthPrefix } from "./framing.js";
import { nativeKernelAvailable } from "./native-addon.js";
import { UnackedMessages } from "./acks.js";
import { procfsAvailable, readSockets, socketFd, socketInode } from "./procfs.js";

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
  /**
   * Bytes that received, unreleased messages may hold (bytes). At the bound the port stops
   * reading its connections (TCP then makes the peers wait) until messages are released.
   * Default 64 MiB.
   */
  maxRxHeldBytes?: number;
  /**
   * What drives the sockets: "net" (Node's net module, libuv streams) or "native" (the native
   * addon's sockets: many messages per sendmsg, reads into pooled buffers that received messages
   * are views of, acknowledgements from SIOCOUTQ). Default: "native" where the native addon is
   * built (`sgwire nic info` says), else "net".
   */
  engine?: "net" | "native";
  /**
   * engine "native": overwrite a received message's bytes with 0xDB when it is released, so code
   * that reads a message after release() sees garbage at once instead of, later, another
   * message's bytes. Default false.
   */
  debugReleasedBuffers?: boolean;
  /**
   * engine "native": messages that reference at least this many bytes are written with
   * MSG_ZEROCOPY (the kernel sends from the pages themselves and says when it is done with them;
   * lent buffers are held until then). Default: the stored calibration's (`sgwire calibrate
   * --backend tcp --engine native --store`), else never (on loopback and veths the kernel copies
   * anyway, at extra cost).
   */
  zeroCopyThreshold?: number;
  /**
   * engine "native": messages gathered on a connection before they are written without waiting
   * for the end of the event-loop turn (1..1024; 1: every send is its own system call). Default:
   * the stored calibration's (`sgwire calibrate --backend tcp --engine native --store`), else 64.
   */
  maxBatch?: number;
}

const TCP_KEYS = ["backend", "bind", "maxMessageBytes", "copyThreshold", "debugLentBuffers", "closeTimeoutMs", "maxRxHeldBytes", "engine", "debugReleasedBuffers", "zeroCopyThreshold", "maxBatch"] as const;
/** One writev takes at most 1024 iovecs (Linux UIO_MAXIOV); libuv splits longer ones, which is still correct. */
export const TCP_MAX_SEGMENTS = 1023;
const TCP_COPY_THRESHOLD = 512;
/** How often unacknowledged messages are looked up again while some remain (ms). */
const ACK_POLL_MS = 20;
/** Room before each send's scratch in the send arena for its length prefix (a varint of at most 5 bytes). */
export const TCP_PREFIX_ROOM = 5;

interface Conn {
  sock: net.Socket;
  key: string;
  peer: Endpoint;
  frames: FrameReader;
  needDrain: boolean;
  /** Destroyed by a forced close: write callbacks that still run report no error, but nothing went out. */
  aborted: boolean;
  /** Ended with an error (reset, refused, timed out): what it had not acknowledged is lost. */
  failed: boolean;
  closed: boolean;
  /** Written messages (their write completed) the peer's TCP has not acknowledged yet. */
  unacked: UnackedMessages;
  /** The socket's inode in /proc/net/tcp (0: not looked up yet). */
  inode: number;
}

export interface TcpChecked extends CommonOptionValues {
  bind: { address: string; port: number };
  maxMessageBytes: number;
  engine: "net" | "native";
  debugReleasedBuffers: boolean;
  /** undefined: the stored calibration's, else never */
  zeroCopyThreshold: number | undefined;
  maxBatch: number | undefined;
}

/** Every option checked, before anything is opened. */
export function checkTcpOptions(o: TcpPortOptions): TcpChecked {
  checkKeys(o, TCP_KEYS, "openPort(tcp)");
  const common = checkCommonOptions(o, "openPort(tcp)");
  const maxMessageBytes =
    o.maxMessageBytes === undefined ? 64 * 1024 * 1024 : checkPositiveInt(o.maxMessageBytes, "openPort(tcp): maxMessageBytes", 2 ** 31 - 1);
  const bind = checkBind(o.bind, "openPort(tcp)", { address: "127.0.0.1", port: 0 });
  const engine = o.engine ?? (nativeKernelAvailable() ? "native" : "net");
  if (engine !== "net" && engine !== "native") throw new TypeError(`openPort(tcp): engine must be "net" or "native", got ${JSON.stringify(o.engine)}`);
  if (o.debugReleasedBuffers !== undefined && typeof o.debugReleasedBuffers !== "boolean") {
    throw new TypeError(`openPort(tcp): debugReleasedBuffers must be a boolean, got ${typeof o.debugReleasedBuffers}`);
  }
  if (o.debugReleasedBuffers === true && engine !== "native") throw new TypeError('openPort(tcp): debugReleasedBuffers applies to engine "native" only');
  if (o.zeroCopyThreshold !== undefined && engine !== "native") throw new TypeError('openPort(tcp): zeroCopyThreshold applies to engine "native" only');
  if (o.zeroCopyThreshold !== undefined && !(typeof o.zeroCopyThreshold === "number" && o.zeroCopyThreshold >= 1)) {
    throw new RangeError(`openPort(tcp): zeroCopyThreshold must be a number >= 1, got ${String(o.zeroCopyThreshold)}`);
  }
  if (o.maxBatch !== undefined && engine !== "native") throw new TypeError('openPort(tcp): maxBatch applies to engine "native" only');
  const maxBatch = o.maxBatch === undefined ? undefined : checkPositiveInt(o.maxBatch, "openPort(tcp): maxBatch", 1024);
  return { ...common, bind, maxMessageBytes, engine, debugReleasedBuffers: o.debugReleasedBuffers === true, zeroCopyThreshold: o.zeroCopyThreshold, maxBatch };
}

/**
 * What both TCP engines start from: caps, the policy (the stored calibration of this engine's
 * driver, else 512 bytes) and send memory for the encoder with room for each message's length
 * prefix. The kernel copies every byte into its socket buffers: driverCopies "all".
 */
export function tcpSetup(o: TcpChecked, driver: string): { caps: PortCaps; policy: PortBase["policy"]; sendArena: SendArena } {
  const copyThreshold = chooseCopyThreshold(o.copyThreshold, "tcp", driver, TCP_COPY_THRESHOLD);
  const caps: PortCaps = {
    backend: "tcp",
    driver,
    maxSegments: TCP_MAX_SEGMENTS,
    maxMessageBytes: o.maxMessageBytes,
    copyThreshold,
    referencesAnyMemory: true,
    driverCopies: "all",
  };
  const policy = { copyThreshold, maxSegments: chooseMaxSegments("tcp", driver, TCP_MAX_SEGMENTS), isEligible: () => true };
  // scratch larger than a chunk's free room gets memory of its own from the encoder (still not copied)
  return { caps, policy, sendArena: new SendArena(256 * 1024, 16 * 1024, TCP_PREFIX_ROOM) };
}

/**
 * Kernel TCP: length-delimited protobuf messages over a stream. All segments of a message are
 * written between cork() and uncork(), which Node turns into one writev; the write callback of
 * the last segment is the completion (lent buffers come back). Peers are connections: sending to
 * an endpoint uses the connection accepted from it, or opens one to it.
 *
 * A message counts as sent once the peer's TCP acknowledged all of its bytes (the socket's
 * unacknowledged byte count, tx_queue in /proc/net/tcp, read after writes and every 20 ms while
 * some are unacknowledged, and on every `stats` read). When a connection fails, what it had not
 * acknowledged is counted as send-failed. Faults, never 'error': peer-reset (one per failed
 * connection), send-failed, oversize and bad-frame (the connection is closed), truncated (a
 * frame cut off by a disconnect), socket-error (the listening socket's accept errors).
 */
export class TcpPort extends PortBase {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  localAddress: Endpoint = { address: "", port: 0 };
  private readonly memory = new HeapMemory();
  private readonly debugLent: boolean;
  private readonly conns = new Map<string, Conn>();
  private waitingDrain = 0;
  /** Connections with written, unacknowledged messages. */
  private readonly ackWatch = new Set<Conn>();
  private ackTimer: NodeJS.Timeout | null = null;
  /** Reading is paused on every connection: received messages hold maxRxHeldBytes. */
  private rxPaused = false;

  private constructor(
    private readonly server: net.Server,
    o: TcpChecked,
  ) {
    super();
    this.debugLent = o.debugLentBuffers;
    this.closeWaitMs = o.closeTimeoutMs;
    this.maxRxHeldBytes = o.maxRxHeldBytes;
    // no MSG_ZEROCOPY through libuv: the kernel copies every byte into its socket buffers
    ({ caps: this.caps, policy: this.policy, sendArena: this.sendArena } = tcpSetup(o, "kernel-tcp"));
    server.on("connection", (sock) => {
      const peer = { address: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 };
      this.adopt(sock, `${peer.address}:${peer.port}`, peer);
    });
    // the listening socket keeps listening after an accept error (EMFILE, ...): a fault, not 'error'
    server.on("error", (err) => this.fault("socket-error", err));
  }

  static async open(o: TcpPortOptions): Promise<TcpPort> {
    const c = checkTcpOptions(o);
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => {
        server.close();
        reject(err);
      });
      server.listen(c.bind.port, c.bind.address, () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    const p = new TcpPort(server, c);
    const a = server.address() as net.AddressInfo;
    p.localAddress = { address: a.address, port: a.port };
    return p;
  }

  private adopt(sock: net.Socket, key: string, peer: Endpoint): Conn {
    const c: Conn = {
      sock, key, peer, frames: new FrameReader(this.caps.maxMessageBytes),
      needDrain: false, aborted: false, failed: false, closed: false,
      unacked: new UnackedMessages(), inode: 0,
    };
    this.conns.set(key, c);
    sock.setNoDelay(true);
    if (this.rxPaused) sock.pause();
    const emit = (m: Uint8Array): void => this.deliver(new RxMessage(m, peer, this.onRelease));
    sock.on("data", (chunk: Buffer) => {
      try {
        c.frames.push(chunk, emit);
        this.st.rxBytesCopied += c.frames.takeCopied();
      } catch (err) {
        if (!(err instanceof FrameError)) {
          rethrowLater(err);
          return;
        }
        // the stream cannot be resynchronised: this peer is dropped, the others go on
        this.fault(err.kind, err, peer);
        c.frames = new FrameReader(this.caps.maxMessageBytes);
        sock.destroy();
        return;
      }
      if (!this.rxPaused && this.rxFull) this.pauseReading();
    });
    sock.on("drain", () => {
      if (!c.needDrain) return;
      c.needDrain = false;
      this.st.queued--;
      if (--this.waitingDrain === 0) this.drainedNow();
    });
    // the peer's FIN: the socket is still open, so what it acknowledged can still be read
    sock.on("end", () => this.refreshAcks());
    sock.on("error", (err) => {
      if (c.failed) return;
      c.failed = true;
      if (!c.aborted) this.fault("peer-reset", err, peer);
    });
    sock.on("close", () => {
      c.closed = true;
      if (this.conns.get(key) === c) this.conns.delete(key);
      if (c.frames.pending > 0) {
        this.fault("truncated", new Error(`tcp port: connection closed in the middle of a frame (${c.frames.pending} bytes of it received)`), peer);
      }
      this.settleUnacked(c);
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
  };

  private pauseReading(): void {
    this.rxPaused = true;
    for (const c of this.conns.values()) c.sock.pause();
  }

  protected override rxRoomAvailable(): void {
    if (!this.rxPaused) return;
    this.rxPaused = false;
    for (const c of this.conns.values()) if (!c.closed) c.sock.resume();
  }

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("tcp port: allocate() after close()");
    return this.memory.allocate(size, "tcp port");
  }

  protected transmit(list: SgList, dest: Endpoint, owned: boolean): boolean {
    const key = `${dest.address}:${dest.port}`;
    let c = this.conns.get(key);
    if (c === undefined || c.sock.destroyed) {
      c = this.adopt(net.connect({ host: dest.address, port: dest.port, noDelay: true }), key, { address: dest.address, port: dest.port });
    }
    const p = owned
      ? prepareOwnedFramed(list, this.memory, this.sendArena!.take(list), this.debugLent)
      : prepare(list, this.memory, lengthPrefix(list.byteLength), this.debugLent);
    const sock = c.sock;
    const segs = p.segments;
    const bytes = p.wireBytes;
    const conn = c;
    let ok = true;
    sock.cork();
    try {
      for (let i = 0; i < segs.length - 1; i++) sock.write(segs[i]!);
      ok = sock.write(segs[segs.length - 1]!, (err) => this.written(conn, p, bytes, err));
    } catch (e) {
      // checked before: not expected. Part of a frame may be in the socket, so the stream is
      // unusable: this connection is closed, nothing is counted or kept, and the caller hears it.
      sock.uncork();
      sock.destroy();
      releaseLent(p);
      throw e;
    }
    sock.uncork();
    this.st.bytesCopied += p.scratchBytes;
    this.st.copies.port += p.scratchBytes;
    this.st.bytesReferenced += p.referencedBytes;
    this.st.completionsPending++;
    if (!ok && !c.needDrain) {
      c.needDrain = true;
      this.st.queued++;
      this.st.txRingFull++;
      this.waitingDrain++;
    }
    return this.waitingDrain === 0;
  }

  /** Write callback of a message's last segment: the kernel has it (or the connection failed). */
  private written(c: Conn, p: ReturnType<typeof prepare>, bytes: number, err: Error | null | undefined): void {
    const changed = releaseLent(p);
    if (changed !== null) this.emit("error", new LentBufferMutatedError("tcp", changed.length));
    if (c.aborted) this.st.drops++;
    else if (err || c.failed) this.fault("send-failed", err ?? new Error("tcp port: the connection failed before this message was written"), c.peer);
    else if (!procfsAvailable) {
      // nothing tells us what the peer acknowledged: the kernel having it is the best we know
      this.st.messagesSent++;
      this.st.bytesSent += bytes;
    } else {
      c.unacked.add(bytes);
      this.ackWatch.add(c);
      // one read of /proc/net/tcp per ACK_POLL_MS at most while streaming (each costs a
      // millisecond or so with many sockets): not one per event-loop turn; reading stats reads now
      if (this.ackTimer === null) {
        this.ackTimer = setTimeout(this.ackTick, ACK_POLL_MS);
        this.ackTimer.unref();
      }
    }
    this.sendCompleted();
  }

  private readonly ackTick = (): void => {
    this.ackTimer = null;
    this.refreshAcks();
    if (this.ackWatch.size > 0 && this.ackTimer === null) {
      this.ackTimer = setTimeout(this.ackTick, ACK_POLL_MS);
      this.ackTimer.unref();
    }
  };

  /** Counts as sent the messages whose bytes the peer's TCP has acknowledged. */
  private refreshAcks(): void {
    if (this.ackWatch.size === 0) return;
    const inodes = new Set<number>();
    for (const c of this.ackWatch) {
      if (c.inode === 0 && !c.sock.destroyed) c.inode = socketInode(socketFd(c.sock));
      if (c.inode !== 0) inodes.add(c.inode);
    }
    if (inodes.size === 0) return;
    const rows = readSockets("tcp", inodes);
    for (const c of this.ackWatch) {
      const row = rows.get(c.inode);
      if (row === undefined || c.sock.destroyed) continue; // gone: settled by its 'close'
      this.confirm(c, c.unacked.written - row.txQueue);
    }
  }

  private confirm(c: Conn, acked: number): void {
    c.unacked.confirm(acked, this.st);
    if (c.unacked.count === 0) this.ackWatch.delete(c);
  }

  /**
   * A connection closed: after an error (or a forced close) its unacknowledged messages are
   * lost; after a clean close the kernel goes on sending them and reports nothing, so they count
   * as sent.
   */
  private settleUnacked(c: Conn): void {
    const n = c.unacked.count;
    if (n === 0) return;
    if (c.aborted) this.st.drops += n;
    else if (c.failed) {
      this.fault("send-failed", new Error(`tcp port: ${n} messages written to a connection that failed were not acknowledged by the peer`), c.peer, n);
    } else this.confirm(c, Infinity);
    c.unacked.clear();
    this.ackWatch.delete(c);
  }

  protected override refreshStats(): void {
    this.refreshAcks();
  }

  protected async shutdown(force: boolean): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (!force) {
      // everything is written: let the peers acknowledge it (at most closeTimeoutMs)
      for (const c of this.conns.values()) c.sock.end();
      const deadline = Date.now() + this.closeWaitMs;
      this.refreshAcks();
      while (this.ackWatch.size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        this.refreshAcks();
      }
    }
    const all: Promise<void>[] = [];
    for (const c of this.conns.values()) {
      if (c.closed) continue;
      // forced, or a peer that never acknowledged: what it has not acknowledged is dropped
      if (force || this.ackWatch.has(c)) c.aborted = true;
      all.push(new Promise((r) => c.sock.once("close", () => r())));
      c.sock.destroy();
    }
    await Promise.all(all);
    await closed;
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }
}

const EMPTY = new Uint8Array(0);
