/** The table of bench/src/bytes-field.ts, rendered from the JSON it writes (`--json FILE`). */
import { fmtBytes, fmtNs, table } from "../harness.js";

type Lines = "sgwire encode" | "sgwire toBinary" | "protobufjs encode" | "sgwire fromBinary" | "protobufjs decode";

export interface BytesFieldFile {
  command: string;
  /** the commit measured ("+changes" when the tree differed from it) */
  revision: string;
  /** ISO date the run started */
  date: string;
  node: string;
  /** interleaved repetitions per figure; each figure is their median */
  reps: number;
  results: Array<{ size: number; bytesCopied: number; segments: number } & Record<Lines, { ns: number; min: number; max: number }>>;
}

export function bytesFieldReport(f: BytesFieldFile): string {
  const rows = f.results.map((r) => [
    fmtBytes(r.size),
    fmtNs(r["sgwire encode"].ns), fmtNs(r["sgwire toBinary"].ns), fmtNs(r["protobufjs encode"].ns),
    `${(r["protobufjs encode"].ns / r["sgwire encode"].ns).toFixed(1)}x`,
    fmtNs(r["sgwire fromBinary"].ns), fmtNs(r["protobufjs decode"].ns),
    `${(r["protobufjs decode"].ns / r["sgwire fromBinary"].ns).toFixed(2)}x`,
    `${r.bytesCopied} B`,
  ]);
  return [
    `Blob { uint32 id; bytes key (16 B); bytes value } on Node ${f.node}, median of ${f.reps} interleaved repetitions`,
    "",
    table(["value", "sg encode", "sg toBinary", "pbjs encode", "encode x", "sg decode", "pbjs decode", "decode x", "copied/msg"], rows),
    "",
    "encode x = protobufjs encode / sgwire encode; decode x = protobufjs decode / sgwire fromBinary",
  ].join("\n");
}
