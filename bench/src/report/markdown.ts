/**
 * The markdown report of a run (bench/results/<name>.md): the setting, the encode and decode
 * tables (median ns per message with its spread, bytes copied per message) and the design
 * targets, met or missed, computed from the same run.
 */
import type { Figure, WorkloadResult } from "../suite.js";
import { DECODERS, ENCODERS, type RunFile } from "./run-file.js";
import { fmtBytes, fmtNs, fmtRatio } from "./format.js";
import { OWN_BUFFER, POOL_SLICE } from "../peers/allocation.js";

function fig(r: WorkloadResult, op: "encode" | "decode", lib: string): Figure | undefined {
  return r.figures.find((f) => f.op === op && f.lib === lib);
}

/** "1.23 us ±4%": the median, and half the interquartile range relative to it. */
function cell(f: Figure | undefined): string {
  if (f === undefined) return "";
  const spread = ((f.q3 - f.q1) / 2 / f.ns) * 100;
  return `${fmtNs(f.ns)} ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`;
}

function tableOf(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}

function ratio(r: WorkloadResult, op: "encode" | "decode", lib: string, over: string): number {
  const a = fig(r, op, lib);
  const b = fig(r, op, over);
  return a !== undefined && b !== undefined ? b.ns / a.ns : NaN;
}

const CLOCKS = { cpu: "process CPU time", wall: "wall-clock time" } as const;

export interface Target {
  what: string;
  goal: number;
  measured: number;
  met: boolean;
}

/** The design's codec targets (DESIGN.md, performance targets), evaluated on this run. */
export function targets(run: RunFile): Target[] {
  const out: Target[] = [];
  const by = (id: string) => run.results.find((r) => r.id === id);
  const add = (what: string, id: string, op: "encode" | "decode", lib: string, goal: number) => {
    const r = by(id);
    if (r === undefined) return;
    const measured = ratio(r, op, lib, "protobufjs");
    out.push({ what, goal, measured, met: measured >= goal });
  };
  add("64 KiB bytes field: encode vs protobufjs", "bytes/65536", "encode", "sgwire encode", 50);
  add("1 MiB bytes field: encode vs protobufjs", "bytes/1048576", "encode", "sgwire encode", 500);
  add("small message: encode vs protobufjs", "small", "encode", "sgwire encode", 1.5);
  add("small message: toBinary vs protobufjs", "small", "encode", "sgwire toBinary", 1.5);
  add("small message: decode vs protobufjs", "small", "decode", "sgwire fromBinary", 1);
  // the mixed suite (issue: codec speed on the schemas users have)
  for (const r of run.results.filter((x) => x.shape === "mixed")) {
    add(`${r.label}: fromBinary vs protobufjs`, r.id, "decode", "sgwire fromBinary", 1.5);
    add(`${r.label}: fresh encode() vs protobufjs`, r.id, "encode", "sgwire encode (fresh)", 2);
    add(`${r.label}: toBinary vs protobufjs`, r.id, "encode", "sgwire toBinary", 2.5);
  }
  return out;
}

