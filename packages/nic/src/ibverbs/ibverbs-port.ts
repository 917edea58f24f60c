import type { RefBuffer, SgList } from "@sgwire/core";
import { RxMessage, type PortBase } from "../port-base.js";
import { PolledPort, TX_BURST, addLent, releaseLent, type Lent } from "../polled-port.js";
import type { Endpoint, PortCaps } from "../port.js";
import { checkBind, checkCommonOptions, checkEndpoint, checkKeys, type CommonOptionValues, checkPositiveInt, formatIpv4, parseIpv4 } from "../checks.js";
import { LentRecord } from "../lent-check.js";
import { IBVERBS } from "../native/protocol.js";
import { requireIbverbs, type IbverbsAddon, type IbvCounters, type IbvPort, type IbvPortInfo } from "./native.js";
import { RegisteredMemory } from "../registered-memory.js";
import { StageRing } from "./stage-ring.js";
import { StagingSlots, type LendOptions } from "../staging-slots.js";
import { chooseCopyThreshold, chooseMaxSegments } from "../calibration-store.js";
import { IBVERBS_KEYS, type IbverbsPortOptions } from "./options.js";

/** Descriptor, metadata and control words shared with native/ibverbs/ (one definition: scripts/native-protocol.mjs). */
const { MSG_WORDS, SEG_WORDS, FLAG_INLINE, RX_META_WORDS, CTL, CTL_WORDS, STOP } = IBVERBS;
/** Below this a copy into registered scratch is cheaper than another SGE (Cornflakes' code uses 256). */
const IBV_COPY_THRESHOLD = 256;
/**
 * send({ codec, message }) has the encoder write its scratch into one of SLOTS slots of
 * SLOT_BYTES at the start of the registered staging region (StagingSlots): the device reads it
 * from there, the port copies none of it. A slot is free again when its work request completes.
 * Staging regions smaller than SLOTS_MIN_STAGE have no slots.
 */
const SLOTS = 64;
const SLOT_BYTES = 1024;
const SLOTS_MIN_STAGE = 1 << 20;

/** A connection (RC) or a known peer (UD), named by the peer's listening endpoint. */
interface Conn {
  index: number;
  key: string;
  endpoint: Endpoint;
  /** Largest message the peer's receive buffers hold. */
  maxBytes: number;
  state: "connecting" | "open" | "closed";
  /** UD, accepted side: the address handle is made from the peer's first datagram. */
  ready: boolean;
}

/** One message between send() and its completion. */
interface InFlight {
  lent: Lent;
  /** Bytes of the staging ring this message holds (freed in order). */
  stage: number;
  /** The staging slot its scratch is in (-1: none), given back at completion. */
  slot: number;
  done: boolean;
  dest: Endpoint;
  /** debugLentBuffers: fingerprints of the referenced segments at send */
  check: LentRecord | undefined;
}

/**
 * The ibverbs backend (RDMA: RoCE, InfiniBand; Soft-RoCE here). See native/ibverbs/.
 *
 * A port binds an rdma_cm id to `address:port` and accepts connections there; `connect()` makes
 * one to another port (RC: a reliable connection with its own QP; UD: an address handle and QP
 * number for the port's one datagram QP). Peers are named by their listening endpoint both ways,
 * so a received message's `source` is where replies go.
 *
 * Transmit path: every message is one work request. Scratch segments (and references to memory
 * that is not this port's registered memory) are copied into a registered staging ring;
 * referenced segments from `allocate()` become SGEs with their arena's lkey and are not copied.
 * The port retains each lent RefBuffer, and holds the message's staging bytes, until the work
 * request's completion arrives on the send CQ. A completion with an error status is a peer's
 * fault, not the port's: counted (stats.faults["send-failed"] and stats.drops) and reported as a
 * 'fault' event naming the status (ibv_wc_status_str) and the destination, one event per peer
 * and poll however many work requests failed; an RC disconnect is one "peer-reset" fault.
 * Messages of at most `device.maxInline` bytes with no references go inline.
 *
 * Receive path: registered buffers are posted to a shared receive queue; a received message is
 * a view of its buffer (valid until release(), detached then) and the buffer is reposted on
 * release(). Holding many messages starves the queue: RC senders then wait (RNR retry), UD
 * datagrams are dropped by the device.
 */
