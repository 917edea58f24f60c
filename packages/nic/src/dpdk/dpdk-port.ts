import type { RefBuffer, SgList } from "@sgwire/core";
import { chooseCopyThreshold, chooseMaxSegments } from "../calibration-store.js";
import { RxMessage, type PortBase } from "../port-base.js";
import { PolledPort, addLent, releaseLent, type Lent } from "../polled-port.js";
import { StagingSlots, type LendOptions } from "../staging-slots.js";
import type { Endpoint, PortCaps } from "../port.js";
import { checkBind, checkCommonOptions, checkEndpoint, checkKeys, type CommonOptionValues, checkMac, checkPortNumber, checkPositiveInt, formatIpv4, parseIpv4 } from "../checks.js";
import { requireDpdk, type NativeAddon, type NativePort, type NativePortInfo } from "./native.js";
import { ensureEal } from "./eal.js";
import { RegisteredMemory } from "../registered-memory.js";
import { DPDK_KEYS, type DpdkPortOptions } from "./options.js";
import { LentRecord } from "../lent-check.js";
import { DPDK } from "../native/protocol.js";

/** Descriptor, metadata and control words shared with native/dpdk/ (one definition: scripts/native-protocol.mjs). */
const { MSG_WORDS, SEG_WORDS, NO_TOKEN, RX_META_WORDS, CTL, CTL_WORDS, STOP } = DPDK;
/** Shorter segments are always copied: an external-buffer mbuf costs more than copying them. */
const MIN_REFERENCE = 64;
/**
 * Virtual PMDs that copy every byte they send, in user space on the sending thread or in the
 * kernel: into a TPACKET ring (af_packet), a UMEM frame (af_xdp), a tap fd's writev (tap), a
 * pcap dump (pcap), a vhost guest's buffers (vhost), a vhost backend (virtio_user). Physical
 * NICs read mbufs by DMA; net_null frees them unread; net_ring passes the pointers.
 */
const COPYING_DRIVERS: ReadonlySet<string> = new Set(["net_af_packet", "net_af_xdp", "net_tap", "net_pcap", "net_vhost", "net_virtio_user"]);
/** A segment cap well under any driver's: more segments per packet cost more than they save. */
const DPDK_MAX_SEGMENTS = 64;
const UDP_IP_HEADERS = 28;
/** Copy threshold for DPDK: below this an extbuf mbuf costs more than a copy (Cornflakes' code uses 256). */
const DPDK_COPY_THRESHOLD = 256;
/**
 * send({ codec, message }) has the encoder write its scratch into one of SLOTS slots of SLOT_BYTES
 * at the start of the staging buffer (StagingSlots): the port copies none of it, the native side
 * copies it once into the mbuf. Two bursts' worth: a slot is free again once txBurst took its message.
 */
const SLOTS = 2 * 32;
/** More than a standard MTU's payload: every message of a 1500-byte MTU fits its slot. */
const SLOT_BYTES = 2048;
const SLOT_REGION = SLOTS * SLOT_BYTES;

/** The thread's DPDK-registered memory: every DPDK port of the thread sends from any of it. */
let memory: RegisteredMemory | null = null;

/**
 * The DPDK backend: one ethdev port (a virtual device here) with one RX and one TX queue,
 * polled from the JavaScript thread. See native/dpdk/ for the datapath (tx.cc, rx.cc).
 *
 * Transmit path: send() copies scratch segments (and unregistered references) into a staging
 * buffer shared with C++, and writes one descriptor per segment (send({ codec, message }) has the
 * encoder write the scratch into a slot of that buffer instead, StagingSlots: the port copies none of it); registered segments are
 * described by (arena, offset, length) and not copied at all. Every TX_BURST messages, and at
 * the end of the current tick (PolledPort), the staged messages are built into mbuf chains and
 * handed to rte_eth_tx_burst. Each message that references registered memory holds a token; the
 * RefBuffers it references are retained until the driver frees the last external-buffer mbuf
 * of that message (the extbuf free callback reports the token), then released.
 */
export class DpdkPort extends PolledPort {
  readonly caps: PortCaps;
  readonly policy: PortBase["policy"];
  readonly localAddress: Endpoint;
  /** Device facts: driver, MAC address, MTU, segment limit, multi-segment offload. */
  readonly device: NativePortInfo;
  /** The EAL arguments this process started DPDK with. */
  readonly ealArgs: string[];

