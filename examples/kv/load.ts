/**
 * The load generator's engine: preloads a workload's keys, then drives requests closed loop (a
 * fixed number outstanding) or open loop (Poisson arrivals at a target rate, latency measured
 * from each request's scheduled time so a slow server cannot hide its queueing), checks every
 * value byte for byte, and summarises.
 */
import { readFileSync } from "node:fs";
import { Op } from "../gen/kv.sg.js";
import type { KvClient } from "./kv-client.js";
import { Latencies, fmtBytes, fmtRate, fmtUs } from "./report.js";
import { Rng, keyName, makeValue, valueHeader, meanRequestBytes, meanValueBytes, windowedConcurrency, type Workload } from "./workloads.js";

export interface LoadOptions {
  workload: Workload;
  mode: "closed" | "open";
  /** closed loop: requests outstanding at any time, at most. Default 16. */
  concurrency?: number;
  /**
   * closed loop: bytes of values to keep in flight at most; fewer requests are outstanding when
   * values are large (see windowedConcurrency). Default: see defaultWindow.
   */
  window?: number;
  /** open loop: requests per second. */
  rate?: number;
  /** open loop: requests outstanding beyond which arrivals are skipped (and counted). Default 4096. */
  maxOutstanding?: number;
  /** Seconds measured, after `warmup` seconds not measured. */
  duration: number;
  warmup?: number;
  seed?: number;
  /** Check every value against what was stored (a memcmp per value). Default true. */
  verify?: boolean;
  /** Also record every latency sample here (to merge several runs' percentiles). */
  latencies?: Latencies;
  /** Called about every `progressMs` with a one-line status. */
  progress?: (line: string) => void;
  progressMs?: number;
}

export interface LoadSummary {
  workload: string;
  mode: string;
  seconds: number;
  requests: number;
  throughput: number;
  /** Value bytes received per second. */
  valueBytesPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  timeouts: number;
  skipped: number;
  notFound: number;
  mismatches: number;
  verified: number;
  /** From the server's counters over the measured window. */
  server?: {
    responses: number;
    copiedPerResponse: number;
    referencedPerResponse: number;
    packetsPerResponse: number;
    encodeCopiedPerResponse: number;
    /** Server CPU time per response, microseconds (user + system, whole process). */
    cpuPerResponse: number;
  };
}

/** The values a client wrote, by key and version: what any response must be byte-identical to. */
export class Expected {
  private readonly v: Map<number, Uint8Array>[] = [];
  private readonly last: Int32Array;

  constructor(readonly w: Workload) {
    this.last = new Int32Array(w.keys).fill(-1);
  }

  /** A new version of `key`, remembered before it is sent. */
  nextVersion(key: number): Uint8Array {
    const ver = ++this.last[key]!;
    const bytes = makeValue(key, ver, this.w.sizeOf[key]!);
    (this.v[key] ??= new Map()).set(ver, bytes);
    return bytes;
  }

  /** True when `got` is exactly one of the versions written for `key`. */
  matches(key: number, got: Uint8Array): boolean {
    const h = valueHeader(got);
    if (h === undefined || h.key !== key) return false;
    const want = this.v[key]?.get(h.version);
    return want !== undefined && want.length === got.length && Buffer.from(got.buffer, got.byteOffset, got.length).equals(want);
  }
}

/**
 * Default closed-loop window, in bytes of values in flight. TCP has its own flow control. Kernel
 * UDP drops datagrams a full socket buffer cannot take: half the default receive buffer leaves room
 * for the kernel's per-packet overhead (examples/scripts/udp-buffers.sh raises it). DPDK: a share
 * of the receive ring.
 */
export function defaultWindow(c: KvClient): number {
  const b = c.port.caps.backend;
  if (b === "tcp") return Infinity;
  if (b === "dpdk") return 512 * 1024;
  try {
    return Number(readFileSync("/proc/sys/net/core/rmem_default", "utf8")) / 2 || 100 * 1024;
  } catch {
    return 100 * 1024;
  }
}

/** Writes version 0 of every key, up to `concurrency` PUTs at a time (fewer for large values). */
export async function preload(c: KvClient, exp: Expected, max = 32): Promise<void> {
  const w = exp.w;
  const concurrency = windowedConcurrency(meanValueBytes(w), defaultWindow(c), max);
  let next = 0;
  let failed = 0;
  await new Promise<void>((resolve, reject) => {
    let active = 0;
    const one = (): void => {
      if (next >= w.keys) {
        if (active === 0) resolve();
        return;
      }
      const k = next++;
      active++;
      const put = (value: Uint8Array, tries: number): void => {
        c.issue(Op.PUT, [keyName(k)], value, (r) => {
          if (r === null) {
            // lost on the way (UDP): PUT is idempotent, so send it again
            if (tries < 5) return put(value, tries + 1);
            failed++;
            return reject(new Error(`kv preload: PUT ${keyName(k)} got no response after ${tries} tries`));
          }
          active--;
          one();
        });
      };
      put(exp.nextVersion(k), 1);
    };
    for (let i = 0; i < concurrency; i++) one();
  });
  if (failed > 0) throw new Error(`kv preload: ${failed} PUTs failed`);
}

