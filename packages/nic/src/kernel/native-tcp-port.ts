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
import { loadKernelAddon, type KernelTcpEvents, type KernelTcpSockets } from "./native-addon.js";
import { chooseZeroCopyThreshold } from "../calibration-store.js";

/** Bytes of one pooled receive buffer: small messages are views of these. */
const CHUNK_BYTES = 128 * 1024;
/** Free receive buffers kept for reuse. */
const POOL_CHUNKS = 16;
/**
 * A frame that does not fit the rest of its buffer moves to one of its own, sized from its length
 * prefix up to this many bytes; beyond, the buffer grows to four times what arrived each time it
 * fills (a peer's prefix reserves at most this much memory, or four times what it sent).
 */
const RESERVE_BYTES = 1 << 20;
/** Segments per write() into the addon (one sendmsg takes IOV_MAX). */
const SEGMENTS_PER_WRITE = 1024;
/** Messages queued on one connection in one turn before they are written without waiting for the turn's end. */
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
  /** A connection reads into it. */
  current: boolean;
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
  /** Stream bytes written to the kernel. */
  written: number;
  /** Written messages the peer has not acknowledged: [end offset, bytes] pairs, from `ackHead`. */
  unacked: number[];
  ackHead: number;
  /** Receive buffer, and the unframed bytes in it: [start, end). */
  chunk: Chunk | null;
  start: number;
  end: number;
  /** Whole length (prefix + body) of the frame at `start`, once its prefix was read; else -1. */
  frameLen: number;
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
 * messages (the "net" engine makes a writev per message). Each connection reads into pooled
 * 128 KiB buffers and a received message is a view of its buffer: no copy, unless a frame did
 * not fit the rest of the buffer it started in, whose first bytes then move to a buffer of their
 * own (`rxBytesCopied`). A message counts as sent once the peer's TCP acknowledged its last byte
 * (SIOCOUTQ, read after writes and every 5 ms while some are unacknowledged, and on `stats`).
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
  private segs: Uint8Array[] = [];
  /** Messages referencing at least this many bytes go with MSG_ZEROCOPY (Infinity: none). */
  private readonly zcThreshold: number;
  private readonly zcInfo: Uint32Array;
  /** Connections with MSG_ZEROCOPY messages awaiting completion. */
  private readonly zcConns = new Set<Conn>();
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
      queue: [], zcq: [], head: 0, skip: 0, queuedBytes: 0, written: 0, unacked: [], ackHead: 0,
      chunk: null, start: 0, end: 0, frameLen: -1,
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
      if (c.queue.length - c.head >= FLUSH_AT) this.flush(c);
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
    c.written += p.wireBytes;
    c.unacked.push(c.written, p.wireBytes);
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
    const w = this.ev.zcWords;
    const cap = this.zcInfo.length / w;
    for (const c of this.zcConns) {
      let n: number;
      do {
        n = sock.readCompletions(c.id);
        for (let i = 0; i < n; i++) this.completion(c, this.zcInfo[i * w]!, this.zcInfo[i * w + 1]!, this.zcInfo[i * w + 2] !== 0);
      } while (n === cap);
      this.releaseCompleted(c);
    }
    if (this.zcConns.size > 0) this.zcTimer = setTimeout(this.pollCompletions, 1);
  };

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
      if (u >= 0) this.confirm(c, c.written - u);
    }
  }

  /** Counts as sent the messages whose last byte is at or before stream offset `acked`. */
  private confirm(c: Conn, acked: number): void {
    const u = c.unacked;
    let h = c.ackHead;
    while (h < u.length && u[h]! <= acked) {
      this.st.messagesSent++;
      this.st.bytesSent += u[h + 1]!;
      h += 2;
    }
    if (h === u.length) {
      c.unacked = [];
      c.ackHead = 0;
      this.ackWatch.delete(c);
    } else if (h > 1024) {
      c.unacked = u.slice(h);
      c.ackHead = 0;
    } else c.ackHead = h;
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
          this.startReading(c);
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
    this.startReading(this.newConn(id, key, peer, false));
  }

  private startReading(c: Conn): void {
    this.useChunk(c, this.takeChunk(CHUNK_BYTES), 0, 0);
    if (this.rxPaused) this.sock!.setReading(c.id, false);
  }

  /** The peer sent FIN: what it sent is all read; our side closes once its queue is written. */
  private peerEnded(c: Conn): void {
    if (c.end > c.start) {
      this.fault("truncated", new Error(`tcp port: connection closed in the middle of a frame (${c.end - c.start} bytes of it received)`), c.peer);
      c.start = c.end;
    }
    c.peerEnded = true;
    if (c.head === c.queue.length && !c.connecting) this.closeConn(c, false);
  }

  /** The connection failed (reset, refused, timed out): what it had not delivered is lost. */
  private failed(c: Conn, errno: number): void {
    if (c.closed && c.id !== -1) return;
    const err = new Error(`tcp port: connection to ${c.peer.address}:${c.peer.port} failed: ${errnoName(errno)}`);
    this.fault("peer-reset", err, c.peer);
    if (c.end > c.start) {
      this.fault("truncated", new Error(`tcp port: connection lost in the middle of a frame (${c.end - c.start} bytes of it received)`), c.peer);
      c.start = c.end;
    }
    const queued = c.queue.length - c.head;
    for (let i = c.head; i < c.queue.length; i++) {
      this.st.queued--;
      this.giveBack(c.queue[i]!);
    }
    c.queue = [];
    c.zcq = [];
    c.head = 0;
    c.queuedBytes = 0;
    this.refreshAcks();
    const unacked = (c.unacked.length - c.ackHead) / 2;
    const lost = queued + unacked;
    if (lost > 0) this.fault("send-failed", new Error(`tcp port: ${lost} messages to ${c.peer.address}:${c.peer.port} were not delivered: ${err.message}`), c.peer, lost);
    c.unacked = [];
    c.ackHead = 0;
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
    if (c.ackHead < c.unacked.length) {
      if (reset) {
        this.st.drops += (c.unacked.length - c.ackHead) / 2;
      } else this.confirm(c, Infinity);
      c.unacked = [];
      c.ackHead = 0;
    }
    this.ackWatch.delete(c);
    this.dropChunk(c);
    // closed: the kernel dropped what it still held of the socket's data, lent pages included
    if (c.zcHead < c.zcMsgs.length) this.releaseCompleted(c, true);
  }

  // ---- receive

  private takeChunk(size: number): Chunk {
    if (size === CHUNK_BYTES) {
      const k = this.pool.pop();
      if (k !== undefined) {
        k.current = true;
        return k;
      }
    }
    const buf = new ArrayBuffer(size);
    return { buf, u8: new Uint8Array(buf), refs: 0, current: true };
  }

  /** A chunk nothing reads into or holds any more is kept for reuse. */
  private recycle(k: Chunk): void {
    if (k.refs === 0 && !k.current && k.buf.byteLength === CHUNK_BYTES && this.pool.length < POOL_CHUNKS) this.pool.push(k);
  }

  private useChunk(c: Conn, k: Chunk, start: number, end: number): void {
    c.chunk = k;
    c.start = start;
    c.end = end;
    this.sock!.setTarget(c.id, k.buf, end, k.buf.byteLength - end);
  }

  private dropChunk(c: Conn): void {
    const k = c.chunk;
    if (k === null) return;
    c.chunk = null;
    k.current = false;
    this.recycle(k);
  }

  /** `n` more bytes are in c's buffer: deliver every whole frame as a view, and make room for the rest. */
  private received(c: Conn, n: number): void {
    const k = c.chunk!;
    const u8 = k.u8;
    const end = (c.end += n);
    let pos = c.start;
    while (pos < end) {
      let len = 0;
      let mul = 1;
      let i = 0;
      let complete = false;
      for (; i < 5 && pos + i < end; i++) {
        const b = u8[pos + i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i === 5) return this.badStream(c, "bad-frame", "stream frame length prefix is longer than 5 bytes");
        c.frameLen = -1;
        break;
      }
      if (len > this.maxMessageBytes) return this.badStream(c, "oversize", `stream frame of ${len} bytes exceeds maxMessageBytes ${this.maxMessageBytes}`);
      const whole = i + 1 + len;
      if (pos + whole > end) {
        c.frameLen = whole;
        break;
      }
      k.refs++;
      this.deliver(new ChunkMessage(new Uint8Array(k.buf, pos + i + 1, len), c.peer, this.onRelease, k));
      pos += whole;
      c.frameLen = -1;
      if (c.closed) return; // closed by a handler (the port closed)
    }
    c.start = pos;
    this.makeRoom(c);
    if (!this.rxPaused && this.rxFull) this.pauseReading();
  }

  /** After framing: the buffer has room for the frame at `start`, or the frame moves to one that has. */
  private makeRoom(c: Conn): void {
    const k = c.chunk!;
    const size = k.buf.byteLength;
    const have = c.end - c.start;
    if (have === 0) {
      // nothing pending: start over in this buffer if nothing holds it, else read on or move on
      if (k.refs === 0) {
        if (c.start !== 0) this.useChunk(c, k, 0, 0);
      } else if (c.end === size) {
        k.current = false;
        this.useChunk(c, this.takeChunk(CHUNK_BYTES), 0, 0);
      }
      return;
    }
    // the frame's whole length, or (prefix incomplete) what reading on certainly needs
    const need = c.frameLen > 0 ? c.frameLen : have + 5;
    const fitsHere = c.start + need <= size;
    if (fitsHere && c.end < size) return; // read on
    // a frame larger than RESERVE_BYTES fills the buffer it grows in before it grows again
    if (!fitsHere && need > RESERVE_BYTES && c.start === 0 && size >= RESERVE_BYTES && c.end < size) return;
    // a peer's length prefix reserves memory only in proportion to what it sent: at most 1 MiB
    // ahead, or four times what arrived (and the whole frame once that is within half again)
    let next = need <= RESERVE_BYTES ? Math.max(need, CHUNK_BYTES) : Math.min(need, Math.max(RESERVE_BYTES, 4 * have));
    if (need < next * 1.5) next = need;
    if (next < have + 1) next = have + 1;
    // the frame's first bytes move (the only copy on receive); in place when nothing holds this buffer
    const to = k.refs === 0 && next <= size ? k : this.takeChunk(next);
    if (to === k) k.u8.copyWithin(0, c.start, c.end);
    else {
      to.u8.set(k.u8.subarray(c.start, c.end), 0);
      k.current = false;
      this.recycle(k);
    }
    this.st.rxBytesCopied += have;
    this.useChunk(c, to, 0, have);
  }

  /** The stream cannot be resynchronised: this peer is dropped, the others go on. */
  private badStream(c: Conn, kind: "bad-frame" | "oversize", message: string): void {
    this.fault(kind, new Error(`tcp port: ${message}`), c.peer);
    c.start = c.end;
    this.failedQuietly(c);
  }

  /** Closes a connection we gave up on: its queued and unacknowledged messages are lost. */
  private failedQuietly(c: Conn): void {
    const lost = c.queue.length - c.head + (c.unacked.length - c.ackHead) / 2;
    for (let i = c.head; i < c.queue.length; i++) {
      this.st.queued--;
      this.giveBack(c.queue[i]!);
    }
    c.queue = [];
    c.zcq = [];
    c.head = 0;
    c.unacked = [];
    c.ackHead = 0;
    if (lost > 0) this.fault("send-failed", new Error(`tcp port: ${lost} messages to ${c.peer.address}:${c.peer.port} were dropped with its connection`), c.peer, lost);
    // closed, not reset (as the "net" engine does): the kernel resets it anyway if unread bytes remain
    this.closeConn(c, false);
  }

  private readonly onRelease = (m: RxMessage): void => {
    const k = (m as ChunkMessage).chunk;
    if (this.poisonReleased) m.bytes.fill(0xdb);
    m.bytes = EMPTY;
    if (--k.refs === 0) this.recycle(k);
  };

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
      for (let i = c.head; i < c.queue.length; i++) {
        this.st.queued--;
        this.st.drops++;
        releaseLent(c.queue[i]!);
        this.sendCompleted();
      }
      c.queue = [];
      c.zcq = [];
      c.head = 0;
      // the last completions first: what came is not counted as lost pages
      if (c.zcHead < c.zcMsgs.length) {
        const w = this.ev.zcWords;
        const n = sock.readCompletions(c.id);
        for (let i = 0; i < n; i++) this.completion(c, this.zcInfo[i * w]!, this.zcInfo[i * w + 1]!, this.zcInfo[i * w + 2] !== 0);
        this.releaseCompleted(c);
      }
      this.closeConn(c, force || c.ackHead < c.unacked.length || c.zcHead < c.zcMsgs.length);
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
