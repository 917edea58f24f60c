/** The shape of bench/results/<name>.json: one run, every figure, and what it ran on. */
import type { MeasureOptions } from "../harness.js";
import type { MachineInfo } from "../machine.js";
import type { WorkloadResult } from "../suite.js";

export interface RunFile {
  name: string;
  /** ISO date the run started */
  date: string;
  durationSeconds: number;
  command: string;
  /** git commit of the code measured ("+changes" when the tree differed) */
  revision: string;
  machine: MachineInfo;
  settings: MeasureOptions & { mode: string };
  peers: { name: string; version: string }[];
  results: WorkloadResult[];
  /** the design targets evaluated on this run (report/markdown.ts) */
  targets?: { what: string; goal: number; measured: number; met: boolean }[];
}

/** Encode lines, in table and legend order. */
export const ENCODERS = ["sgwire encode", "sgwire encode (fresh)", "sgwire toBinary", "protobufjs", "@bufbuild/protobuf", "flatbuffers"];
/** Decode lines, in table and legend order. */
export const DECODERS = ["sgwire fromBinary", "protobufjs", "@bufbuild/protobuf", "flatbuffers"];