  private readonly np: NativePort;
  private readonly chains: boolean;
  private readonly maxTokens: number;
  private readonly mem: RegisteredMemory;
  private desc = new Uint32Array(1 << 16);
  private stage = new Uint8Array(1 << 20);
  private readonly ctl = new Int32Array(CTL_WORDS);
  private readonly compl = new Uint32Array(4096);
  private readonly rxMeta = new Uint32Array(32 * RX_META_WORDS);
  private wPos = 0;
  /** Where the next copied bytes go in the staging buffer (after the slots). */
  private sPos = SLOT_REGION;
  private readonly slots = new StagingSlots(SLOTS, SLOT_BYTES);
  /** Per staged message, in order: the slot its scratch is in, or -1. */
  private slotOrder: number[] = [];
  /** Messages the native side took but the driver has not (its backlog). */
  private backlog = 0;
  /** token -> the RefBuffers one in-flight message lent */
  private readonly lent: Lent[] = [];
  private readonly freeTokens: number[] = [];
  /** Debug mode: token -> fingerprints of what that message lent. */
  private readonly checks: (LentRecord | undefined)[] | null;
  private readonly knownPeers = new Set<number>();
  private lastDest: Endpoint | null = null;
  private lastDestAddress = "";
  private lastIp = 0;
  /** Frames received that were not for this port (native count), and messages dropped at close. */
  private rxDropped = 0;
  private txDropped = 0;

  private constructor(native: NativeAddon, np: NativePort, o: DpdkPortOptions, common: CommonOptionValues, ip: number, udpPort: number, ealArgs: string[]) {
    super();
    this.np = np;
    this.ealArgs = ealArgs;
    this.mem = memory ??= new RegisteredMemory("dpdk port", (bytes) => native.allocArena(bytes));
    this.device = np.info();
    const copyThreshold = chooseCopyThreshold(o.copyThreshold, "dpdk", this.device.driver, DPDK_COPY_THRESHOLD);
    // one mbuf is the headers (plus leading scratch); each further segment may need its own.
    // A driver that cannot take chains gets one segment: every message copied into one mbuf.
    this.chains = this.device.chains;
    this.maxTokens = this.device.maxTokens;
    const maxSegments = this.chains ? Math.max(1, Math.min(this.device.maxSegments - 1, DPDK_MAX_SEGMENTS)) : 1;
    // a driver that takes no chains sends what one mbuf holds: the MTU or the mbuf, whichever is less
    const mtuPayload = this.device.mtu - UDP_IP_HEADERS;
    this.caps = {
      backend: "dpdk",
      driver: this.device.driver,
      maxSegments,
      maxMessageBytes: this.chains ? mtuPayload : Math.min(mtuPayload, this.device.maxSinglePayload),
      copyThreshold,
      referencesAnyMemory: false,
      driverCopies: COPYING_DRIVERS.has(this.device.driver) ? "all" : "none",
    };
    this.policy = { copyThreshold, maxSegments: chooseMaxSegments("dpdk", this.device.driver, maxSegments), isEligible: this.chains ? this.mem.isEligible : () => false };
    this.localAddress = { address: formatIpv4(ip), port: udpPort };
    this.checks = common.debugLentBuffers ? [] : null;
    this.closeWaitMs = common.closeTimeoutMs;
    np.setBuffers(this.desc, this.stage, this.ctl, this.compl, this.rxMeta);
    this.slots.cut(this.stage.buffer);
    for (const [addr, mac] of Object.entries(o.peers ?? {})) this.addPeer(addr, mac);
  }

