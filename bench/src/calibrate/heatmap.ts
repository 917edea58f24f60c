/**
 * Measures the copy-versus-reference heatmap on a port: for each cell (k bytes fields of s bytes,
 * a `List` message of bench.proto), encode + send with every field copied and with every field
 * referenced, interleaved, the median of a few rounds (process CPU time by default). Sends real
 * traffic to `destination`.
 */
import { performance } from "node:perf_hooks";
import { SgList } from "@sgwire/core";
import type { Endpoint, Port } from "@sgwire/nic";
import { List } from "../generated/bench.sg.js";
import { filled } from "../shapes.js";
import { quantile } from "../harness.js";
import type { HeatCell } from "./recommend.js";

export interface HeatmapOptions {
  fieldSizes: number[];
  fieldCounts: number[];
  /** milliseconds per timed batch */
  batchMs: number;
  /** interleaved rounds per cell (median reported) */
  rounds: number;
  /** time with the wall clock instead of process CPU time */
  wall?: boolean;
  /** called before each cell */
  onCell?: (i: number, total: number, label: string) => void;
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
}

/**
 * Sends for about `ms` (at least one batch) and waits for completion; returns ns per message of
 * process CPU time (user + system: the kernel's sendmsg work counts, time spent descheduled by
 * other programs does not), or of wall time with `wall`.
 */
async function timeSends(port: Port, dest: Endpoint, encode: () => SgList, ms: number, wall: boolean): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const c0 = cpuNs();
  do {
    for (let k = 0; k < 64; k++, n++) if (!port.send(encode(), dest)) await port.drained();
  } while (performance.now() - t0 < ms);
  await port.completions();
  return wall ? ((performance.now() - t0) * 1e6) / n : (cpuNs() - c0) / n;
}

export async function measureHeatmap(port: Port, dest: Endpoint, o: HeatmapOptions): Promise<HeatCell[]> {
  const cells: HeatCell[] = [];
  const shapes: [number, number][] = [];
  for (const k of o.fieldCounts) {
    for (const s of o.fieldSizes) {
      // the message must fit the backend (tags and lengths are at most 4 bytes a field here)
      if (k * (s + 4) + 8 > port.caps.maxMessageBytes) continue;
      if (2 * k + 1 > port.caps.maxSegments) continue;
      shapes.push([k, s]);
    }
  }
  // the first cell is measured twice and its first result dropped: JIT and socket warm-up
  for (let i = shapes.length > 0 ? -1 : 0; i < shapes.length; i++) {
    const [k, s] = shapes[Math.max(i, 0)]!;
    if (i >= 0) o.onCell?.(i, shapes.length, `${k} x ${s} B`);
    // memory the port may reference (registered memory on DPDK, any Buffer on kernel sockets)
    const bufs = Array.from({ length: k }, (_, j) => {
      const rb = port.allocate(s);
      rb.bytes.set(filled(s, j));
      return rb;
    });
    const msg = { id: 1, values: bufs.map((b) => b.bytes) };
    const list = new SgList();
    const copy = { ...port.policy, copyThreshold: Infinity, into: list };
    const ref = { ...port.policy, copyThreshold: 0, maxSegments: port.caps.maxSegments, into: list };
    const encCopy = () => List.encode(msg, copy);
    const encRef = () => List.encode(msg, ref);
    // warm-up both paths
    await timeSends(port, dest, encCopy, o.batchMs / 2, o.wall === true);
    await timeSends(port, dest, encRef, o.batchMs / 2, o.wall === true);
    const c: number[] = [];
    const r: number[] = [];
    for (let round = 0; round < o.rounds; round++) {
      c.push(await timeSends(port, dest, encCopy, o.batchMs, o.wall === true));
      r.push(await timeSends(port, dest, encRef, o.batchMs, o.wall === true));
    }
    c.sort((a, b) => a - b);
    r.sort((a, b) => a - b);
    if (i >= 0) cells.push({ fieldBytes: s, fields: k, copyNs: quantile(c, 0.5), referenceNs: quantile(r, 0.5) });
    for (const b of bufs) b.release();
  }
  return cells;
}
