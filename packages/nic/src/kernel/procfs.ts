import * as fs from "node:fs";

/**
 * What Node's sockets do not tell: how many bytes a TCP socket still holds unacknowledged, how
 * many datagrams the kernel dropped for a UDP socket (receive buffer full). Linux shows both per
 * socket inode in /proc/net/{tcp,tcp6,udp,udp6}. Elsewhere (or without procfs) `available` is
 * false and the ports say in their docs what they cannot count.
 */

/** The socket inode behind a file descriptor (`/proc/self/fd/N -> socket:[inode]`), or 0. */
export function socketInode(fd: number | undefined): number {
  if (typeof fd !== "number" || fd < 0) return 0;
  try {
    const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** The fd of a net.Socket or dgram.Socket (Node keeps it on the libuv handle), if there is one. */
export function socketFd(sock: object): number | undefined {
  // dgram keeps its handle under a symbol named "state symbol" (its `_handle` getter is deprecated)
  for (const s of Object.getOwnPropertySymbols(sock)) {
    if (s.description !== "state symbol") continue;
    const fd = (sock as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[s]?.handle?.fd;
    return typeof fd === "number" ? fd : undefined;
  }
  const fd = (sock as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === "number" ? fd : undefined;
}

export interface SockRow {
  /** Bytes in the send queue: for TCP, written and not yet acknowledged by the peer (tx_queue). */
  txQueue: number;
  /** Bytes in the receive queue (rx_queue). */
  rxQueue: number;
  /** UDP only: datagrams the kernel dropped for this socket (sk_drops); 0 for TCP. */
  drops: number;
}

/** Rows of /proc/net/{proto} and {proto}6 for the given inodes (missing inodes: socket gone). */
export function readSockets(proto: "tcp" | "udp", inodes: ReadonlySet<number>): Map<number, SockRow> {
  const out = new Map<number, SockRow>();
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text: string;
    try {
      text = fs.readFileSync(file, "latin1");
    } catch {
      continue;
    }
    let pos = text.indexOf("\n") + 1; // skip the header
    while (pos > 0 && pos < text.length && out.size < inodes.size) {
      const end = text.indexOf("\n", pos);
      const line = text.slice(pos, end < 0 ? text.length : end);
      pos = end < 0 ? text.length : end + 1;
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer [drops]
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const inode = Number(f[9]);
      if (!inodes.has(inode)) continue;
      const q = f[4]!.split(":");
      out.set(inode, {
        txQueue: parseInt(q[0]!, 16),
        rxQueue: parseInt(q[1]!, 16),
        drops: proto === "udp" && f.length >= 13 ? Number(f[12]) : 0,
      });
    }
  }
  return out;
}

/** Whether this system shows sockets in /proc/net (Linux). */
export const procfsAvailable: boolean = (() => {
  try {
    fs.accessSync("/proc/net/udp", fs.constants.R_OK);
    fs.accessSync("/proc/self/fd", fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
})();

/** How often a UDP port reads its socket's drop counter while open (ms). */
const DROP_POLL_MS = 250;

/**
 * The kernel's count of datagrams it dropped for one UDP socket because its receive buffer was
 * full (sk_drops): read from /proc/net/udp every 250 ms and on `refresh()`, and taken from
 * `seen(total)` when the socket reports it itself (SO_RXQ_OVFL). `report(n)` gets each increase
 * since the counter was made, once. Without procfs or an inode, only `seen` counts.
 */
export class UdpDropCounter {
  private inode: number;
  private last: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(fd: number | undefined, private readonly report: (n: number) => void) {
    this.inode = procfsAvailable ? socketInode(fd) : 0;
    this.last = this.inode === 0 ? 0 : (readSockets("udp", new Set([this.inode])).get(this.inode)?.drops ?? 0);
    if (this.inode !== 0) {
      this.timer = setInterval(() => this.refresh(), DROP_POLL_MS);
      this.timer.unref();
    }
  }

  /** The socket's cumulative drop counter is `total`: reports what is new. */
  seen(total: number): void {
    if (total <= this.last) return;
    const n = total - this.last;
    this.last = total;
    this.report(n);
  }

  /** Reads the counter from /proc now. */
  refresh(): void {
    if (this.inode === 0) return;
    const row = readSockets("udp", new Set([this.inode])).get(this.inode);
    if (row !== undefined) this.seen(row.drops);
  }

  /** A last read, then no more (call before the socket closes). */
  stop(): void {
    this.refresh();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.inode = 0;
  }
}