  static async open(o: DpdkPortOptions): Promise<DpdkPort> {
    checkKeys(o, DPDK_KEYS, "openPort(dpdk)");
    if (typeof o.vdev !== "string" || !/^net_[a-z0-9_]+[0-9]*(,.*)?$/.test(o.vdev)) {
      throw new TypeError(`openPort(dpdk): vdev must name a DPDK net driver instance like "net_null0" or "net_af_packet0,iface=sgw0", got ${String(o.vdev)}`);
    }
    const bind = checkBind(o.bind, "openPort(dpdk)", { address: "198.18.0.1", port: 9000 });
    const ip = parseIpv4(bind.address, "openPort(dpdk): bind.address");
    const udpPort = checkPortNumber(bind.port, "openPort(dpdk): bind.port", false);
    const mbufs = checkPositiveInt(o.mbufs ?? 8191, "openPort(dpdk): mbufs", 1 << 20);
    const txd = checkPositiveInt(o.txDescriptors ?? 1024, "openPort(dpdk): txDescriptors", 32768);
    const rxd = checkPositiveInt(o.rxDescriptors ?? 1024, "openPort(dpdk): rxDescriptors", 32768);
    const mtu = o.mtu === undefined ? 0 : checkPositiveInt(o.mtu, "openPort(dpdk): mtu", 65535);
    // closeTimeoutMs, debugLentBuffers, copyThreshold: checked here, before the device is opened
    const common = checkCommonOptions(o, "openPort(dpdk)");
    if (o.peers !== undefined && (o.peers === null || typeof o.peers !== "object")) {
      throw new TypeError("openPort(dpdk): peers must be an object mapping IPv4 addresses to MAC addresses");
    }
    for (const [addr, mac] of Object.entries(o.peers ?? {})) {
      parseIpv4(addr, "openPort(dpdk): peers key");
      checkMac(mac, `openPort(dpdk): peers["${addr}"]`);
    }
    const native = requireDpdk();
    const args = ensureEal(native, o.eal);
    const np = new native.NativePort(o.vdev, { ip, udpPort, mbufs, txDescriptors: txd, rxDescriptors: rxd, mtu });
    return new DpdkPort(native, np, o, common, ip, udpPort, args);
  }

  /** Adds or replaces a static peer: where to send packets for `address`. */
  addPeer(address: string, mac: string): void {
    const ip = parseIpv4(address, "addPeer");
    this.np.addPeer(ip, checkMac(mac, "addPeer"));
    this.knownPeers.add(ip);
  }

  allocate(size: number): RefBuffer {
    // the memory is the thread's, not this port's: it stays usable by other ports
    if (this.isClosed) throw new Error("dpdk port: allocate() after close()");
    return this.mem.allocate(size);
  }

  /** Registered blocks handed out and not freed, across all DPDK ports of the process. */
  get registeredInUse(): number {
    return this.mem.inUse;
  }

  /** Free and total mbufs in this port's pools (header, external-buffer carriers, receive). */
  poolCounts(): ReturnType<NativePort["poolCounts"]> {
    return this.np.poolCounts();
  }

  /** Driver-level counters (ring-full events, drops, rte_eth_stats). */
  xstats(): Record<string, number> {
    return this.np.xstats();
  }

  private destIp(dest: Endpoint): number {
    // the last destination, if its address was not changed in place since
    if (dest === this.lastDest && dest.address === this.lastDestAddress) return this.lastIp;
    checkEndpoint(dest, "dpdk port: send() destination");
    const ip = parseIpv4(dest.address, "dpdk port: send() destination");
    if (!this.knownPeers.has(ip)) {
      if (!this.np.hasPeer(ip)) {
        throw new Error(
          `dpdk port: no MAC address known for ${dest.address}: give it in openPort's peers or port.addPeer(), ` +
            "or wait until that host has sent to this port (its address is learned)",
        );
      }
      this.knownPeers.add(ip);
    }
    this.lastDest = dest;
    this.lastDestAddress = dest.address;
    this.lastIp = ip;
    return ip;
  }

  /** send({ codec, message }): the encoder writes the scratch into a free slot of the staging buffer. */
  protected override lendScratch(): LendOptions | null {
    return this.slots.lend(this.policy);
  }

