/** The table of bench/nic-bench.ts, rendered from what it writes to bench/results/nic-bench.json. */

export interface NicBenchRow {
  target: string;
  mode: string;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  cpuSeconds: number;
  messagesPerCpuSecond: number;
  bytesCopiedPerMessage: number;
  bytesReferencedPerMessage: number;
  segments: number;
  note: string;
}

export interface NicBenchFile {
  /** the command line, from the repository root */
  command: string;
  /** the commit measured ("+changes" when the tree differed from it) */
  revision: string;
  /** ISO date the run started */
  date: string;
  machine: { node: string; cpu: string; cores: number; loadAverage1m: number; dpdk: string | null };
  valueBytes: number;
  seconds: number;
  rows: NicBenchRow[];
}

const fmt = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(0)} k`);

export function nicBenchReport(f: NicBenchFile): string {
  const lines = [
    `@sgwire/nic: encode + send of a Record {id, key 16 B, value ${f.valueBytes} B} per message, one JS thread`,
    `(vs baseline: messages per CPU second against protobufjs through the same port; load average ${f.machine.loadAverage1m.toFixed(2)} at the end)`,
    `${"target".padEnd(26)} ${"mode".padEnd(11)} ${"msg/s".padStart(10)} ${"msg/cpu-s".padStart(10)} ${"segs".padStart(5)} ${"copied B/msg".padStart(13)} ${"ref'd B/msg".padStart(12)} ${"vs baseline".padStart(12)}`,
  ];
  for (const r of f.rows) {
    const base = f.rows.find((x) => x.target === r.target && x.mode === "protobufjs");
    const vs = base === undefined ? "-" : `${(r.messagesPerCpuSecond / base.messagesPerCpuSecond).toFixed(2)}x`;
    lines.push(
      `${r.target.padEnd(26)} ${r.mode.padEnd(11)} ${fmt(r.messagesPerSecond).padStart(10)} ${fmt(r.messagesPerCpuSecond).padStart(10)} ${String(r.segments).padStart(5)} ${r.bytesCopiedPerMessage.toFixed(0).padStart(13)} ${r.bytesReferencedPerMessage.toFixed(0).padStart(12)} ${vs.padStart(12)}`,
    );
  }
  return lines.join("\n");
}
