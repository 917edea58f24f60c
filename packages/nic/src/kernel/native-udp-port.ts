import type { RefBuffer, SgList } from "@sgwire/core";
import { PortBase, RxMessage, rethrowLater } from "../port-base.js";
import type { Endpoint, PortCaps } from "../port.js";
import { HeapMemory } from "../heap-memory.js";
import { LentBufferMutatedError } from "../lent-check.js";
import { prepare, prepareOwned, releaseLent, type Prepared } from "./lend.js";
import { UdpDropCounter } from "./procfs.js";
import { checkUdpOptions, kernelDropError, udpSetup, type UdpPortOptions } from "./udp-port.js";
import { chooseMaxBatch, chooseZeroCopyThreshold } from "../calibration-store.js";
import { ipv4Text, ipv6Text } from "./address.js";
import { loadKernelAddon, type KernelUdpLimits, type KernelUdpSocket } from "./native-addon.js";

/** Bytes of one receive slot: any UDP payload fits (IPv4 65507, IPv6 65527 bytes). */
const SLOT_BYTES = 65536;
/** io_uring puts a header, the source address and control data before the payload in a slot. */
const URING_SLOT_BYTES = SLOT_BYTES + 256;
/** Messages handed to the kernel per send() call into the addon (it makes sendmmsg bursts of them). */
const MAX_PER_FLUSH = 256;
/** Waiting after ENOBUFS (the kernel had no memory for the datagram) before trying again (ms). */
const NOBUFS_RETRY_MS = 1;

const EAGAIN = 11;
const ENOBUFS = 105;

/**
 * Kernel UDP through the native addon (`engine: "native"`): sends made in one turn of the event
 * loop go to the kernel together, in sendmmsg bursts of up to 64 datagrams (one system call where
 * the `dgram` port makes one per message), and a run of equal-sized datagrams to one destination
 * as one UDP GSO send (UDP_SEGMENT: the kernel cuts it into datagrams, the stack is crossed once); datagrams are read in recvmmsg bursts into slots of
 * one buffer, and received messages are views of their slot until released. The socket is watched
 * by libuv (no polling timer, nothing blocks the event loop).
 *
 * Completion is the return of the system call: without MSG_ZEROCOPY the kernel has copied every
 * byte into its socket buffers by then, so lent buffers are released at once (driverCopies "all").
 * With `zeroCopyThreshold`, messages referencing at least that many bytes are sent with
 * MSG_ZEROCOPY: the kernel pins the pages, and the completions it queues on the socket's error
 * queue (read when libuv wakes the port, and every millisecond while some are awaited) release the
 * lent buffers; those the kernel copied anyway count in `zeroCopyCopied` and `copies.driver`
 * (driverCopies "some").
 *
 * Faults (never 'error'): a datagram the kernel refuses (send-failed, the rest still go), a
 * receive error (socket-error), datagrams the kernel dropped because the socket's receive buffer
 * was full (rx-overflow, from SO_RXQ_OVFL with every datagram read, and from /proc/net/udp on
 * every `stats` read and every 250 ms) or that arrived while the port held `maxRxHeldBytes`
 * (rx-overflow).
 */