export function markdownReport(run: RunFile): string {
  const m = run.machine;
  const s = run.settings;
  const out: string[] = [];
  out.push(`# sgwire codec benchmark: ${run.name}`);
  out.push("");
  out.push(
    `${run.date.slice(0, 16).replace("T", " ")} UTC, \`${run.command}\` (${s.mode} mode: median of ${s.reps} interleaved repetitions of ` +
      `~${s.batchMs} ms batches after ${s.warmupMs} ms warm-up, ${CLOCKS[s.clock ?? "wall"]}), revision ${run.revision}, ${run.durationSeconds} s.`,
  );
  out.push(
    `Node ${m.node} (V8 ${m.v8}), ${m.platform} ${m.release} ${m.arch}, ${m.cpus} x ${m.cpuModel}, ` +
      `${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, load average at start ${m.loadAverage.join(" ")}.`,
  );
  out.push(`Peers: ${run.peers.filter((p) => p.name !== "sgwire" && p.name !== "allocation floor").map((p) => `${p.name} ${p.version}`).join(", ")}.`);
  out.push("");
  out.push("Times are median ns per message ± half the interquartile range of the repetitions (min and max are in the JSON). Ratios compare figures of this run only.");
  out.push("");

  out.push("## Encode");
  out.push("");
  out.push(
    tableOf(
      ["workload", ...ENCODERS, "encode / pbjs", "copied: sgwire encode", "copied: others", "segments"],
      run.results.map((r) => {
        const enc = fig(r, "encode", "sgwire encode");
        const flat = fig(r, "encode", "protobufjs");
        return [
          r.label,
          ...ENCODERS.map((l) => cell(fig(r, "encode", l))),
          fmtRatio(ratio(r, "encode", "sgwire encode", "protobufjs")),
          enc?.bytesCopied !== undefined ? fmtBytes(enc.bytesCopied) : "",
          flat?.bytesCopied !== undefined ? fmtBytes(flat.bytesCopied) : "",
          String(enc?.segments ?? ""),
        ];
      }),
    ),
  );
  out.push("");
  out.push(
    "`encode / pbjs`: protobufjs time over sgwire `encode` time. `copied`: bytes written into output memory per message; " +
      "for sgwire `encode` the scratch bytes (tags, lengths, scalars, fields under the copy threshold), for every other encoder " +
      "its whole encoding (flatbuffers: its buffer, slightly larger than the protobuf encoding).",
  );
  out.push("");

  out.push("## Decode");
  out.push("");
  out.push(
    tableOf(
      ["workload", ...DECODERS, "decode / pbjs"],
      run.results.map((r) => [r.label, ...DECODERS.map((l) => cell(fig(r, "decode", l))), fmtRatio(ratio(r, "decode", "sgwire fromBinary", "protobufjs"))]),
    ),
  );
  out.push("");
  out.push("`decode / pbjs`: protobufjs time over sgwire `fromBinary` time. flatbuffers decode reads every field once into a plain object (byte vectors as views).");
  out.push("");

  const floors = run.results.filter((r) => fig(r, "encode", OWN_BUFFER) !== undefined);
  if (floors.length > 0) {
    out.push("## Allocation floor (this run)");
    out.push("");
    out.push(
      tableOf(
        ["workload", "wire bytes", "own buffer: new Uint8Array(n)", "pool slice: Buffer.allocUnsafe(n)", "sgwire toBinary", "protobufjs", "toBinary / pbjs", "same with a pool slice"],
        floors.map((r) => {
          const own = fig(r, "encode", OWN_BUFFER)!;
          const pool = fig(r, "encode", POOL_SLICE);
          const tb = fig(r, "encode", "sgwire toBinary");
          const pb = fig(r, "encode", "protobufjs");
          const pooled = tb !== undefined && pool !== undefined && pb !== undefined ? pb.ns / Math.max(1, tb.ns - own.ns + pool.ns) : NaN;
          return [r.label, String(tb?.wireBytes ?? ""), cell(own), cell(pool), cell(tb), cell(pb), fmtRatio(ratio(r, "encode", "sgwire toBinary", "protobufjs")), fmtRatio(pooled)];
        }),
      ),
    );
    out.push("");
    out.push(
      "What one output buffer of the message's size costs, measured beside the codecs. sgwire's `toBinary()` and fresh `encode()` " +
        "give every output an ArrayBuffer of its own (transferring or detaching one never touches another); V8 allocates those " +
        "above 64 bytes outside its heap. protobufjs returns a slice of Node's shared pool. `same with a pool slice`: protobufjs " +
        "time over sgwire's toBinary time with the own buffer's cost replaced by the pool slice's (an estimate, not a measurement).",
    );
    out.push("");
  }

  const t = targets(run);
  if (t.length > 0) {
    out.push("## Design targets (this run)");
    out.push("");
    out.push(tableOf(["target", "goal", "measured", ""], t.map((x) => [x.what, `>= ${x.goal}x`, fmtRatio(x.measured), x.met ? "met" : "**missed**"])));
    out.push("");
  }
  return out.join("\n");
}
