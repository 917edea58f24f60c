/** Latency samples, percentiles and the tables the load generator prints. */

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