export async function runLoad(c: KvClient, exp: Expected, o: LoadOptions): Promise<LoadSummary> {
  const w = o.workload;
  const rng = new Rng(o.seed ?? 7);
  const verify = o.verify ?? true;
  const lat = new Latencies();
  const warmupMs = (o.warmup ?? 1) * 1000;
  const t0 = performance.now();
  const measureFrom = t0 + warmupMs;
  const end = measureFrom + o.duration * 1000;
  let measuring = false;
  let stopped = false;
  let completed = 0;
  let answered = 0; // including warm-up, for the progress line
  let valueBytes = 0;
  let notFound = 0;
  let mismatches = 0;
  let verified = 0;
  let skipped = 0;
  let timeoutsAtStart = 0;
  let firstMismatch = "";

  const issueOne = (scheduled: number, then: (() => void) | null): void => {
    const { op, keys } = w.next(rng);
    const names = keys.map(keyName);
    const value = op === "put" ? exp.nextVersion(keys[0]!) : null;
    const kvOp = op === "get" ? Op.GET : op === "put" ? Op.PUT : Op.GETM;
    c.issue(kvOp, names, value, (r) => {
      const now = performance.now();
      if (r !== null) answered++;
      if (r !== null && scheduled >= measureFrom && now <= end) {
        completed++;
        lat.add((now - scheduled) * 1000);
        o.latencies?.add((now - scheduled) * 1000);
        if (r.status !== 0) notFound++;
        for (let i = 0; i < r.values.length; i++) {
          const v = r.values[i]!;
          valueBytes += v.length;
          if (!verify || (op === "getm" && r.missing.includes(i))) continue;
          if (exp.matches(keys[i]!, v)) verified++;
          else {
            mismatches++;
            firstMismatch ||= `${Op[kvOp]} ${names[i]}: got ${v.length} bytes claiming ${JSON.stringify(valueHeader(v))}`;
          }
        }
      }
      if (then !== null && !stopped) then();
    });
  };

  let stats0: Record<string, unknown> | null = null;
  const startMeasuring = async (): Promise<void> => {
    measuring = true;
    timeoutsAtStart = c.timeouts;
    stats0 = await c.serverStats().catch(() => null);
  };

  // progress: one line per interval
  let lastCount = 0;
  let lastLat = 0;
  let lastT = performance.now();
  const progressTimer = o.progress
    ? setInterval(() => {
        const now = performance.now();
        const phase = now < measureFrom ? "warm-up" : "measure";
        const rate = ((answered - lastCount) * 1000) / (now - lastT);
        const [p50, p99] = lat.percentiles([50, 99], lastLat);
        o.progress!(
          `  [${w.name} ${phase} ${((now - t0) / 1000).toFixed(0)}s] ${fmtRate(rate)} req/s  p50 ${fmtUs(p50!)}  p99 ${fmtUs(p99!)}  ` +
            `outstanding ${c.outstanding}  timeouts ${c.timeouts}  mismatches ${mismatches}`,
        );
        lastCount = answered;
        lastLat = lat.n;
        lastT = now;
      }, o.progressMs ?? 1000)
    : null;

  const measureTimer = setTimeout(() => void startMeasuring(), warmupMs);

  const conc = windowedConcurrency(meanRequestBytes(w), o.window ?? defaultWindow(c), o.concurrency ?? 16);
  if (o.mode === "closed") {
    await new Promise<void>((resolve) => {
      let live = conc;
      const loop = (): void => {
        if (performance.now() >= end) {
          if (--live === 0) resolve();
          return;
        }
        issueOne(performance.now(), loop);
      };
      for (let i = 0; i < conc; i++) loop();
    });
  } else {
    const rate = o.rate;
    if (rate === undefined || !(rate > 0)) throw new RangeError("open loop needs --rate (requests per second)");
    const maxOut = o.maxOutstanding ?? 4096;
    let next = performance.now();
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        const now = performance.now();
        while (next <= now && next < end) {
          if (c.outstanding >= maxOut) skipped += next >= measureFrom ? 1 : 0;
          else issueOne(next, null);
          next += (-Math.log(1 - rng.next()) / rate) * 1000;
        }
        if (next >= end) return resolve();
        // wait on the event loop (responses are handled meanwhile); a busy wait only when close
        if (next - performance.now() > 2) setTimeout(pump, 1);
        else setImmediate(pump);
      };
      pump();
    });
    // let the last responses arrive
    const until = performance.now() + 1000;
    while (c.outstanding > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
  stopped = true;
  clearTimeout(measureTimer);
  if (progressTimer !== null) clearInterval(progressTimer);
  if (!measuring) await startMeasuring();
  // outstanding requests finish (or time out) before the server's counters are read
  const until = performance.now() + 2000;
  while (c.outstanding > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  const stats1 = await c.serverStats().catch(() => null);
  const seconds = o.duration;
  const [p50, p99, p999] = lat.percentiles([50, 99, 99.9]);
  const s: LoadSummary = {
    workload: w.name,
    mode: o.mode === "closed" ? `closed(${conc})` : `open(${fmtRate(o.rate!)}/s)`,
    seconds,
    requests: completed,
    throughput: completed / seconds,
    valueBytesPerSec: valueBytes / seconds,
    p50: p50!,
    p99: p99!,
    p999: p999!,
    timeouts: c.timeouts - timeoutsAtStart,
    skipped,
    notFound,
    mismatches,
    verified,
  };
  if (stats0 !== null && stats1 !== null) {
    const d = (k: string): number => (stats1![k] as number) - (stats0![k] as number);
    const n = d("responses");
    if (n > 0) {
      s.server = {
        responses: n,
        copiedPerResponse: (d("encodeCopied") + d("portBytesCopied")) / n,
        // a baseline's output buffer may be lent to the socket, but it is a copy, not the application's memory
        referencedPerResponse: Math.max(0, d("portBytesReferenced") - d("outputLent")) / n,
        packetsPerResponse: d("packets") / n,
        encodeCopiedPerResponse: d("encodeCopied") / n,
        cpuPerResponse: d("cpuMicros") / n,
      };
    }
  }
  if (mismatches > 0) o.progress?.(`  first mismatch: ${firstMismatch}`);
  return s;
}

/** A one-paragraph human summary of a run. */
export function describe(s: LoadSummary): string {
  const srv = s.server;
  return (
    `${s.workload} ${s.mode}: ${fmtRate(s.throughput)} req/s (${fmtBytes(s.valueBytesPerSec)}/s of values), ` +
    `p50 ${fmtUs(s.p50)} p99 ${fmtUs(s.p99)} p99.9 ${fmtUs(s.p999)}; ` +
    (srv ? `copied ${fmtBytes(srv.copiedPerResponse)}/response, referenced ${fmtBytes(srv.referencedPerResponse)}/response; ` : "") +
    `${s.verified} values verified, ${s.mismatches} mismatches, ${s.timeouts} timeouts`
  );
}

/**
 * One summary for several runs of the same workload and codec: counts add up, rates are over the
 * total measured time, percentiles come from all the runs' samples (`lat`).
 */
export function mergeSummaries(runs: LoadSummary[], lat: Latencies): LoadSummary {
  const sum = (f: (s: LoadSummary) => number): number => runs.reduce((n, s) => n + f(s), 0);
  const seconds = sum((s) => s.seconds);
  const [p50, p99, p999] = lat.percentiles([50, 99, 99.9]);
  const out: LoadSummary = {
    workload: runs[0]!.workload,
    mode: runs[0]!.mode,
    seconds,
    requests: sum((s) => s.requests),
    throughput: sum((s) => s.requests) / seconds,
    valueBytesPerSec: sum((s) => s.valueBytesPerSec * s.seconds) / seconds,
    p50: p50!,
    p99: p99!,
    p999: p999!,
    timeouts: sum((s) => s.timeouts),
    skipped: sum((s) => s.skipped),
    notFound: sum((s) => s.notFound),
    mismatches: sum((s) => s.mismatches),
    verified: sum((s) => s.verified),
  };
  const srv = runs.filter((s) => s.server !== undefined).map((s) => s.server!);
  const n = srv.reduce((k, s) => k + s.responses, 0);
  if (n > 0) {
    const w = (f: (s: NonNullable<LoadSummary["server"]>) => number): number => srv.reduce((k, s) => k + f(s) * s.responses, 0) / n;
    out.server = {
      responses: n,
      copiedPerResponse: w((s) => s.copiedPerResponse),
      referencedPerResponse: w((s) => s.referencedPerResponse),
      packetsPerResponse: w((s) => s.packetsPerResponse),
      encodeCopiedPerResponse: w((s) => s.encodeCopiedPerResponse),
      cpuPerResponse: w((s) => s.cpuPerResponse),
    };
  }
  return out;
}
