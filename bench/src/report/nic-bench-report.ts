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
  /** The port's copy ledger per message (stats.copies): encoder, port, driver. */
  copiesPerMessage: { encoder: number; port: number; driver: number };
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
    `@sgwire/nic: encode + send of a Record {uint64 id, string key (16 characters), bytes value (${f.valueBytes} B)} per message, one JS thread`,
    `(vs baseline: messages per CPU second against protobufjs through the same port; load average ${f.machine.loadAverage1m.toFixed(2)} at the end;`,
    ` copies, bytes per message from stats.copies: enc = written by the encoder, port = copied by the port, drv = copied by the driver or kernel)`,
    `${"target".padEnd(30)} ${"mode".padEnd(11)} ${"msg/s".padStart(8)} ${"msg/cpu-s".padStart(9)} ${"segs".padStart(4)} ${"enc B".padStart(6)} ${"port B".padStart(6)} ${"drv B".padStart(6)} ${"ref'd B".padStart(7)} ${"vs baseline".padStart(11)}`,
  ];
  for (const r of f.rows) {
    const base = f.rows.find((x) => x.target === r.target && x.mode === "protobufjs");
    const vs = base === undefined ? "-" : `${(r.messagesPerCpuSecond / base.messagesPerCpuSecond).toFixed(2)}x`;
    const k = r.copiesPerMessage;
    lines.push(
      `${r.target.padEnd(30)} ${r.mode.padEnd(11)} ${fmt(r.messagesPerSecond).padStart(8)} ${fmt(r.messagesPerCpuSecond).padStart(9)} ${String(r.segments).padStart(4)} ` +
        `${k.encoder.toFixed(0).padStart(6)} ${k.port.toFixed(0).padStart(6)} ${k.driver.toFixed(0).padStart(6)} ${r.bytesReferencedPerMessage.toFixed(0).padStart(7)} ${vs.padStart(11)}`,
    );
  }
  // how far the JavaScript paths are from the same chains built in C (per CPU second)
  for (const cl of f.rows.filter((r) => r.mode === "C loop")) {
    const of = (mode: string) => f.rows.find((r) => r.target === cl.target && r.mode === mode);
    const parts = ["sgwire", "codec send", "send only"].flatMap((m) => {
      const r = of(m);
      return r === undefined ? [] : [`${m} ${(cl.messagesPerCpuSecond / r.messagesPerCpuSecond).toFixed(2)}x`];
    });
    lines.push(`${cl.target}: the C loop's messages per CPU second over each JavaScript path's: ${parts.join(", ")}`);
  }
  return lines.join("\n");
}