  protected transmit(list: SgList, destination: Endpoint | undefined, owned: boolean): boolean {
    if (destination === undefined) throw new TypeError("dpdk port: send() needs a destination { address, port }");
    const ip = this.destIp(destination);
    const segs = list.segments;
    const n = segs.length;
    // the slot the encoder wrote this message's scratch into, if it fitted there
    const slot = this.slots.take(list, owned);
    if (this.wPos + MSG_WORDS + n * SEG_WORDS > this.desc.length || this.sPos + list.byteLength > this.stage.length) {
      this.flush();
      // the slots are copied with the rest: what the encoder wrote there stays valid
      this.makeRoom(MSG_WORDS + n * SEG_WORDS, list.byteLength);
    }
    const d = this.desc;
    const st = this.stage;
    const base = this.wPos;
    let w = base + MSG_WORDS;
    let nseg = 0;
    let token: number = NO_TOKEN;
    let stagedEnd = -1; // where the last descriptor's staged run ends, if it was one (-1: a reference)
    let copied = 0;
    let inSlot = 0;
    let sPos = this.sPos;
    const mem = this.mem;
    // with every token in flight (the application ignored back-pressure for millions of
    // messages) a message is copied rather than lent
    const chains = this.chains && (this.freeTokens.length > 0 || this.lent.length < this.maxTokens);
    for (let i = 0; i < n; i++) {
      const s = segs[i]!;
      const len = s.length;
      // referenced only if it is a live registered block of MIN_REFERENCE bytes or more: by
      // identity first (rb.bytes itself), else, for views that are not scratch, by address
      let owner: RefBuffer | undefined;
      let arenaId = 0;
      let offset = 0;
      // the list's scratch is never registered memory: skipped before its .buffer is read
      if (chains && len >= MIN_REFERENCE && !list.isScratch(i)) {
        const v = mem.view(s);
        if (v !== undefined) {
          owner = v.owner;
          arenaId = v.arena.id;
          offset = v.offset;
        } else {
          owner = mem.owner(s, s.buffer);
          if (owner !== undefined) {
            arenaId = mem.lastArena!.id;
            offset = s.byteOffset;
          }
        }
      }
      if (owner === undefined) {
        // already in the staging buffer (the encoder wrote it into the slot), or copied there now
        let at: number;
        if (slot >= 0 && list.isScratch(i)) {
          at = s.byteOffset;
          inSlot += len;
        } else {
          if (len < 16) for (let k = 0; k < len; k++) st[sPos + k] = s[k]!;
          else st.set(s, sPos);
          at = sPos;
          sPos += len;
        }
        if (stagedEnd === at) d[w - 1] += len;
        else {
          d[w] = 0;
          d[w + 1] = at;
          d[w + 2] = len;
          w += SEG_WORDS;
          nseg++;
        }
        stagedEnd = at + len;
        copied += len;
      } else {
        if (token === NO_TOKEN) token = this.freeTokens.pop() ?? this.lent.length;
        owner.retain();
        this.lent[token] = addLent(this.lent[token], owner);
        if (this.checks !== null) (this.checks[token] ??= new LentRecord()).add(s);
        d[w] = arenaId + 1;
        d[w + 1] = offset;
        d[w + 2] = len;
        w += SEG_WORDS;
        nseg++;
        stagedEnd = -1;
      }
    }
    d[base] = ip;
    d[base + 1] = destination.port;
    d[base + 2] = nseg;
    d[base + 3] = token;
    this.wPos = w;
    this.sPos = sPos;
    this.nStaged++;
    this.slotOrder.push(slot);
    this.st.bytesCopied += copied;
    // into the staging buffer here (not what the encoder wrote into a slot), then into the mbuf by the native side
    this.st.copies.port += 2 * copied - inSlot;
    this.st.bytesReferenced += list.byteLength - copied;
    this.st.completionsPending++;
    this.scheduleFlush();
    return !this.backpressured;
  }

  /** Grows the staging buffers when back-pressure left them full (the messages are kept, not dropped). */
  private makeRoom(words: number, bytes: number): void {
    if (this.wPos + words > this.desc.length) {
      const nd = new Uint32Array(Math.max(this.desc.length * 2, this.wPos + words));
      nd.set(this.desc.subarray(0, this.wPos));
      this.desc = nd;
    }
    if (this.sPos + bytes > this.stage.length) {
      const ns = new Uint8Array(Math.max(this.stage.length * 2, this.sPos + bytes));
      ns.set(this.stage.subarray(0, this.sPos));
      this.stage = ns;
      this.slots.cut(ns.buffer);
    }
    this.np.setBuffers(this.desc, this.stage, this.ctl, this.compl, this.rxMeta);
  }

