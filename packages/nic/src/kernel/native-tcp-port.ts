import { getSystemErrorName } from "node:util";
import type { RefBuffer, SgList } from "@sgwire/core";
import { PortBase, RxMessage, rethrowLater } from "../port-base.js";
import type { Endpoint, PortCaps } from "../port.js";
import { HeapMemory } from "../heap-memory.js";
import { LentBufferMutatedError } from "../lent-check.js";
import { prepare, prepareOwnedFramed, releaseLent, type Prepared } from "./lend.js";
import { lengthPrefix } from "./framing.js";
import { checkTcpOptions, tcpSetup, type TcpChecked, type TcpPortOptions } from "./tcp-port.js";
import { ipv4Text, ipv6Text } from "./address.js";
import { UnackedMessages } from "./acks.js";
import { loadKernelAddon, type KernelTcpEvents, type KernelTcpSockets } from "./native-addon.js";
import { chooseMaxBatch, chooseZeroCopyThreshold } from "../calibration-store.js";

/** Bytes of one pooled receive buffer, shared by the connections: whole frames are views of these. */
const CHUNK_BYTES = 256 * 1024;
/** Free receive buffers kept for reuse. */
const POOL_CHUNKS = 8;
/** The shared buffer is replaced once less than this is left in it. */
const SHARED_MIN = 16 * 1024;
/**
 * Bytes the buffers of frames still arriving may hold beyond what arrived, all connections
 * together: a frame's buffer is sized from its length prefix while this allows, else it grows
 * with what arrives (four times it). What peers' length prefixes can make the port reserve.
 */
const RESERVE_BUDGET = 16 << 20;
/** A frame still missing this many bytes reads the rest straight into its own buffer. */
const OWN_MIN = 32 * 1024;
/** While received messages hold this many shared buffers (besides the current one), new messages are copied out of them. */
const HELD_CHUNKS_COPY = 32;
/** Segments per write() into the addon (one sendmsg takes IOV_MAX). */
const SEGMENTS_PER_WRITE = 1024;
/** Messages queued on one connection in one turn before they are written without waiting for the turn's end (the maxBatch default). */
const FLUSH_AT = 64;
/** Bytes queued on a connection that cannot take them yet (still connecting, or its socket full) before send() says wait. */
const QUEUE_BYTES = 1 << 20;
/** How often the peers' acknowledgements are read while some messages await theirs (ms). */
const ACK_POLL_MS = 5;
const EAGAIN = 11;

/** A receive buffer; messages are views of it, and it is reused once none is held. */
interface Chunk {
  readonly buf: ArrayBuffer;
  readonly u8: Uint8Array;
  /** Received messages not yet released that are views of it. */
  refs: number;
}

class ChunkMessage extends RxMessage {
  constructor(bytes: Uint8Array, source: Endpoint, free: (m: RxMessage) => void, readonly chunk: Chunk) {
    super(bytes, source, free);
  }
}

interface Conn {
  readonly id: number;
  readonly key: string;
  readonly peer: Endpoint;
  connecting: boolean;
  /** The socket is full: waiting for the writable event. */
  blocked: boolean;
  /** send() returned false for this connection: it owes the port a drain. */
  needDrain: boolean;
  /** Finished: failed, or closed by us. */
  closed: boolean;
  /** The peer closed its side: close once what is queued is written. */
  peerEnded: boolean;
  /** Messages not yet wholly written: queue[head..], the first with `skip` bytes written. */
  queue: Prepared[];
  /** Per queued message: write it with MSG_ZEROCOPY. */
  zcq: boolean[];
  head: number;
  skip: number;
  queuedBytes: number;
  /** Written messages the peer has not acknowledged. */
  unacked: UnackedMessages;
  /** A frame that arrived in pieces: its bytes so far, from its prefix (capacity acc.length). */
  acc: Uint8Array | null;
  accLen: number;
  /** Its whole length (prefix + body), once the prefix is complete; else -1. */
  accFrame: number;
  accPrefix: number;
  /** Reserved beyond what arrived (acc.length - accLen), counted in the port's budget. */
  reserved: number;
  /** The native side reads this frame's rest straight into acc. */
  own: boolean;
  /** Messages written with MSG_ZEROCOPY, awaiting the completion of id zcIds[i] (in id order), from zcHead. */
  zcMsgs: Prepared[];
  zcIds: number[];
  zcCopied: boolean[];
  zcHead: number;
  /** Every completion id below this has come. */
  zcLow: number;
  /** Completion ids above zcLow that came out of order. */
  zcEarly: Set<number> | null;
  /** Close (cleanly) once the kernel gave back every page it holds. */
  closeWhenDone: boolean;
}

