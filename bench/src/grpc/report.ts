/**
 * The gRPC benchmark's result file (bench/results/grpc-bench.json) and its table, rendered from
 * the file alone (scripts/figures.ts can render a README block from it).
 */
import { table } from "../harness.js";
import type { MachineInfo } from "../machine.js";

/** One timed window of one server on one method. */
export interface GrpcBenchRun {
  round: number;
  /** wall-clock length of the window */
  seconds: number;
  /** calls the load generator completed in the window */
  clientCalls: number;
  requestsPerSecond: number;
  /** calls the server's handlers received in the window (read with its CPU time) */
  serverCalls: number;
  /** the server process's CPU time in the window (process.cpuUsage: every thread, GC included), us */
  serverCpuUs: { user: number; system: number };
  /** server CPU time per call, us */
  cpuUsPerRequest: number;
  /** server calls per second of server CPU time */
  requestsPerCpuSecond: number;
  p50Us: number;
  p99Us: number;
  /** the load generator's CPU time per call in the window, us (it shows when the client, not the server, is the bottleneck) */
  clientCpuUsPerRequest: number;
}

/** One server on one method: every window, the medians, and whether every answer was right. */
export interface GrpcBenchRow {
  server: string;
  description: string;
  runs: GrpcBenchRun[];
  median: { requestsPerSecond: number; cpuUsPerRequest: number; requestsPerCpuSecond: number; p50Us: number; p99Us: number };
  /** medians over the baseline row's medians (grpc-js+protobufjs), when it ran */
  vsBaseline?: { requestsPerSecond: number; requestsPerCpuSecond: number };
  /** responses received (warm-ups included), and of those: error statuses and wrong answers */
  answered: number;
  errors: number;
  mismatches: number;
  /** the first problems seen */
  problems: string[];
  /** every call answered, none with an error or a wrong answer */
  ok: boolean;
}

export interface GrpcBenchMethod {
  /** "getBlob" | "small" */
  method: string;
  /** e.g. "GetBlob 64 KiB" */
  label: string;
  /** response size on the wire, bytes */
  responseBytes: number;
  rows: GrpcBenchRow[];
}

export interface GrpcBenchGoal {
  goal: string;
  /** the measured ratio, or null when a row it needs did not run or failed */
  measured: number | null;
  target: number;
  met: boolean;
}

export interface GrpcBenchFile {
  /** the command line, from bench/ */
  command: string;
  /** the commit measured ("+changes" when the tree differed from it) */
  revision: string;
  /** ISO date the run started */
  date: string;
  durationSeconds: number;
  machine: MachineInfo;
  /** load average at the end of the run */
  loadAverageEnd: number[];
  versions: Record<string, string>;
  settings: {
    client: string;
    concurrency: number;
    rounds: number;
    /** "seconds": timed windows; "calls": a fixed number of calls per window (tests) */
    window: { mode: "seconds"; warmupSeconds: number; seconds: number } | { mode: "calls"; warmupCalls: number; calls: number };
    blobBytes: number;
    keys: number;
    /** CPUs the server processes and the load generator were pinned to (taskset), or null */
    pin: { server: number; client: number } | null;
  };
  baseline: string;
  methods: GrpcBenchMethod[];
  goals: GrpcBenchGoal[];
}

const rate = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v >= 1e3 ? `${(v / 1e3).toFixed(2)}k` : v.toFixed(0));
const us = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : v >= 100 ? `${v.toFixed(0)} us` : `${v.toFixed(1)} us`);
const ratio = (v: number | undefined): string => (v === undefined ? "-" : `${v.toFixed(2)}x`);

/** The table of a run: one line per method and server, then the goals. */
export function grpcBenchReport(f: GrpcBenchFile): string {
  const s = f.settings;
  const win = s.window.mode === "seconds" ? `${s.window.seconds} s windows after ${s.window.warmupSeconds} s of warm-up` : `windows of ${s.window.calls} calls after ${s.window.warmupCalls} warm-up calls`;
  const pin = s.pin === null ? "not pinned" : `server pinned to CPU ${s.pin.server}, load generator to CPU ${s.pin.client}`;
  const out = [
    `unary gRPC calls on loopback (h2c), each server in a process of its own; one ${s.client} client keeps ${s.concurrency} calls in flight (${pin});`,
    `median of ${s.rounds} round(s) of ${win}, servers alternating; srv cpu/req: the server process's CPU time (user + system) per call`,
    "",
  ];
  const head = ["method", "server", "req/s", "srv cpu/req", "req/srv-cpu-s", "p50", "p99", `req/s vs ${f.baseline}`, "req/cpu-s vs it", "answered", "bad"];
  const rows: string[][] = [];
  for (const m of f.methods) {
    for (const r of m.rows) {
      rows.push([
        m.label,
        r.server,
        rate(r.median.requestsPerSecond),
        us(r.median.cpuUsPerRequest),
        rate(r.median.requestsPerCpuSecond),
        us(r.median.p50Us),
        us(r.median.p99Us),
        ratio(r.vsBaseline?.requestsPerSecond),
        ratio(r.vsBaseline?.requestsPerCpuSecond),
        String(r.answered),
        String(r.errors + r.mismatches),
      ]);
    }
  }
  out.push(...table(head, rows, 2).split("\n"));
  if (f.goals.length > 0) {
    out.push("");
    for (const g of f.goals) out.push(`goal: ${g.goal} >= ${g.target}x: ${g.measured === null ? "not measured" : `${g.measured.toFixed(2)}x, ${g.met ? "met" : "MISSED"}`}`);
  }
  const bad = f.methods.flatMap((m) => m.rows.filter((r) => !r.ok).map((r) => `${m.label} ${r.server}: ${r.problems[0] ?? "no answers"}`));
  if (bad.length > 0) out.push("", ...bad.map((b) => `FAILED ${b}`));
  return out.join("\n");
}