export class NativeUdpPort extends PortBase {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  localAddress: Endpoint = { address: "", port: 0 };
  private readonly memory = new HeapMemory();
  private readonly debugLent: boolean;
  private readonly hwm: number;
  private sock: KernelUdpSocket | null = null;
  private readonly limits: KernelUdpLimits;
  private readonly rxBuffer: ArrayBuffer;
  private readonly rxInfo: Int32Array;
  private readonly rxInfoBytes: Uint8Array;
  /** Messages accepted, not yet taken by the kernel: pending[head..]. */
  private pending: Prepared[] = [];
  private pendingDest: number[] = [];
  /** Per pending message: send it with MSG_ZEROCOPY. */
  private pendingZc: boolean[] = [];
  private head = 0;
  private flushQueued = false;
  /** The kernel refused with EAGAIN: waiting for the socket to become writable. */
  private blocked = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Per-flush arrays handed to the addon, grown as needed. */
  private segs: Uint8Array[] = [];
  private counts = new Uint32Array(MAX_PER_FLUSH);
  private dests = new Uint32Array(MAX_PER_FLUSH);
  /** Destination ids by "address|port", and each id's endpoint. */
  private readonly destIds = new Map<string, number>();
  private readonly destById: Endpoint[] = [];
  /** The last destination sent to, as it was then (an object changed in place is looked up again). */
  private lastDest: Endpoint | null = null;
  private lastDestAddress = "";
  private lastDestPort = 0;
  private lastDestId = 0;
  /** The kernel's drops for this socket (receive buffer full), as rx-overflow faults. */
  private drops: UdpDropCounter | null = null;
  /** Source endpoints' address strings, by their 4 bytes (IPv4) as a number. */
  private lastSrcKey = -1;
  private lastSrcAddress = "";
  /** Slots that received messages not yet released are views of. */
  private slotsHeld = 0;
  /** Per slot: its messages not yet released (a GRO buffer holds several). */
  private readonly slotRefs: Uint16Array;
  /** Past this many held slots, received messages are copied out of theirs (three quarters of them). */
  private readonly copyAbove: number;
  /** debugReleasedBuffers: a released message's bytes are overwritten with 0xDB. */
  private readonly poisonReleased: boolean;
  /** Messages referencing at least this many bytes go with MSG_ZEROCOPY (Infinity: none). */
  private readonly zcThreshold: number;
  /** Completion ranges the addon writes (first id, last id, copied). */
  private readonly zcInfo: Uint32Array;
  /** The id the kernel gives the next MSG_ZEROCOPY message (one per message it takes, from 0, mod 2^32). */
  private zcNext = 0;
  /** Messages the kernel took with MSG_ZEROCOPY, by id, until their completion. */
  private readonly zcWaiting = new Map<number, Prepared>();
  /** Reads completions while some are awaited (the socket may not be polled then: no free slot). */
  private zcTimer: NodeJS.Timeout | null = null;
  /** Sends gathered before they go to the kernel without waiting for the end of the turn. */
  private readonly batch: number;
  /** Driven through an io_uring (engine "uring"). */
  private readonly uring: boolean;
  private readonly slotBytes: number;

  private constructor(o: ReturnType<typeof checkUdpOptions>, limits: KernelUdpLimits) {
    const rxSlots = o.rxSlots;
    super();
    this.hwm = o.highWaterMark;
    this.debugLent = o.debugLentBuffers;
    this.closeWaitMs = o.closeTimeoutMs;
    this.maxRxHeldBytes = o.maxRxHeldBytes;
    this.limits = limits;
    const driver = o.engine === "uring" ? "kernel-udp-uring" : "kernel-udp-native";
    ({ caps: this.caps, policy: this.policy, sendArena: this.sendArena } = udpSetup(o.copyThreshold, driver));
    this.uring = o.engine === "uring";
    this.slotBytes = this.uring ? URING_SLOT_BYTES : SLOT_BYTES;
    this.rxBuffer = new ArrayBuffer(rxSlots * this.slotBytes);
    this.copyAbove = Math.max(1, Math.floor((rxSlots * 3) / 4));
    this.slotRefs = new Uint16Array(rxSlots);
    this.rxInfo = new Int32Array(limits.burst * limits.infoWords);
    this.rxInfoBytes = new Uint8Array(this.rxInfo.buffer);
    this.zcThreshold = chooseZeroCopyThreshold(o.zeroCopyThreshold, "udp", driver);
    this.batch = chooseMaxBatch(o.maxBatch, "udp", driver, limits.burst);
    this.poisonReleased = o.debugReleasedBuffers;
    this.zcInfo = new Uint32Array(limits.burst * limits.zcWords);
    if (this.zcThreshold !== Infinity) this.caps.driverCopies = "some";
  }

  static async open(o: UdpPortOptions): Promise<NativeUdpPort> {
    const c = checkUdpOptions(o);
    const addon = loadKernelAddon();
    if (addon instanceof Error) throw addon;
    if (c.engine === "uring" && addon.kernelUdpLimits.uringMissing !== "") {
      throw new Error(`udp port: engine "uring": ${addon.kernelUdpLimits.uringMissing}; use engine "native"`);
    }
    const p = new NativeUdpPort(c, addon.kernelUdpLimits);
    const family = c.bind.address.includes(":") ? 6 : 4;
    p.sock = new addon.KernelUdp(family, c.bind.address, c.bind.port, p.rxBuffer, p.slotBytes, p.rxInfo, p.onEvent, p.uring);
    p.localAddress = { address: c.bind.address, port: p.sock.localPort };
    if (!c.gso) p.sock.disableGso();
    if (p.zcThreshold !== Infinity) {
      const err = p.sock.enableZerocopy(p.zcInfo);
      if (err !== 0) {
        p.sock.close();
        throw new Error(`udp port: zeroCopyThreshold: this kernel refuses SO_ZEROCOPY (errno ${err}); open the port without it`);
      }
    }
    p.drops = new UdpDropCounter(p.sock.fd, (n) => p.fault("rx-overflow", kernelDropError(n), null, n));
    p.sock.setPolling(true, false);
    return p;
  }

