/** Latency samples, percentiles and the tables the load generator and the comparison print. */
import type { LoadSummary } from "./load.js";

/** Latencies in microseconds, kept in full (a run is at most a few million requests). */
export class Latencies {
  private a = new Float64Array(1 << 16);
  n = 0;

  add(us: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = us;
  }

  /** Percentiles (0..100) of the samples since `from`, by sorting a copy. */
  percentiles(ps: number[], from = 0): number[] {
    const s = this.a.slice(from, this.n).sort();
    if (s.length === 0) return ps.map(() => NaN);
    return ps.map((p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
  }
}

export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return "-";
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 10000 ? 1 : 2)} ms`;
  return `${us.toFixed(0)} us`;
}

export function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 10 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** A plain-text table: left-aligned first column, right-aligned others. */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/** One run of the load generator against one server: what the tables print a row of. */
export type KvRow = LoadSummary & { codec: string; backend: string };

/**
 * The summary table: one row per run. `compact` leaves out the columns a first reading does not
 * need (backend, mode, values/s, packets per response).
 */
export function summaryTable(rows: KvRow[], compact = false): string {
  const cols: Array<[string, (s: KvRow) => string, boolean]> = [
    ["workload", (s) => s.workload, true],
    ["codec", (s) => s.codec, true],
    ["backend", (s) => s.backend, false],
    ["mode", (s) => s.mode, false],
    ["req/s", (s) => fmtRate(s.throughput), true],
    ["values/s", (s) => fmtBytes(s.valueBytesPerSec), false],
    ["p50", (s) => fmtUs(s.p50), true],
    ["p99", (s) => fmtUs(s.p99), true],
    ["p99.9", (s) => fmtUs(s.p999), true],
    ["srv cpu/resp", (s) => (s.server ? fmtUs(s.server.cpuPerResponse) : "-"), true],
    ["copied/resp", (s) => (s.server ? fmtBytes(s.server.copiedPerResponse) : "-"), true],
    ["referenced/resp", (s) => (s.server ? fmtBytes(s.server.referencedPerResponse) : "-"), true],
    ["pkts/resp", (s) => (s.server ? s.server.packetsPerResponse.toFixed(1) : "-"), false],
    ["verified", (s) => String(s.verified), true],
    ["bad", (s) => String(s.mismatches), true],
    ["lost", (s) => String(s.timeouts + s.skipped), true],
  ];
  const use = cols.filter((c) => !compact || c[2]);
  return table(use.map((c) => c[0]), rows.map((r) => use.map((c) => c[1](r))));
}

/** "sgwire", or sgwire on a named engine ("sgwire@native"). */
function isSgwire(codec: string): boolean {
  return codec === "sgwire" || codec.startsWith("sgwire@");
}

/** sgwire against each baseline, per workload: throughput ratio, and server CPU per response ratio. */
export function ratioTable(rows: KvRow[]): string {
  // subjects: sgwire, on the engines listed ("sgwire@native", "sgwire@dgram"); each against every
  // baseline codec, and every engine after the first listed against the first too
  const codecs = [...new Set(rows.map((r) => r.codec))];
  const subjects = codecs.filter(isSgwire);
  const base = subjects[0];
  const pairs: [string, string][] = [];
  for (const s of subjects) for (const b of codecs) if (b !== s && !(s === base && subjects.includes(b))) pairs.push([s, b]);
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const out: string[][] = [];
  for (const w of workloads) {
    const cells: string[] = [w];
    for (const [s, b] of pairs) {
      const sg = rows.find((x) => x.workload === w && x.codec === s);
      const r = rows.find((x) => x.workload === w && x.codec === b);
      cells.push(sg && r && r.throughput > 0 ? `${(sg.throughput / r.throughput).toFixed(2)}x` : "-");
      cells.push(r?.server && sg?.server && sg.server.cpuPerResponse > 0 ? `${(r.server.cpuPerResponse / sg.server.cpuPerResponse).toFixed(2)}x` : "-");
    }
    out.push(cells);
  }
  const who = (s: string): string => (s === "sgwire" ? "" : `${s} `);
  return table(["workload", ...pairs.flatMap(([s, b]) => [`${who(s)}req/s vs ${b}`, `${who(s)}cpu/resp vs ${b}`])], out);
}

/** What `kv/compare.ts --json FILE` writes: the run's provenance, its options and every row. */
export interface KvCompareFile {
  /** the command line, from examples/ */
  command: string;
  /** the commit measured ("+changes" when the tree differed from it) */
  revision: string;
  /** ISO date the run started */
  date: string;
  machine: { node: string; cpus: number; cpuModel: string; loadAverage: number[] };
  /** --quick: the compact table */
  quick: boolean;
  options: object;
  rows: KvRow[];
}

/** The comparison's tables as compare.ts prints them (and the READMEs show them). */
export function kvCompareReport(f: KvCompareFile): string {
  const codecs = new Set(f.rows.map((r) => r.codec));
  const out = [summaryTable(f.rows, f.quick)];
  if ([...codecs].some(isSgwire) && codecs.size > 1) out.push(ratioTable(f.rows));
  return out.join("\n\n");
}
