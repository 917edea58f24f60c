/**
 * Timing for benchmarks: each case runs in batches sized to take a few milliseconds; peers are
 * interleaved (every repetition measures every case once, in turn, starting one case later each
 * time) so machine noise hits them all alike; the median of the repetitions is reported with the spread (min..max and quartiles).
 */
import { performance } from "node:perf_hooks";

export interface Case {
  name: string;
  /** one operation; its return value is kept so the work cannot be optimised away */
  run: () => unknown;
}

export interface Measurement {
  name: string;
  /** the clock `ns`, min, max and quartiles are on */
  clock: Clock;
  /** median ns per operation */
  ns: number;
  min: number;
  max: number;
  /** first and third quartile of the repetitions (the table's spread: one slow repetition, a GC or
   * another process, moves min..max a lot and the quartiles little) */
  q1: number;
  q3: number;
  reps: number;
  /** medians on each clock */
  wallNs: number;
  cpuNs: number;
}

let sink: unknown;
export function keep(v: unknown): void {
  sink = v;
}

function batchSize(run: () => unknown, targetMs: number): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink = run();
    const dt = performance.now() - t0;
    if (dt >= targetMs / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * targetMs) / Math.max(dt, 0.001)));
    n *= 4;
  }
}

/**
 * Which clock a batch is timed with.
 * - "cpu": the process's CPU time (process.cpuUsage: user + system of every thread). It leaves out
 *   the time the process sat descheduled while other programs ran, which on a shared 2-core
 *   machine is most of the noise. It includes V8's background GC threads, whose work can spill
 *   from a case that allocates a lot into the next one (interleaving spreads that spill over
 *   all cases; a forced gc() before each batch was tried and made things worse: a full GC
 *   throws away feedback the JIT had gathered).
 * - "wall": performance.now().
 * Both are recorded; `clock` picks the one reported as `ns`. (Linux's per-thread schedstat was
 * tried: it advances only at scheduler ticks, too coarse for 10-25 ms batches.)
 */
export type Clock = "cpu" | "wall";

export interface MeasureOptions {
  reps?: number;
  /** milliseconds per batch */
  batchMs?: number;
  warmupMs?: number;
  clock?: Clock;
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
}

export function measure(cases: Case[], opts: MeasureOptions = {}): Measurement[] {
  const reps = opts.reps ?? 7;
  const batchMs = opts.batchMs ?? 20;
  const warm = opts.warmupMs ?? 100;
  const clock = opts.clock ?? "wall";
  // warm-up: let the JIT settle on every case before any timing
  for (const c of cases) {
    const end = performance.now() + warm;
    while (performance.now() < end) for (let i = 0; i < 100; i++) sink = c.run();
  }
  const sizes = cases.map((c) => batchSize(c.run, batchMs));
  const samples: Record<Clock, number[][]> = { wall: cases.map(() => []), cpu: cases.map(() => []) };
  // Each repetition runs the cases in a new order (a seeded shuffle, the same in every run), so
  // no case always runs right after the same one: the background GC work of a case that leaves
  // much garbage (off-heap ArrayBuffers above all) would otherwise always land on its successor.
  let seed = 0x9e3779b9;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const order = cases.map((_, k) => k);
  for (let r = 0; r < reps; r++) {
    for (let j = order.length - 1; j > 0; j--) {
      const x = next() % (j + 1);
      [order[j], order[x]] = [order[x]!, order[j]!];
    }
    for (let j = 0; j < cases.length; j++) {
      const k = order[j]!;
      const c = cases[k]!;
      const n = sizes[k]!;
      const run = c.run;
      const c0 = cpuNs();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) sink = run();
      const t1 = performance.now();
      const c1 = cpuNs();
      samples.wall[k]!.push(((t1 - t0) * 1e6) / n);
      samples.cpu[k]!.push((c1 - c0) / n);
    }
  }
  void sink;
  const median = (xs: number[]) => quantile(xs.slice().sort((a, b) => a - b), 0.5);
  return cases.map((c, k) => {
    const s = samples[clock][k]!.slice().sort((a, b) => a - b);
    return {
      name: c.name, clock, ns: quantile(s, 0.5), min: s[0]!, max: s[s.length - 1]!, q1: quantile(s, 0.25), q3: quantile(s, 0.75), reps,
      wallNs: median(samples.wall[k]!), cpuNs: median(samples.cpu[k]!),
    };
  });
}

/** Quantile of sorted samples, interpolating between neighbours. */
export function quantile(sorted: number[], q: number): number {
  const x = (sorted.length - 1) * q;
  const i = Math.floor(x);
  const j = Math.min(i + 1, sorted.length - 1);
  return sorted[i]! + (sorted[j]! - sorted[i]!) * (x - i);
}

export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} us`;
  return `${ns.toFixed(0)} ns`;
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${n / (1 << 20)} MiB`;
  if (n >= 1024) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** Prints an aligned table. */
/** A text table: the first `left` columns left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][], left = 1): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < left ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}