/**
 * Kernel TCP through the native addon (`engine: "native"`). Messages to one peer are framed as
 * in the "net" engine (varint length, then the protobuf bytes) and the messages queued in one
 * turn of the event loop are written together: one sendmsg carries up to 1024 segments of many
 * messages (the "net" engine makes a writev per message). Connections read into one shared,
 * pooled 256 KiB buffer, and a frame that arrives whole in a read is a view of it: no copy, no
 * allocation per message. A frame that arrives in pieces gets a buffer of its own: sized from its
 * length prefix while the port's reserve budget (16 MiB, all connections) allows, else four times
 * what arrived; its first bytes are copied there (`rxBytesCopied`), and from 32 KiB missing the
 * rest is read straight into it. A connection holds no receive memory until then. A message
 * counts as sent once the peer's TCP acknowledged its last byte (SIOCOUTQ, read after writes and
 * every 5 ms while some are unacknowledged, and on `stats`). With `zeroCopyThreshold`, messages
 * referencing that many bytes go with MSG_ZEROCOPY (lent buffers held until the kernel's
 * completion).
 *
 * Faults, never 'error': peer-reset (one per failed connection), send-failed (queued or
 * unacknowledged messages of a connection that failed), oversize and bad-frame (that connection
 * is closed), truncated (a frame cut off by a disconnect), socket-error (accept errors).
 */
export class NativeTcpPort extends PortBase {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  localAddress: Endpoint = { address: "", port: 0 };
  private readonly memory = new HeapMemory();
  private readonly debugLent: boolean;
  private readonly poisonReleased: boolean;
  private readonly maxMessageBytes: number;
  private sock: KernelTcpSockets | null = null;
  private readonly ev: KernelTcpEvents;
  private readonly peerInfo: Int32Array;
  private readonly peerBytes: Uint8Array;
  private readonly byId = new Map<number, Conn>();
  private readonly byKey = new Map<string, Conn>();
  /** Connections with messages queued this turn. */
  private readonly dirty = new Set<Conn>();
  private flushQueued = false;
  /** Connections whose send() returned false, until their queue empties. */
  private waitingDrain = 0;
  private readonly ackWatch = new Set<Conn>();
  private ackTimer: NodeJS.Timeout | null = null;
  private rxPaused = false;
  private readonly pool: Chunk[] = [];
  /** The buffer connections read into, and where the next read lands in it. */
  private shared: Chunk | null = null;
  private sharedPos = 0;
  /** Shared buffers no longer read into that received messages still hold. */
  private chunksHeld = 0;
  /** Bytes the frames still arriving reserved beyond what arrived (at most RESERVE_BUDGET). */
  private reservedTotal = 0;
  private segs: Uint8Array[] = [];
  /** Messages referencing at least this many bytes go with MSG_ZEROCOPY (Infinity: none). */
  private readonly zcThreshold: number;
  private readonly zcInfo: Uint32Array;
  /** Connections with MSG_ZEROCOPY messages awaiting completion. */
  private readonly zcConns = new Set<Conn>();
  /** Messages gathered on a connection before they are written without waiting for the turn's end. */
  private readonly batch: number;
  private zcTimer: NodeJS.Timeout | null = null;

  private constructor(o: TcpChecked, ev: KernelTcpEvents) {
    super();
    this.debugLent = o.debugLentBuffers;
    this.poisonReleased = o.debugReleasedBuffers;
    this.closeWaitMs = o.closeTimeoutMs;
    this.maxRxHeldBytes = o.maxRxHeldBytes;
    this.maxMessageBytes = o.maxMessageBytes;
    this.ev = ev;
    this.peerInfo = new Int32Array(ev.peerWords);
    this.peerBytes = new Uint8Array(this.peerInfo.buffer);
    ({ caps: this.caps, policy: this.policy, sendArena: this.sendArena } = tcpSetup(o, "kernel-tcp-native"));
    this.zcThreshold = chooseZeroCopyThreshold(o.zeroCopyThreshold, "tcp", "kernel-tcp-native");
    this.batch = chooseMaxBatch(o.maxBatch, "tcp", "kernel-tcp-native", FLUSH_AT);
    this.zcInfo = new Uint32Array(64 * ev.zcWords);
    // what the kernel copied is then counted message by message
    if (this.zcThreshold !== Infinity) this.caps.driverCopies = "some";
  }