export class IbverbsPort extends PolledPort {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  readonly localAddress: Endpoint;
  /** Device facts: name, transport, SGE limit, inline limit, path MTU, queue sizes. */
  readonly device: IbvPortInfo;

  private readonly native: IbverbsAddon;
  private readonly np: IbvPort;
  private readonly mem: RegisteredMemory;
  private readonly ring: StageRing;
  /** Where the ring starts in the staging region (after the slots). */
  private readonly ringBase: number;
  private readonly slots: StagingSlots | null;
  private readonly stageBytes: Uint8Array;
  private readonly ud: boolean;
  private readonly connectTimeoutMs: number;
  private desc = new Uint32Array(1 << 14);
  private readonly ctl = new Int32Array(CTL_WORDS);
  private readonly compl = new Uint32Array(2 * 4096);
  private readonly rxMeta = new Uint32Array(32 * RX_META_WORDS);
  private wPos = 0;
  /** Messages not yet staged because the staging ring was full (kept in order, copied). */
  private overflow: Array<{ parts: Uint8Array[]; refs: (RefBuffer | undefined)[]; conn: Conn; dest: Endpoint; bytes: number }> = [];
  private polls = 0;
  private readonly inflight: InFlight[] = [];
  private inflightHead = 0;
  /** wr_id of inflight[inflightHead] */
  private headSeq = 0;
  private nextSeq = 0;
  private readonly conns: Conn[] = [];
  private readonly byKey = new Map<string, Conn>();
  private readonly connecting = new Map<number, { resolve: (c: Conn) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private lastDest: Endpoint | null = null;
  private lastDestAddress = "";
  private lastConn: Conn | null = null;
  private readonly debugLent: boolean;
  /** failed sends of this poll, by destination, reported together (flushFailures) */
  private failures = new Map<string, { dest: Endpoint; count: number; why: string; status: number | undefined }>();

  private constructor(native: IbverbsAddon, np: IbvPort, o: IbverbsPortOptions, common: CommonOptionValues, ip: number) {
    super();
    this.native = native;
    this.np = np;
    this.device = np.info();
    this.ud = this.device.transport === "ud";
    this.connectTimeoutMs = o.connectTimeoutMs ?? 15000;
    this.debugLent = common.debugLentBuffers;
    this.closeWaitMs = common.closeTimeoutMs;
    // a memory region is only valid on the protection domain it was registered with: per port
    this.mem = new RegisteredMemory("ibverbs port", (bytes) => this.np.allocArena(bytes));
    this.stageBytes = new Uint8Array(np.stage());
    this.slots = this.stageBytes.length >= SLOTS_MIN_STAGE ? new StagingSlots(SLOTS, SLOT_BYTES) : null;
    this.slots?.cut(this.stageBytes.buffer);
    this.ringBase = this.slots?.regionBytes ?? 0;
    this.ring = new StageRing(this.stageBytes.length - this.ringBase);
    const driver = `${this.device.device}/${this.device.transport}`;
    // an explicit option wins, then a stored calibration (sgwire calibrate --store), then the default
    const copyThreshold = chooseCopyThreshold(o.copyThreshold, "ibverbs", driver, IBV_COPY_THRESHOLD);
    const maxSegments = Math.max(1, this.device.maxSge);
    this.caps = {
      backend: "ibverbs",
      driver,
      maxSegments,
      maxMessageBytes: Math.min(this.ud ? this.device.mtu : this.device.recvBytes, this.stageBytes.length - this.ringBase),
      copyThreshold,
      referencesAnyMemory: false,
      // Soft-RoCE (rxe) is the kernel copying every byte into an skb; an RDMA NIC reads by DMA
      driverCopies: this.device.device.startsWith("rxe") ? "all" : "none",
    };
    this.policy = { copyThreshold, maxSegments: chooseMaxSegments("ibverbs", driver, maxSegments), isEligible: this.mem.isEligible };
    this.localAddress = { address: formatIpv4(ip), port: this.device.localPort };
    np.setBuffers(this.desc, this.ctl, this.compl, this.rxMeta);
    // accepting connections needs the rdma_cm channel polled even when nobody waits for anything
    this.pollsWhenIdle = true;
    this.schedulePoll();
  }

  static async open(o: IbverbsPortOptions): Promise<IbverbsPort> {
    checkKeys(o, IBVERBS_KEYS, "openPort(ibverbs)");
    if (o.bind?.address === undefined) throw new TypeError("openPort(ibverbs): bind.address is required: the IPv4 address of an RDMA device's interface");
    const bind = checkBind(o.bind, "openPort(ibverbs)", { port: 0 });
    const ip = parseIpv4(bind.address, "openPort(ibverbs): bind.address");
    const port = bind.port;
    if (o.transport !== undefined && o.transport !== "rc" && o.transport !== "ud") {
      throw new TypeError(`openPort(ibverbs): transport must be "rc" or "ud", got ${String(o.transport)}`);
    }
    if (o.device !== undefined && (typeof o.device !== "string" || o.device.length === 0)) {
      throw new TypeError("openPort(ibverbs): device must be a device name like \"rxe0\"");
    }
    const sendDepth = checkPositiveInt(o.sendDepth ?? 256, "openPort(ibverbs): sendDepth", 32768);
    const recvSlots = checkPositiveInt(o.recvSlots ?? 512, "openPort(ibverbs): recvSlots", 65536);
    const recvBytes = checkPositiveInt(o.recvBytes ?? 65536, "openPort(ibverbs): recvBytes", 1 << 30);
    if (recvBytes < 64) throw new RangeError(`openPort(ibverbs): recvBytes must be at least 64, got ${recvBytes}`);
    const maxInline = o.maxInline ?? 256;
    if (typeof maxInline !== "number" || !Number.isInteger(maxInline) || maxInline < 0 || maxInline > 4096) {
      throw new RangeError(`openPort(ibverbs): maxInline must be an integer 0..4096, got ${String(maxInline)}`);
    }
    const stageBytes = checkPositiveInt(o.stageBytes ?? 4 << 20, "openPort(ibverbs): stageBytes", 1 << 30);
    if (stageBytes < 4096) throw new RangeError(`openPort(ibverbs): stageBytes must be at least 4096, got ${stageBytes}`);
    if (o.connectTimeoutMs !== undefined) checkPositiveInt(o.connectTimeoutMs, "openPort(ibverbs): connectTimeoutMs");
    // closeTimeoutMs, debugLentBuffers, copyThreshold: checked before the device is touched
    const common = checkCommonOptions(o, "openPort(ibverbs)");
    const native = requireIbverbs();
    const np = new native.IbvPort({
      ip, port, ud: o.transport === "ud", sendDepth, recvSlots, recvBytes, maxInline, stageBytes,
      ...(o.device !== undefined ? { device: o.device } : {}),
    });
    return new IbverbsPort(native, np, o, common, ip);
  }

  /**
   * Connects to the ibverbs port listening at `to` (RC: a reliable connection; UD: resolves its
   * address handle and QP number). Resolves when messages can be sent there; rejects with the
   * rdma_cm event that failed (no listener: "rejected").
   */
  connect(to: Endpoint): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error("ibverbs port: connect() after close()"));
    checkEndpoint(to, "ibverbs port: connect()");
    const ip = parseIpv4(to.address, "ibverbs port: connect()");
    const key = `${formatIpv4(ip)}:${to.port}`;
    const have = this.byKey.get(key);
    if (have !== undefined && have.state === "open" && have.ready) return Promise.resolve();
    const index = this.np.connect(ip, to.port);
    const conn: Conn = { index, key, endpoint: { address: formatIpv4(ip), port: to.port }, maxBytes: 0, state: "connecting", ready: true };
    this.conns[index] = conn;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connecting.delete(index);
        conn.state = "closed";
        reject(new Error(`ibverbs port: connect(${key}) timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      this.connecting.set(index, { resolve: () => resolve(), reject, timer });
      this.schedulePoll();
    });
  }

  /** Peers this port can send to (connected, or connected to it), by listening endpoint. */
  get peers(): Endpoint[] {
    return [...this.byKey.values()].filter((c) => c.state === "open").map((c) => c.endpoint);
  }

  allocate(size: number): RefBuffer {
    if (this.isClosed) throw new Error("ibverbs port: allocate() after close()");
    return this.mem.allocate(size);
  }

  /** Registered blocks handed out and not freed (this port's). */
  get registeredInUse(): number {
    return this.mem.inUse;
  }

  /** Bytes of the staging ring held by messages not yet completed. */
  get stagedBytesInUse(): number {
    return this.ring.bytesUsed;
  }

  /** Native counters: error completions, receive errors, outstanding work requests, held receive buffers. */
  counters(): IbvCounters {
    return this.np.counters();
  }

  private connFor(dest: Endpoint): Conn {
    // the last destination, if it was not changed in place since and is still connected
    const last = this.lastConn;
    if (dest === this.lastDest && last !== null && last.state === "open" && dest.port === last.endpoint.port && dest.address === this.lastDestAddress) return last;
    checkEndpoint(dest, "ibverbs port: send() destination");
    const ip = parseIpv4(dest.address, "ibverbs port: send() destination");
    const key = `${formatIpv4(ip)}:${dest.port}`;
    let c = this.byKey.get(key);
    // a peer whose first message arrived before the poll loop read its rdma_cm event: read it now
    if ((c === undefined || c.state !== "open") && this.handleCm()) c = this.byKey.get(key);
    if (c === undefined || c.state !== "open") {
      throw new Error(
        `ibverbs port: no connection to ${key}${c?.state === "closed" ? " (it was closed)" : ""}: ` +
          "await port.connect(destination) first, or reply to a peer that connected to this port",
      );
    }
    if (!c.ready) {
      throw new Error(`ibverbs port: UD peer ${key} connected to this port but has not sent a datagram yet (its address handle comes from it); connect() to it instead`);
    }
    this.lastDest = dest;
    this.lastDestAddress = dest.address;
    this.lastConn = c;
    return c;
  }

  /** send({ codec, message }): the encoder writes the scratch into a free slot of the registered staging region. */
  protected override lendScratch(): LendOptions | null {
    return this.slots === null ? null : this.slots.lend(this.policy);
  }

  protected transmit(list: SgList, destination: Endpoint | undefined, owned: boolean): boolean {
    if (destination === undefined) throw new TypeError("ibverbs port: send() needs a destination { address, port } (a connected peer)");
    const conn = this.connFor(destination);
    if (list.byteLength > conn.maxBytes) {
      throw new RangeError(`ibverbs port: message of ${list.byteLength} bytes exceeds what ${conn.key} can receive (${conn.maxBytes} bytes)`);
    }
    this.st.completionsPending++;
    // the slot the encoder wrote this message's scratch into, if it fitted there
    const slot = this.slots === null ? -1 : this.slots.take(list, owned);
    if (this.overflow.length > 0 || !this.stage(list, conn, destination, slot)) {
      // kept until the ring has room: keep() copies the scratch, so the slot is free at once
      this.slots?.release(slot);
      this.keep(list, conn, destination);
    }
    this.scheduleFlush();
    return !this.backpressured;
  }

  /**
   * Stages one message: copies its scratch into the ring (unless the encoder wrote it into staging
   * slot `slot`), writes its descriptor. False if the ring is full.
   */
  private stage(list: SgList, conn: Conn, dest: Endpoint, slot = -1): boolean {
    const segs = list.segments;
    const n = segs.length;
    let copyBytes = 0;
    let inSlot = 0;
    let refs = 0;
    for (let i = 0; i < n; i++) {
      const s = segs[i]!;
      if (list.isScratch(i)) {
        if (slot < 0) copyBytes += s.length;
        else inSlot += s.length;
      } else if (this.mem.lookup(s) === undefined) copyBytes += s.length;
      else refs++;
    }
    const ringOff = this.ring.alloc(copyBytes);
    if (ringOff < 0) return false;
    const off = ringOff + this.ringBase;
    const consumed = this.ring.consumed;
    if (this.wPos + MSG_WORDS + n * SEG_WORDS > this.desc.length) this.growDesc(MSG_WORDS + n * SEG_WORDS);
    const d = this.desc;
    const st = this.stageBytes;
    const base = this.wPos;
    let w = base + MSG_WORDS;
    let nseg = 0;
    let pos = off;
    let stagedEnd = -1; // where the last descriptor's staged run ends, if it was one
    let lent: Lent;
    let check: LentRecord | undefined;
    for (let i = 0; i < n; i++) {
      const s = segs[i]!;
      const scratch = list.isScratch(i);
      const hit = scratch ? undefined : this.mem.lookup(s);
      if (hit === undefined) {
        const len = s.length;
        if (len === 0) continue;
        // in the staging region already (the encoder wrote it into the slot), or copied there now
        let at: number;
        if (scratch && slot >= 0) at = s.byteOffset;
        else {
          if (len < 64) for (let k = 0; k < len; k++) st[pos + k] = s[k]!;
          else st.set(s, pos);
          at = pos;
          pos += len;
        }
        // runs that are contiguous in the staging region: one SGE
        if (stagedEnd === at) d[w - 1] += len;
        else {
          d[w] = 0;
          d[w + 1] = at;
          d[w + 2] = len;
          w += SEG_WORDS;
          nseg++;
        }
        stagedEnd = at + len;
      } else {
        hit.owner.retain();
        lent = addLent(lent, hit.owner);
        if (this.debugLent) (check ??= new LentRecord()).add(s);
        d[w] = hit.arena.id + 1;
        d[w + 1] = s.byteOffset; // offset in the arena (its ArrayBuffer starts at the region)
        d[w + 2] = s.length;
        w += SEG_WORDS;
        nseg++;
        stagedEnd = -1;
      }
    }
    const seq = this.nextSeq;
    this.nextSeq = (seq + 1) >>> 0;
    d[base] = conn.index;
    d[base + 1] = nseg;
    d[base + 2] = seq;
    d[base + 3] = refs === 0 && list.byteLength <= this.device.maxInline ? FLAG_INLINE : 0;
    this.wPos = w;
    this.nStaged++;
    this.inflight.push({ lent, stage: consumed, slot, done: false, dest, check });
    this.st.bytesCopied += copyBytes;
    this.st.copies.port += copyBytes;
    // what the encoder wrote into the slot is neither copied by the port nor the application's memory
    this.st.bytesReferenced += list.byteLength - copyBytes - inSlot;
    return true;
  }

  /** The staging ring is full: keep a copy of the scratch and hold the references until there is room. */
  private keep(list: SgList, conn: Conn, dest: Endpoint): void {
    const parts: Uint8Array[] = [];
    const refs: (RefBuffer | undefined)[] = [];
    for (let i = 0; i < list.segments.length; i++) {
      const s = list.segments[i]!;
      const hit = list.isScratch(i) ? undefined : this.mem.lookup(s);
      if (hit === undefined) {
        parts.push(s.slice());
        refs.push(undefined);
      } else {
        hit.owner.retain();
        parts.push(s);
        refs.push(hit.owner);
      }
    }
    this.overflow.push({ parts, refs, conn, dest, bytes: list.byteLength });
    this.st.queued = this.overflow.length + this.nStaged;
    if (!this.backpressured) {
      this.backpressured = true;
      this.st.txRingFull++;
    }
    this.schedulePoll();
  }

  /** Stages kept messages while the ring has room. */
  private stageOverflow(): void {
    while (this.overflow.length > 0) {
      const m = this.overflow[0]!;
      if (m.conn.state !== "open") {
        this.overflow.shift();
        for (const r of m.refs) r?.release();
        this.failSend(m.dest, "the connection closed before it was sent");
        this.sendCompleted(1);
        continue;
      }
      const list = { segments: m.parts, byteLength: m.bytes, isScratch: (i: number) => m.refs[i] === undefined } as unknown as SgList;
      if (!this.stage(list, m.conn, m.dest)) break;
      this.overflow.shift();
      // stage() retained its own references
      for (const r of m.refs) r?.release();
      if (this.nStaged >= TX_BURST) this.flush();
    }
  }

  private growDesc(words: number): void {
    const nd = new Uint32Array(Math.max(this.desc.length * 2, this.wPos + words));
    nd.set(this.desc.subarray(0, this.wPos));
    this.desc = nd;
    this.np.setBuffers(this.desc, this.ctl, this.compl, this.rxMeta);
  }

  /** Posts staged messages, reaps completions; keeps what the send queues had no room for. */
  protected flush(): void {
    if (this.down) return;
    for (;;) {
      const staged = this.nStaged;
      const taken = this.np.post(staged);
      this.afterPost();
      if (taken === staged) {
        this.nStaged = 0;
        this.wPos = 0;
        break;
      }
      const stop = this.ctl[CTL.STOP];
      let w = 0;
      for (let k = 0; k < taken; k++) w += MSG_WORDS + this.desc[w + 1]! * SEG_WORDS;
      let drop = 0;
      if (stop === STOP.NO_CONN) {
        // the first untaken message's connection closed: it cannot be sent; complete it as failed
        const seq = this.desc[w + 2]!;
        this.completeOne(seq, -1);
        drop = MSG_WORDS + this.desc[w + 1]! * SEG_WORDS;
      } else if (stop === STOP.BAD_DESC || stop === STOP.POST_ERROR) {
        this.portFailed(new Error(stop === STOP.BAD_DESC
          ? "ibverbs port: internal error: the native side rejected a send descriptor; the port is closed"
          : `ibverbs port: ibv_post_send failed (errno ${this.ctl[CTL.POST_ERRNO]}); the port is closed`));
        return;
      }
      this.desc.copyWithin(0, w + drop, this.wPos);
      this.wPos -= w + drop;
      this.nStaged -= taken + (drop > 0 ? 1 : 0);
      if (drop === 0) break; // SQ full: retry from the poll loop
    }
    this.updatePressure();
  }

  private afterPost(): void {
    const c = this.ctl;
    const nc = c[CTL.COMPLETIONS]!;
    for (let k = 0; k < nc; k++) this.completeOne(this.compl[2 * k]!, this.compl[2 * k + 1]!);
    this.st.messagesSent += c[CTL.POSTED]!;
    this.st.bytesSent += c[CTL.POSTED_BYTES]!;
    this.retire();
    this.flushFailures();
  }

  /** Marks message `seq` complete; status 0 is success, -1 never posted, else an ibv_wc_status. */
  private completeOne(seq: number, status: number): void {
    const idx = this.inflightHead + ((seq - this.headSeq) >>> 0);
    const f = this.inflight[idx];
    if (f === undefined || f.done) return;
    f.done = true;
    const l = f.lent;
    f.lent = undefined;
    // the device has read the message: its staging slot may be written again
    this.slots?.release(f.slot);
    f.slot = -1;
    if (f.check !== undefined) {
      this.checkLent(f.check);
      f.check = undefined;
    }
    releaseLent(l);
    if (status !== 0) {
      this.failSend(f.dest, status === -1 ? "the connection closed before it was posted" : `work completion status ${this.native.statusString(status)} (${status})`, status);
    }
    this.sendCompleted(1);
  }

  /** Frees, in order, the staging bytes of completed messages at the head. */
  private retire(): void {
    const q = this.inflight;
    let h = this.inflightHead;
    while (h < q.length && q[h]!.done) {
      this.ring.free(q[h]!.stage);
      h++;
      this.headSeq = (this.headSeq + 1) >>> 0;
    }
    if (h > 1024 && h * 2 > q.length) {
      q.splice(0, h);
      h = 0;
    }
    this.inflightHead = h;
  }

  /** Notes a failed send; reported with the others of this poll by flushFailures(). */
  private failSend(dest: Endpoint, why: string, status?: number): void {
    const key = `${dest.address}:${dest.port}`;
    const f = this.failures.get(key);
    if (f !== undefined) f.count++;
    else this.failures.set(key, { dest, count: 1, why, status: status !== undefined && status > 0 ? status : undefined });
  }

  /**
   * Reports the failed sends noted since the last call: one "send-failed" fault per destination
   * with their count (a disconnect flushes a whole send queue: one report, not one per message).
   */
  private flushFailures(): void {
    if (this.failures.size === 0) return;
    const all = [...this.failures.values()];
    this.failures.clear();
    for (const f of all) {
      const more = f.count > 1 ? ` (${f.count} messages; the first: ${f.why})` : `: ${f.why}`;
      const e = new Error(`ibverbs port: send to ${f.dest.address}:${f.dest.port} failed${more}`) as Error & { status?: number; destination?: Endpoint };
      if (f.status !== undefined) e.status = f.status;
      e.destination = f.dest;
      this.fault("send-failed", e, f.dest, f.count);
    }
  }

  protected queuedBeyondStage(): number {
    return this.overflow.length;
  }

  protected override get extraWork(): boolean {
    return this.connecting.size > 0;
  }

  /** Each poll: rdma_cm events (every 16th poll, or every poll while connecting), then kept messages. */
  protected override pollExtra(): boolean {
    const progress = this.connecting.size > 0 || (this.polls++ & 15) === 0 ? this.handleCm() : false;
    if (this.overflow.length > 0) this.stageOverflow();
    return progress;
  }

  protected receiveBurst(): number {
    const abs = this.np.rxBurst();
    const meta = this.rxMeta;
    for (let i = 0; i < abs.length; i++) {
      const ab = abs[i]!;
      const j = i * RX_META_WORDS;
      const source = { address: formatIpv4(meta[j + 1]!), port: meta[j + 2]! };
      this.deliver(new RxMessage(new Uint8Array(ab, 0, meta[j]!), source, () => this.releaseRx(ab)));
    }
    return abs.length;
  }

  /** Handles rdma_cm events: finished connects, accepted peers, disconnects. */
  private handleCm(): boolean {
    const evs = this.np.cmPoll();
    for (const e of evs) {
      const endpoint = { address: formatIpv4(e.ip), port: e.port };
      const key = `${endpoint.address}:${endpoint.port}`;
      let c = this.conns[e.conn];
      if (e.kind === "accepted") {
        c = { index: e.conn, key, endpoint, maxBytes: 0, state: "open", ready: !this.ud };
        this.conns[e.conn] = c;
      }
      if (c === undefined) continue;
      const waiter = this.connecting.get(e.conn);
      if (e.kind === "established" || e.kind === "accepted") {
        c.state = "open";
        c.maxBytes = this.ud ? this.device.mtu : Math.min(e.recvBytes || this.device.recvBytes, this.caps.maxMessageBytes);
        const prev = this.byKey.get(key);
        if (prev === undefined || prev.state !== "open") this.byKey.set(key, c);
        if (waiter !== undefined) {
          clearTimeout(waiter.timer);
          this.connecting.delete(e.conn);
          waiter.resolve(c);
        }
      } else {
        c.state = "closed";
        if (this.byKey.get(key) === c) this.byKey.delete(key);
        if (this.lastConn === c) this.lastDest = this.lastConn = null;
        if (waiter !== undefined) {
          clearTimeout(waiter.timer);
          this.connecting.delete(e.conn);
          waiter.reject(new Error(`ibverbs port: connect(${key}) failed: ${e.message ?? e.kind}`));
        } else if (e.kind === "disconnected") {
          this.fault("peer-reset", new Error(`ibverbs port: the connection with ${key} ended (RC disconnect)`), endpoint);
          this.emit("disconnect", endpoint);
        }
      }
    }
    return evs.length > 0;
  }

  private releaseRx(ab: ArrayBuffer): void {
    // detaches `ab` (every view becomes empty) and reposts its buffer to the shared receive queue
    if (!this.down) this.np.rxRelease(ab);
    this.released();
  }

  /** Marks a UD peer ready once its first datagram made its address handle. */
  protected override deliver(m: RxMessage): void {
    if (this.ud) {
      const c = this.byKey.get(`${m.source.address}:${m.source.port}`);
      if (c !== undefined) c.ready = true;
    }
    super.deliver(m);
  }

  override async close(): Promise<void> {
    if (this.isClosed) return;
    // PortBase.close waits at most closeWaitMs (closeTimeoutMs) for what was accepted, then shuts down
    await super.close();
    if (!this.down) await this.shutdown();
  }

  protected async shutdown(): Promise<void> {
    if (!this.stopPolling()) return;
    for (const [, w] of this.connecting) {
      clearTimeout(w.timer);
      w.reject(new Error("ibverbs port: closed while connecting"));
    }
    this.connecting.clear();
    // destroying the QPs stops the device reading lent memory; what never completed is given back now
    this.np.close();
    this.mem.markClosed();
    let dropped = 0;
    for (let i = this.inflightHead; i < this.inflight.length; i++) {
      const f = this.inflight[i]!;
      if (f.done) continue;
      f.done = true;
      dropped++;
      const l = f.lent;
      f.lent = undefined;
      releaseLent(l);
    }
    for (const m of this.overflow) for (const r of m.refs) r?.release();
    dropped += this.overflow.length;
    this.overflow = [];
    this.st.drops += dropped;
    this.flushFailures();
    this.settleAfterShutdown();
  }
}