  /**
   * Hands staged messages to the driver, collects completions; keeps what was not taken. Private:
   * send() stages and a microtask (or a full burst) flushes, as on every backend.
   */
  protected flush(): void {
    if (this.down) return;
    const staged = this.nStaged;
    const taken = this.np.txBurst(staged);
    this.afterNative();
    // the native side copied what the taken messages staged: their slots are free again
    const order = this.slotOrder;
    if (taken === staged) {
      for (let k = 0; k < order.length; k++) this.slots.release(order[k]!);
      order.length = 0;
      this.nStaged = 0;
      this.wPos = 0;
      this.sPos = SLOT_REGION;
    } else {
      for (let k = 0; k < taken; k++) this.slots.release(order[k]!);
      this.slotOrder = order.slice(taken);
      const stop = this.ctl[CTL.STOP];
      if (stop === STOP.BAD_DESC || stop === STOP.NO_PEER) {
        this.portFailed(new Error(`dpdk port: internal error: ${stop === STOP.BAD_DESC ? "the native side rejected a transmit descriptor" : "a staged message has no peer MAC address"}; the port is closed`));
        return;
      }
      // move the untaken descriptors to the front; their staged bytes stay where they are
      let w = 0;
      for (let k = 0; k < taken; k++) w += MSG_WORDS + this.desc[w + 2]! * SEG_WORDS;
      this.desc.copyWithin(0, w, this.wPos);
      this.wPos -= w;
      this.nStaged -= taken;
    }
    this.updatePressure();
  }

  private afterNative(): void {
    const c = this.ctl;
    const nc = c[CTL.COMPLETIONS]!;
    for (let k = 0; k < nc; k++) {
      const t = this.compl[k]!;
      if (this.checks !== null) {
        this.checkLent(this.checks[t]);
        this.checks[t] = undefined;
      }
      const l = this.lent[t];
      this.lent[t] = undefined;
      this.freeTokens.push(t);
      releaseLent(l);
    }
    this.backlog = c[CTL.BACKLOG]!;
    this.rxDropped = c[CTL.RX_DROPPED]!;
    this.st.drops = this.txDropped + this.rxDropped;
    this.st.messagesSent += c[CTL.SENT]!;
    this.st.bytesSent += c[CTL.SENT_BYTES]!;
    const done = nc + c[CTL.SENT_NO_TOKEN]!;
    if (done > 0) this.sendCompleted(done);
  }

  protected queuedBeyondStage(): number {
    return this.backlog;
  }

  protected receiveBurst(): number {
    const abs = this.np.rxBurst();
    if (this.ctl[CTL.RX_DROPPED] !== this.rxDropped) {
      this.rxDropped = this.ctl[CTL.RX_DROPPED]!;
      this.st.drops = this.txDropped + this.rxDropped;
    }
    const meta = this.rxMeta;
    for (let i = 0; i < abs.length; i++) {
      const ab = abs[i]!;
      const j = i * RX_META_WORDS;
      // a Buffer view of the mbuf (Buffer.from(arrayBuffer, ...) shares memory, no copy)
      const bytes = Buffer.from(ab, meta[j]!, meta[j + 1]!);
      const source = { address: formatIpv4(meta[j + 2]!), port: meta[j + 3]! };
      this.deliver(new RxMessage(bytes, source, () => this.releaseRx(ab)));
    }
    return abs.length;
  }

  private releaseRx(ab: ArrayBuffer): void {
    // the native side frees the mbuf and detaches `ab`: every view of it becomes empty
    this.np.rxRelease(ab);
    this.released();
  }

  protected async shutdown(): Promise<void> {
    if (!this.stopPolling()) return;
    // stopping and closing the device frees every mbuf it still holds, so no driver reads lent
    // memory after this; whatever was never completed is given back now and counted as dropped
    this.np.close();
    let dropped = 0;
    for (let t = 0; t < this.lent.length; t++) {
      const l = this.lent[t];
      if (l === undefined) continue;
      this.lent[t] = undefined;
      dropped++;
      releaseLent(l);
    }
    this.txDropped += dropped + this.nStaged;
    this.st.drops = this.txDropped + this.rxDropped;
    this.settleAfterShutdown();
  }
}
