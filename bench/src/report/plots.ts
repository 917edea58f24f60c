/**
 * Which plots a run gets: ns per message against payload size (the bytes shape, log-log) and
 * against the number of values (the list shape, one plot per value size), for encode and for
 * decode, one line per library.
 */
import type { WorkloadResult } from "../suite.js";
import { DECODERS, ENCODERS, type RunFile } from "./run-file.js";
import { fmtBytes, fmtNs } from "./format.js";
import { lineChart, type Series } from "./svg-plot.js";

export interface Plot {
  /** file name part: <run name>-<name>.svg */
  name: string;
  title: string;
  svg: string;
}

/** One colour per library, the same in every plot (sgwire's two encoders share red, toBinary dashed). */
const LIB_COLORS: Record<string, string> = {
  "sgwire encode": "#d62728",
  "sgwire toBinary": "#d62728",
  "sgwire fromBinary": "#d62728",
  protobufjs: "#1f77b4",
  "@bufbuild/protobuf": "#2ca02c",
  flatbuffers: "#9467bd",
};

function series(rows: WorkloadResult[], op: "encode" | "decode", libs: string[], x: (r: WorkloadResult) => number): Series[] {
  return libs
    .map((lib) => ({
      name: lib,
      dashed: lib === "sgwire toBinary",
      color: LIB_COLORS[lib],
      points: rows
        .map((r): [number, number] | null => {
          const f = r.figures.find((g) => g.op === op && g.lib === lib);
          return f === undefined ? null : [x(r), f.ns];
        })
        .filter((p): p is [number, number] => p !== null),
    }))
    .filter((s) => s.points.length > 0);
}

export function plots(run: RunFile): Plot[] {
  const out: Plot[] = [];
  const sub = `${run.name} run, ${run.date.slice(0, 10)}, Node ${run.machine.node}, ${run.machine.cpus} x ${run.machine.cpuModel}`;
  const bytes = run.results.filter((r) => r.shape === "bytes");
  if (bytes.length > 1) {
    for (const op of ["encode", "decode"] as const) {
      const title = `${op} ns/message vs bytes field size (Blob)`;
      out.push({
        name: `${op}-vs-size`,
        title,
        svg: lineChart({
          title, subtitle: sub,
          xLabel: "size of the bytes field (log)", yLabel: "ns per message (log)",
          xLog: true, yLog: true, xLogBase: 4,
          xFormat: fmtBytes, yFormat: fmtNs,
          series: series(bytes, op, op === "encode" ? ENCODERS : DECODERS, (r) => r.valueBytes ?? r.payloadBytes),
        }),
      });
    }
  }
  const lists = run.results.filter((r) => r.shape === "list");
  const valueSizes = [...new Set(lists.map((r) => r.valueBytes!))];
  for (const v of valueSizes) {
    const rows = lists.filter((r) => r.valueBytes === v);
    if (rows.length < 2) continue;
    for (const op of ["encode", "decode"] as const) {
      const title = `${op} ns/message vs number of values of ${fmtBytes(v)} (List)`;
      out.push({
        name: `${op}-vs-count-${v}`,
        title,
        svg: lineChart({
          title, subtitle: sub,
          xLabel: "values in the repeated bytes field (log)", yLabel: "ns per message (log)",
          xLog: true, yLog: true, xLogBase: 2,
          yFormat: fmtNs,
          series: series(rows, op, op === "encode" ? ENCODERS : DECODERS, (r) => r.count),
        }),
      });
    }
  }
  return out;
}