  static async open(o: TcpPortOptions): Promise<NativeTcpPort> {
    const c = checkTcpOptions(o);
    const addon = loadKernelAddon();
    if (addon instanceof Error) throw addon;
    const p = new NativeTcpPort(c, addon.kernelTcpEvents);
    const family = c.bind.address.includes(":") ? 6 : 4;
    p.sock = new addon.KernelTcp(family, c.bind.address, c.bind.port, p.peerInfo, p.onEvent);
    p.localAddress = { address: c.bind.address, port: p.sock.localPort };
    p.nextShared();
    if (p.zcThreshold !== Infinity) {
      const err = p.sock.enableZerocopy(p.zcInfo);
      if (err !== 0) {
        p.sock.close();
        throw new Error(`tcp port: zeroCopyThreshold: this kernel refuses SO_ZEROCOPY (errno ${err}); open the port without it`);
      }
    }
    return p;
  }

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("tcp port: allocate() after close()");
    return this.memory.allocate(size, "tcp port");
  }

  /** Connections open now (accepted and dialled). */
  get connections(): number {
    return this.sock?.connections ?? 0;
  }

  private newConn(id: number, key: string, peer: Endpoint, connecting: boolean): Conn {
    const c: Conn = {
      id, key, peer, connecting, blocked: false, needDrain: false, closed: false, peerEnded: false,
      queue: [], zcq: [], head: 0, skip: 0, queuedBytes: 0, unacked: new UnackedMessages(),
      acc: null, accLen: 0, accFrame: -1, accPrefix: 0, reserved: 0, own: false,
      zcMsgs: [], zcIds: [], zcCopied: [], zcHead: 0, zcLow: 0, zcEarly: null, closeWhenDone: false,
    };
    this.byId.set(id, c);
    this.byKey.set(key, c);
    return c;
  }

  // ---- send

  protected transmit(list: SgList, dest: Endpoint, owned: boolean): boolean {
    const key = `${dest.address}:${dest.port}`;
    let c = this.byKey.get(key);
    if (c === undefined) c = this.dial(dest, key);
    const p = owned
      ? prepareOwnedFramed(list, this.memory, this.sendArena!.take(list), this.debugLent)
      : prepare(list, this.memory, lengthPrefix(list.byteLength), this.debugLent);
    c.queue.push(p);
    c.zcq.push(p.referencedBytes >= this.zcThreshold);
    c.queuedBytes += p.wireBytes;
    this.st.queued++;
    this.st.bytesCopied += p.scratchBytes;
    this.st.copies.port += p.scratchBytes;
    this.st.bytesReferenced += p.referencedBytes;
    this.st.completionsPending++;
    if (!c.connecting && !c.blocked && !c.closed) {
      if (c.queue.length - c.head >= this.batch) this.flush(c);
      else {
        this.dirty.add(c);
        if (!this.flushQueued) {
          this.flushQueued = true;
          queueMicrotask(this.flushLater);
        }
      }
    }
    if (!c.needDrain && !c.closed && c.queuedBytes > QUEUE_BYTES && (c.blocked || c.connecting)) {
      c.needDrain = true;
      this.waitingDrain++;
      this.st.txRingFull++;
    }
    return this.waitingDrain === 0;
  }

  private dial(dest: Endpoint, key: string): Conn {
    // an address of the other family is a TypeError naming it, before anything was queued
    const id = this.sock!.connect(dest.address, dest.port);
    if (id >= 0) return this.newConn(id, key, { address: dest.address, port: dest.port }, true);
    // refused at once (no route): a connection that failed, reported after this send returns
    const c = this.newConn(-1, key, { address: dest.address, port: dest.port }, false);
    this.byId.delete(-1);
    c.closed = true;
    queueMicrotask(() => this.failed(c, -id));
    return c;
  }

  private readonly flushLater = (): void => {
    this.flushQueued = false;
    for (const c of this.dirty) this.flush(c);
    this.dirty.clear();
  };

  /** Writes what is queued on `c` until it is all written or the socket is full. */
  private flush(c: Conn): void {
    const sock = this.sock;
    if (sock === null || c.closed || c.connecting || c.blocked) return;
    while (c.head < c.queue.length) {
      const segs = this.segs;
      segs.length = 0;
      let want = -c.skip;
      // a run of messages with the same MSG_ZEROCOPY choice: the flag is per sendmsg
      const zc = c.zcq[c.head]!;
      for (let i = c.head; i < c.queue.length; i++) {
        const ps = c.queue[i]!.segments;
        if (segs.length > 0 && (segs.length + ps.length > SEGMENTS_PER_WRITE || c.zcq[i] !== zc)) break;
        for (let k = 0; k < ps.length; k++) segs.push(ps[k]!);
        want += c.queue[i]!.wireBytes;
      }
      let n: number;
      let zcId = -1;
      try {
        n = sock.write(c.id, segs, c.skip, zc);
        if (zc) zcId = sock.lastZcId;
      } catch (e) {
        // the addon refused the call itself (a bug here, not a peer's doing): the port stops
        this.portFailed(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      let left = n + c.skip;
      while (c.head < c.queue.length && left >= c.queue[c.head]!.wireBytes) {
        const p = c.queue[c.head++]!;
        left -= p.wireBytes;
        // a message finished in this write: its last byte went in the write's last zero-copy send or before
        this.written(c, p, zcId);
      }
      c.skip = left;
      if (n < want) {
        const errno = sock.lastErrno;
        if (errno === EAGAIN) {
          c.blocked = true;
          sock.wantWritable(c.id);
          if (!c.needDrain && c.queuedBytes > QUEUE_BYTES) {
            c.needDrain = true;
            this.waitingDrain++;
            this.st.txRingFull++;
          }
          break;
        }
        this.failed(c, errno);
        return;
      }
    }
    if (c.head === c.queue.length) {
      c.queue = [];
      c.zcq = [];
      c.head = 0;
      this.queueEmptied(c);
      if (c.peerEnded) this.closeConn(c, false);
    } else if (c.head > 1024) {
      c.queue = c.queue.slice(c.head);
      c.zcq = c.zcq.slice(c.head);
      c.head = 0;
    }
  }

  private queueEmptied(c: Conn): void {
    if (c.needDrain) {
      c.needDrain = false;
      this.waitingDrain--;
    }
    // send() takes messages again: a 'drain' owed goes out; drained() resolves once nothing is queued
    if (this.waitingDrain === 0 && this.drainAwaited && (this.owesDrain || this.st.queued === 0)) this.drainedNow();
  }

  /**
   * The kernel has all of `p`: sent once acknowledged. Copied into its socket buffer (zcId -1):
   * the lent buffers go back now; lent to it with MSG_ZEROCOPY: once completion `zcId` came.
   */
  private written(c: Conn, p: Prepared, zcId: number): void {
    this.st.queued--;
    c.queuedBytes -= p.wireBytes;
    c.unacked.add(p.wireBytes);
    this.ackWatch.add(c);
    if (this.ackTimer === null) {
      this.ackTimer = setTimeout(this.ackTick, ACK_POLL_MS);
      this.ackTimer.unref();
    }
    if (zcId < 0) {
      this.st.copies.driver += p.wireBytes;
      this.giveBack(p);
      return;
    }
    this.st.zeroCopySent++;
    c.zcMsgs.push(p);
    c.zcIds.push(zcId);
    c.zcCopied.push(false);
    this.zcConns.add(c);
    if (this.zcTimer === null) this.zcTimer = setTimeout(this.pollCompletions, 1);
  }

  /** Reads the completions of every connection that awaits some (every millisecond while any does). */
  private readonly pollCompletions = (): void => {
    this.zcTimer = null;
    const sock = this.sock;
    if (sock === null) return;
    for (const c of this.zcConns) this.readCompletions(sock, c);
    if (this.zcConns.size > 0) this.zcTimer = setTimeout(this.pollCompletions, 1);
  };

  /** Reads what c's error queue holds and gives back what the completions free. */
  private readCompletions(sock: KernelTcpSockets, c: Conn): void {
    const w = this.ev.zcWords;
    const cap = this.zcInfo.length / w;
    let n: number;
    do {
      n = sock.readCompletions(c.id);
      for (let i = 0; i < n; i++) this.completion(c, this.zcInfo[i * w]!, this.zcInfo[i * w + 1]!, this.zcInfo[i * w + 2] !== 0);
    } while (n === cap);
    this.releaseCompleted(c);
  }

  /** Completions [first, last] came (copied: the kernel copied those sends after all). */
  private completion(c: Conn, first: number, last: number, copied: boolean): void {
    if (copied) {
      for (let i = c.zcHead; i < c.zcIds.length && c.zcIds[i]! <= last; i++) if (c.zcIds[i]! >= first) c.zcCopied[i] = true;
    }
    if (first <= c.zcLow) {
      if (last >= c.zcLow) c.zcLow = last + 1;
      const early = c.zcEarly;
      if (early !== null) {
        while (early.has(c.zcLow)) early.delete(c.zcLow++);
        if (early.size === 0) c.zcEarly = null;
      }
    } else {
      const early = (c.zcEarly ??= new Set());
      for (let id = first; id <= last; id++) early.add(id);
    }
  }

  /** Gives back what the messages whose completions all came lent. */
  private releaseCompleted(c: Conn, all = false): void {
    let h = c.zcHead;
    while (h < c.zcMsgs.length && (all || c.zcIds[h]! < c.zcLow)) {
      const p = c.zcMsgs[h]!;
      if (c.zcCopied[h]) {
        this.st.zeroCopyCopied++;
        this.st.copies.driver += p.wireBytes;
      }
      h++;
      this.giveBack(p);
    }
    if (h === c.zcMsgs.length) {
      c.zcMsgs = [];
      c.zcIds = [];
      c.zcCopied = [];
      c.zcHead = 0;
      this.zcConns.delete(c);
      if (c.closeWhenDone && !c.closed) this.closeConn(c, false);
    } else c.zcHead = h;
  }

  private giveBack(p: Prepared): void {
    const changed = releaseLent(p);
    if (changed !== null) this.emit("error", new LentBufferMutatedError("tcp", changed.length));
    this.sendCompleted();
  }

  private readonly ackTick = (): void => {
    this.ackTimer = null;
    this.refreshAcks();
    if (this.ackWatch.size > 0 && this.ackTimer === null && this.sock !== null) {
      this.ackTimer = setTimeout(this.ackTick, ACK_POLL_MS);
      this.ackTimer.unref();
    }
  };

  private refreshAcks(): void {
    const sock = this.sock;
    if (sock === null) return;
    for (const c of this.ackWatch) {
      const u = sock.unacked(c.id);
      if (u >= 0) this.confirm(c, c.unacked.written - u);
    }
  }

  /** Counts as sent the messages whose last byte is at or before stream offset `acked`. */
  private confirm(c: Conn, acked: number): void {
    c.unacked.confirm(acked, this.st);
    if (c.unacked.count === 0) this.ackWatch.delete(c);
  }

  protected override refreshStats(): void {
    this.refreshAcks();
  }

  // ---- connection events

  private readonly onEvent = (kind: number, id: number, value: number): void => {
    try {
      const ev = this.ev;
      if (kind === ev.accept) this.accepted(id);
      else if (kind === ev.acceptError) this.fault("socket-error", new Error(`tcp port: accept failed: ${errnoName(value)}`));
      else {
        const c = this.byId.get(id);
        if (c === undefined) return;
        if (kind === ev.data) this.received(c, value);
        else if (kind === ev.writable) {
          c.blocked = false;
          this.flush(c);
        } else if (kind === ev.connected) {
          c.connecting = false;
          if (this.rxPaused) this.sock!.setReading(c.id, false);
          this.flush(c);
        } else if (kind === ev.end) this.peerEnded(c);
        else if (kind === ev.error) this.failed(c, value);
      }
    } catch (e) {
      // never into the addon's callback: an exception there would end the process
      rethrowLater(e);
    }
  };

  private accepted(id: number): void {
    const w = this.peerInfo;
    const address = w[0] === 4 ? ipv4Text(this.peerBytes, 8) : ipv6Text(this.peerBytes, 8);
    const peer = { address, port: w[1]! };
    const key = `${address}:${peer.port}`;
    // a connection from the same address and port replaces a finished one of ours
    const old = this.byKey.get(key);
    if (old !== undefined && !old.closed) this.closeConn(old, true);
    this.newConn(id, key, peer, false);
    if (this.rxPaused) this.sock!.setReading(id, false);
  }

  /** The peer sent FIN: what it sent is all read; our side closes once its queue is written. */
  private peerEnded(c: Conn): void {
    if (c.acc !== null) {
      this.fault("truncated", new Error(`tcp port: connection closed in the middle of a frame (${c.accLen} bytes of it received)`), c.peer);
      this.dropAcc(c);
    }
    c.peerEnded = true;
    if (c.head === c.queue.length && !c.connecting) this.closeConn(c, false);
  }

  /** The connection failed (reset, refused, timed out): what it had not delivered is lost. */
  private failed(c: Conn, errno: number): void {
    if (c.closed && c.id !== -1) return;
    const err = new Error(`tcp port: connection to ${c.peer.address}:${c.peer.port} failed: ${errnoName(errno)}`);
    this.fault("peer-reset", err, c.peer);
    if (c.acc !== null) {
      this.fault("truncated", new Error(`tcp port: connection lost in the middle of a frame (${c.accLen} bytes of it received)`), c.peer);
      this.dropAcc(c);
    }
    const queued = this.dropQueued(c);
    this.refreshAcks();
    const lost = queued + c.unacked.count;
    if (lost > 0) this.fault("send-failed", new Error(`tcp port: ${lost} messages to ${c.peer.address}:${c.peer.port} were not delivered: ${err.message}`), c.peer, lost);
    c.unacked.clear();
    this.ackWatch.delete(c);
    this.closeConn(c, true);
  }

  /**
   * Closes a connection. After a clean close the kernel goes on sending what it holds and reports
   * nothing more: unacknowledged messages count as sent. `reset`: discarded and the peer reset.
   */
  private closeConn(c: Conn, reset: boolean): void {
    if (!reset && !c.closed && c.zcHead < c.zcMsgs.length) {
      // the kernel still sends from lent pages: the socket closes once it gave them all back
      c.closeWhenDone = true;
      return;
    }
    if (!c.closed || c.id === -1) {
      c.closed = true;
      this.queueEmptied(c);
      if (c.id >= 0) this.sock?.closeConnection(c.id, reset);
    }
    this.byId.delete(c.id);
    if (this.byKey.get(c.key) === c) this.byKey.delete(c.key);
    this.dirty.delete(c);
    if (c.unacked.count > 0) {
      if (reset) this.st.drops += c.unacked.count;
      else this.confirm(c, Infinity);
      c.unacked.clear();
    }
    this.ackWatch.delete(c);
    this.dropAcc(c);
    // closed: the kernel dropped what it still held of the socket's data, lent pages included
    if (c.zcHead < c.zcMsgs.length) this.releaseCompleted(c, true);
  }

  // ---- receive

  /** Connections read into a fresh shared buffer (from the pool when one is free) from now on. */
  private nextShared(): void {
    const old = this.shared;
    let k = this.pool.pop();
    if (k === undefined) {
      const buf = new ArrayBuffer(CHUNK_BYTES);
      k = { buf, u8: new Uint8Array(buf), refs: 0 };
    }
    this.shared = k;
    this.sharedPos = 0;
    this.sock!.setShared(k.buf, 0, CHUNK_BYTES);
    // the old one goes back to the pool once no received message holds it
    if (old === null) return;
    if (old.refs > 0) this.chunksHeld++;
    else if (this.pool.length < POOL_CHUNKS) this.pool.push(old);
  }

  private readonly onRelease = (m: RxMessage): void => {
    const k = (m as ChunkMessage).chunk;
    if (this.poisonReleased) m.bytes.fill(0xdb);
    m.bytes = EMPTY;
    if (--k.refs === 0 && k !== this.shared) {
      this.chunksHeld--;
      if (this.pool.length < POOL_CHUNKS) this.pool.push(k);
    }
  };

  /** A message with memory of its own (a frame assembled in pieces, or copied out). */
  private readonly onReleaseOwn = (m: RxMessage): void => {
    if (this.poisonReleased) m.bytes.fill(0xdb);
    m.bytes = EMPTY;
  };

  /** `n` bytes were read for `c`: into its frame's buffer (own), or into the shared buffer. */
  private received(c: Conn, n: number): void {
    if (c.own) {
      c.accLen += n;
      this.unreserve(c);
      if (c.accLen === c.accFrame) this.accDone(c);
      else if (c.accLen === c.acc!.length) this.grow(c);
    } else {
      const k = this.shared!;
      let pos = this.sharedPos;
      const end = pos + n;
      this.sharedPos = end;
      if (c.acc !== null) pos = this.feed(c, k.u8, pos, end);
      // whole frames are views of the shared buffer; a frame cut off at the end starts c.acc
      const u8 = k.u8;
      while (pos < end && c.acc === null && !c.closed) {
        const plen = this.prefix(c, u8, pos, end);
        if (plen < 0) break; // the connection was dropped; the shared buffer is still looked after below
        if (plen === 0) {
          // the prefix itself is cut off
          this.startAcc(c, -1, 0);
          pos = this.feed(c, u8, pos, end);
          break;
        }
        const whole = plen + this.lastLen;
        if (pos + whole > end) {
          this.startAcc(c, whole, plen);
          pos = this.feed(c, u8, pos, end);
          break;
        }
        const view = new Uint8Array(k.buf, pos + plen, this.lastLen);
        if (this.chunksHeld >= HELD_CHUNKS_COPY) {
          // the application holds many shared buffers: this message gets memory of its own
          const own = view.slice();
          this.st.rxCopied++;
          this.st.rxBytesCopied += own.length;
          this.deliver(new RxMessage(own, c.peer, this.onReleaseOwn));
        } else {
          k.refs++;
          this.deliver(new ChunkMessage(view, c.peer, this.onRelease, k));
        }
        pos += whole;
      }
      if (CHUNK_BYTES - this.sharedPos < SHARED_MIN) this.nextShared();
      if (c.acc !== null && !c.own && !c.closed && c.accFrame > 0 && c.accFrame - c.accLen >= OWN_MIN) this.readOwn(c);
    }
    if (!this.rxPaused && this.rxFull) this.pauseReading();
  }

  /** The length of the varint prefix at `pos` (the frame's length in lastLen); 0: cut off; -1: bad (the connection is dropped). */
  private prefix(c: Conn, u8: Uint8Array, pos: number, end: number): number {
    let len = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (pos + i >= end) return 0;
      const b = u8[pos + i]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) {
        if (len > this.maxMessageBytes) {
          this.badStream(c, "oversize", `stream frame of ${len} bytes exceeds maxMessageBytes ${this.maxMessageBytes}`);
          return -1;
        }
        this.lastLen = len;
        return i + 1;
      }
    }
    this.badStream(c, "bad-frame", "stream frame length prefix is longer than 5 bytes");
    return -1;
  }

  private lastLen = 0;

  /** A frame begins that did not arrive whole: its own buffer (sized by grow). */
  private startAcc(c: Conn, whole: number, plen: number): void {
    c.acc = EMPTY;
    c.accLen = 0;
    c.accFrame = whole;
    c.accPrefix = plen;
    c.reserved = 0;
    this.grow(c);
  }

  /** Copies the bytes [pos, end) of `src` that belong to c's frame into its buffer; returns where they end. */
  private feed(c: Conn, src: Uint8Array, pos: number, end: number): number {
    while (pos < end && c.acc !== null && !c.closed) {
      if (c.accFrame < 0) {
        // the prefix, a byte at a time (at most 5)
        c.acc[c.accLen++] = src[pos++]!;
        this.st.rxBytesCopied++;
        const plen = this.prefix(c, c.acc, 0, c.accLen);
        if (plen < 0) return end;
        if (plen > 0) {
          c.accFrame = plen + this.lastLen;
          c.accPrefix = plen;
        }
        if (c.accLen === c.accFrame) this.accDone(c);
        else if (plen > 0 || c.accLen === c.acc.length) this.grow(c);
        else this.unreserve(c);
        continue;
      }
      const n = Math.min(end - pos, c.accFrame - c.accLen, c.acc.length - c.accLen);
      c.acc.set(src.subarray(pos, pos + n), c.accLen);
      c.accLen += n;
      pos += n;
      this.st.rxBytesCopied += n;
      this.unreserve(c);
      if (c.accLen === c.accFrame) this.accDone(c);
      else if (c.accLen === c.acc.length) this.grow(c);
    }
    return pos;
  }

  /**
   * Gives c's frame a buffer with room for more: all of it while the port's reserve budget allows,
   * else four times what arrived (at least 4 KiB more). Moving what arrived is a copy.
   */
  private grow(c: Conn): void {
    const have = c.accLen;
    const acc = c.acc!;
    let cap: number;
    if (c.accFrame < 0) cap = Math.max(acc.length, 8); // the prefix: at most 5 bytes
    else {
      const budget = RESERVE_BUDGET - (this.reservedTotal - c.reserved);
      cap = c.accFrame - have <= budget ? c.accFrame : Math.min(c.accFrame, Math.max(4 * have, have + 4096));
    }
    if (cap > acc.length) {
      const next = new Uint8Array(cap);
      if (have > 0) {
        next.set(acc.subarray(0, have));
        this.st.rxBytesCopied += have;
      }
      c.acc = next;
      if (c.own) this.sock!.setTarget(c.id, next.buffer, have, cap - have);
    }
    this.unreserve(c);
  }

  /** Brings c's reservation (room beyond what arrived) into the port's total. */
  private unreserve(c: Conn): void {
    const r = c.acc === null ? 0 : c.acc.length - c.accLen;
    this.reservedTotal += r - c.reserved;
    c.reserved = r;
  }

  /** The rest of c's frame is read straight into its buffer. */
  private readOwn(c: Conn): void {
    c.own = true;
    this.sock!.setTarget(c.id, c.acc!.buffer as ArrayBuffer, c.accLen, c.acc!.length - c.accLen);
  }

  /** c's frame is complete: it is delivered (its buffer is its own), and c reads from the shared buffer again. */
  private accDone(c: Conn): void {
    const acc = c.acc!;
    const m = new RxMessage(acc.subarray(c.accPrefix, c.accFrame), c.peer, this.onReleaseOwn);
    this.dropAcc(c);
    this.deliver(m);
  }

  private dropAcc(c: Conn): void {
    if (c.acc === null) return;
    c.acc = null;
    this.reservedTotal -= c.reserved;
    c.reserved = 0;
    c.accLen = 0;
    c.accFrame = -1;
    if (c.own) {
      c.own = false;
      if (!c.closed) this.sock?.clearTarget(c.id);
    }
  }

  /** The stream cannot be resynchronised: this peer is dropped, the others go on. */
  private badStream(c: Conn, kind: "bad-frame" | "oversize", message: string): void {
    this.fault(kind, new Error(`tcp port: ${message}`), c.peer);
    this.dropAcc(c);
    this.failedQuietly(c);
  }

  /** Gives back what c's messages not yet written lent; returns how many there were (the caller counts them). */
  private dropQueued(c: Conn): number {
    const n = c.queue.length - c.head;
    for (let i = c.head; i < c.queue.length; i++) {
      this.st.queued--;
      this.giveBack(c.queue[i]!);
    }
    c.queue = [];
    c.zcq = [];
    c.head = 0;
    c.queuedBytes = 0;
    return n;
  }

  /** Closes a connection we gave up on: its queued and unacknowledged messages are lost. */
  private failedQuietly(c: Conn): void {
    const lost = this.dropQueued(c) + c.unacked.count;
    c.unacked.clear();
    if (lost > 0) this.fault("send-failed", new Error(`tcp port: ${lost} messages to ${c.peer.address}:${c.peer.port} were dropped with its connection`), c.peer, lost);
    // closed, not reset (as the "net" engine does): the kernel resets it anyway if unread bytes remain
    this.closeConn(c, false);
  }

  private pauseReading(): void {
    this.rxPaused = true;
    for (const c of this.byId.values()) if (!c.closed && !c.connecting) this.sock!.setReading(c.id, false);
  }

  protected override rxRoomAvailable(): void {
    if (!this.rxPaused || this.sock === null) return;
    this.rxPaused = false;
    for (const c of this.byId.values()) if (!c.closed && !c.connecting) this.sock.setReading(c.id, true);
  }

  protected async shutdown(force: boolean): Promise<void> {
    const sock = this.sock;
    if (sock === null) return;
    if (!force) {
      // everything is written: FIN to every peer, then let them acknowledge (at most closeTimeoutMs)
      for (const c of this.byId.values()) if (!c.closed && !c.connecting) sock.end(c.id);
      const deadline = Date.now() + this.closeWaitMs;
      this.refreshAcks();
      while (this.ackWatch.size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        this.refreshAcks();
      }
    }
    for (const c of [...this.byId.values()]) {
      // forced, or a peer that never acknowledged: what it has not taken is dropped
      this.st.drops += this.dropQueued(c);
      // the last completions first: what came is not counted as lost pages
      if (c.zcHead < c.zcMsgs.length) this.readCompletions(sock, c);
      this.closeConn(c, force || c.unacked.count > 0 || c.zcHead < c.zcMsgs.length);
    }
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.zcTimer !== null) clearTimeout(this.zcTimer);
    this.zcTimer = null;
    sock.close();
    this.sock = null;
    if (this.waitingDrain > 0) {
      this.waitingDrain = 0;
      if (this.drainAwaited) this.drainedNow();
    }
  }
}

const EMPTY = new Uint8Array(0);

/** "ECONNRESET (errno 104)": the name Node's own socket errors carry. */
function errnoName(errno: number): string {
  let name: string;
  try {
    name = getSystemErrorName(-errno);
  } catch {
    name = "unknown error";
  }
  return `${name} (errno ${errno})`;
}