  /** Whether datagrams of one flow arriving together are read as one buffer and split here (UDP GRO). */
  get gro(): boolean {
    return this.sock?.gro ?? false;
  }

  /** Whether runs of equal datagrams to one destination go as one UDP GSO send (the kernel takes UDP_SEGMENT). */
  get gso(): boolean {
    return this.sock?.gso ?? false;
  }

  /** GSO sends made so far (each carried two datagrams or more). */
  get gsoSends(): number {
    return this.sock?.gsoSends ?? 0;
  }

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("udp port: allocate() after close()");
    return this.memory.allocate(size, "udp port");
  }

  // ---- send

  protected transmit(list: SgList, dest: Endpoint, owned: boolean): boolean {
    const id = dest === this.lastDest && dest.port === this.lastDestPort && dest.address === this.lastDestAddress ? this.lastDestId : this.destinationId(dest);
    const p = owned ? prepareOwned(list, this.memory, null, this.sendArena!.take(list), this.debugLent) : prepare(list, this.memory, null, this.debugLent);
    this.pending.push(p);
    this.pendingDest.push(id);
    this.pendingZc.push(p.referencedBytes >= this.zcThreshold);
    this.st.queued++;
    this.st.bytesCopied += p.scratchBytes;
    this.st.copies.port += p.scratchBytes;
    this.st.bytesReferenced += p.referencedBytes;
    this.st.completionsPending++;
    const waiting = this.pending.length - this.head;
    if (this.blocked) this.st.txRingFull++;
    else if (waiting >= this.batch) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushLater);
    }
    return this.pending.length - this.head < this.hwm;
  }

  /** The addon's id for `dest` (checked by PortBase), added on first use. */
  private destinationId(dest: Endpoint): number {
    const key = `${dest.address}|${dest.port}`;
    let id = this.destIds.get(key);
    if (id === undefined) {
      // an address of the other family is a TypeError naming it, before anything was queued
      id = this.sock!.addDestination(dest.address, dest.port);
      this.destIds.set(key, id);
      this.destById[id] = { address: dest.address, port: dest.port };
    }
    this.lastDest = dest;
    this.lastDestAddress = dest.address;
    this.lastDestPort = dest.port;
    this.lastDestId = id;
    return id;
  }

  private readonly flushLater = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Hands what is pending to the kernel until it is all taken or the socket is full. */
  private flush(): void {
    const sock = this.sock;
    if (sock === null || this.blocked) return;
    while (this.head < this.pending.length) {
      // a run of messages with the same MSG_ZEROCOPY choice: the flag is per call
      const zc = this.pendingZc[this.head]!;
      let n = 1;
      const most = Math.min(this.pending.length - this.head, MAX_PER_FLUSH);
      while (n < most && this.pendingZc[this.head + n] === zc) n++;
      const segs = this.segs;
      segs.length = 0;
      for (let i = 0; i < n; i++) {
        const p = this.pending[this.head + i]!;
        const ps = p.segments;
        for (let k = 0; k < ps.length; k++) segs.push(ps[k]!);
        this.counts[i] = ps.length;
        this.dests[i] = this.pendingDest[this.head + i]!;
      }
      let taken: number;
      try {
        taken = sock.send(segs, this.counts, this.dests, n, zc);
      } catch (e) {
        // the addon refused the call itself (a bug here, not a peer's doing): the port stops
        this.portFailed(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (zc) {
        // the kernel holds the pages until it reports completion: the lent buffers wait for it
        for (let i = 0; i < taken; i++) this.takenZerocopy(this.pending[this.head + i]!);
      } else for (let i = 0; i < taken; i++) this.completed(this.pending[this.head + i]!, null, null);
      this.head += taken;
      if (taken < n) {
        const errno = sock.lastErrno;
        if (errno === EAGAIN) {
          // the socket's send buffer is full: go on when the kernel says it has room
          this.blocked = true;
          sock.setPolling(true, true);
          break;
        }
        if (errno === ENOBUFS) {
          this.blocked = true;
          this.retryTimer = setTimeout(this.unblock, NOBUFS_RETRY_MS);
          break;
        }
        // this one datagram was refused (too big for the route, no permission, unreachable
        // network): a fault of that message; the rest still go
        const p = this.pending[this.head]!;
        const dest = this.destById[this.pendingDest[this.head]!] ?? null;
        this.head++;
        this.completed(p, new Error(`udp port: the kernel refused a datagram of ${p.wireBytes} bytes: errno ${errno}`), dest);
      }
    }
    this.compact();
    if (this.head === this.pending.length && this.drainAwaited) this.drainedNow();
  }

  private readonly unblock = (): void => {
    this.retryTimer = null;
    this.blocked = false;
    this.flush();
  };

  /** One message left the port: taken by the kernel (err null) or refused. */
  private completed(p: Prepared, err: Error | null, dest: Endpoint | null): void {
    this.st.queued--;
    if (err === null) {
      this.st.messagesSent++;
      this.st.bytesSent += p.wireBytes;
      // the kernel copied it into its socket buffer (counted here when the count is per message)
      this.st.copies.driver += p.wireBytes;
    } else this.fault("send-failed", err, dest);
    this.giveBack(p);
  }

  private compact(): void {
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.pendingDest.length = 0;
      this.pendingZc.length = 0;
      this.head = 0;
    } else if (this.head > 4096) {
      this.pending = this.pending.slice(this.head);
      this.pendingDest = this.pendingDest.slice(this.head);
      this.pendingZc = this.pendingZc.slice(this.head);
      this.head = 0;
    }
  }

  /** A message the kernel took with MSG_ZEROCOPY: sent; released at its completion. */
  private takenZerocopy(p: Prepared): void {
    this.st.queued--;
    this.st.messagesSent++;
    this.st.bytesSent += p.wireBytes;
    this.st.zeroCopySent++;
    this.zcWaiting.set(this.zcNext, p);
    this.zcNext = (this.zcNext + 1) >>> 0;
    // io_uring: completions come on the ring, and its eventfd wakes the port; no polling
    if (this.zcTimer === null && !this.uring) this.zcTimer = setTimeout(this.pollCompletions, 1);
  }

  private readonly pollCompletions = (): void => {
    this.zcTimer = null;
    const sock = this.sock;
    if (sock !== null) {
      let n: number;
      while ((n = sock.readCompletions()) > 0) {
        this.zerocopyDone(n);
        if (n < this.limits.burst) break;
      }
    }
    if (this.zcWaiting.size > 0 && this.sock !== null) this.zcTimer = setTimeout(this.pollCompletions, 1);
  };

  /** `n` completion ranges are in zcInfo: their messages' lent buffers go back. */
  private zerocopyDone(n: number): void {
    const z = this.zcInfo;
    const w = this.limits.zcWords;
    for (let i = 0; i < n; i++) {
      const first = z[i * w]!;
      const last = z[i * w + 1]!;
      const copied = z[i * w + 2] !== 0;
      for (let id = first; ; id = (id + 1) >>> 0) {
        const p = this.zcWaiting.get(id);
        if (p !== undefined) {
          this.zcWaiting.delete(id);
          if (copied) {
            this.st.zeroCopyCopied++;
            this.st.copies.driver += p.wireBytes;
          }
          this.giveBack(p);
        }
        if (id === last) break;
      }
    }
  }

  /** Gives back what a message lent, once nothing will read it any more. */
  private giveBack(p: Prepared): void {
    const changed = releaseLent(p);
    if (changed !== null) this.emit("error", new LentBufferMutatedError("udp", changed.length));
    this.sendCompleted();
  }

  // ---- receive

  private readonly onEvent = (n: number, drops: number, completions: number): void => {
    try {
      if (n === this.limits.zerocopy) {
        this.zerocopyDone(completions);
      } else if (n === this.limits.writable) {
        this.blocked = false;
        this.flush();
      } else if (n < 0) {
        this.fault("socket-error", new Error(`udp port: receive error: errno ${-n}`));
      } else {
        this.received(n);
      }
      this.drops?.seen(drops);
    } catch (e) {
      // never into the addon's callback: an exception there would end the process
      rethrowLater(e);
    }
  };

  private received(n: number): void {
    const info = this.rxInfo;
    const w = this.limits.infoWords;
    for (let i = 0; i < n; i++) {
      const at = i * w;
      const slot = info[at]!;
      const len = info[at + 1]!;
      // a GRO buffer: several datagrams of one flow, each `segment` bytes but the last
      const segment = info[at + 9]!;
      const count = segment > 0 ? Math.ceil(len / segment) : 1;
      const source = this.sourceOf(at);
      if (info[at + 2] !== 0) {
        // larger than a slot: cannot happen for UDP payloads (at most 65527 bytes); kept exact anyway
        this.sock!.releaseSlot(slot);
        this.fault("truncated", new Error(`udp port: a datagram larger than ${SLOT_BYTES} bytes was truncated`), source, count);
        continue;
      }
      // the payload's place in its slot (io_uring writes a header, the source and control data first)
      const base = slot * this.slotBytes + info[at + 10]!;
      // the application holds most slots: these messages get memory of their own (one copy each)
      // and the slot goes back at once, so held messages never stop the socket being read
      const copy = this.slotsHeld >= this.copyAbove;
      // the slot is held while its messages are handed out (a handler may release each at once,
      // and the slot must not be read into before the last of them was made)
      this.slotRefs[slot] = 1;
      this.slotsHeld++;
      for (let k = 0, off = 0; k < count; k++, off += segment) {
        const size = count === 1 ? len : Math.min(segment, len - off);
        if (this.rxFull) {
          this.fault("rx-overflow", new Error(`udp port: datagram of ${size} bytes dropped: received messages hold maxRxHeldBytes ${this.maxRxHeldBytes}`), source);
          continue;
        }
        const view = new Uint8Array(this.rxBuffer, base + off, size);
        if (copy) {
          const own = new Uint8Array(size);
          own.set(view);
          this.st.rxCopied++;
          this.st.rxBytesCopied += size;
          this.deliver(new RxMessage(own, source, null));
        } else {
          this.slotRefs[slot]!++;
          this.deliver(new RxMessage(view, source, this.onRelease));
        }
      }
      this.unrefSlot(slot);
    }
  }

  /** One holder of `slot` is done; the last gives it back to be read into. */
  private unrefSlot(slot: number): void {
    if (--this.slotRefs[slot]! > 0) return;
    this.slotsHeld--;
    this.sock?.releaseSlot(slot);
  }

  private sourceOf(at: number): Endpoint {
    const info = this.rxInfo;
    const port = info[at + 4]!;
    const b = this.rxInfoBytes;
    const o = (at + 5) * 4;
    if (info[at + 3] === 4) {
      const key = info[at + 5]!;
      if (key !== this.lastSrcKey) {
        this.lastSrcKey = key;
        this.lastSrcAddress = ipv4Text(b, o);
      }
      return { address: this.lastSrcAddress, port };
    }
    return { address: ipv6Text(b, o), port };
  }

  private readonly onRelease = (m: RxMessage): void => {
    const slot = (m.bytes.byteOffset / this.slotBytes) | 0;
    if (this.poisonReleased) m.bytes.fill(0xdb);
    // the slot is read into again once all its messages are released: nothing may read this
    // view any more
    m.bytes = EMPTY;
    this.unrefSlot(slot);
  };

  protected override refreshStats(): void {
    this.drops?.refresh();
  }

  protected async shutdown(force: boolean): Promise<void> {
    this.drops?.stop();
    if (this.zcTimer !== null) clearTimeout(this.zcTimer);
    this.zcTimer = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (force) {
      // never taken by the kernel: give back what they lent; they are dropped
      for (let i = this.head; i < this.pending.length; i++) {
        releaseLent(this.pending[i]!);
        this.st.queued--;
        this.st.drops++;
        this.sendCompleted();
      }
      this.head = this.pending.length;
      this.compact();
    }
    // the last completions, then the socket; zero-copy sends still uncompleted (a forced close) are
    // given back once the socket is gone: its queued datagrams go with it
    if (this.sock !== null && this.zcWaiting.size > 0) {
      const n = this.sock.readCompletions();
      if (n > 0) this.zerocopyDone(n);
    }
    this.sock?.close();
    this.sock = null;
    for (const p of this.zcWaiting.values()) this.giveBack(p);
    this.zcWaiting.clear();
  }
}

const EMPTY = new Uint8Array(0);
