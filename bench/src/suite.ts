/**
 * The codec suite: for each workload, every peer's encode and decode measured together (one
 * interleaved `measure` call, so machine noise hits all of them alike), after checking that the
 * peers agree on the bytes and the fields.
 */
import { measure, type MeasureOptions } from "./harness.js";
import { sameBytes, sameFields } from "./check.js";
import type { Workload } from "./shapes.js";
import type { LibCase, Op, Peer } from "./peers/peer.js";

export interface Figure {
  lib: string;
  op: Op;
  /** median ns per message */
  ns: number;
  /** fastest and slowest repetition, ns per message */
  min: number;
  max: number;
  /** quartiles of the repetitions, ns per message */
  q1: number;
  q3: number;
  reps: number;
  /** medians on each clock (ns is one of them, see the run's settings.clock) */
  wallNs: number;
  cpuNs: number;
  /** encode: bytes copied into output memory per message */
  bytesCopied?: number;
  wireBytes?: number;
  segments?: number;
}

export interface WorkloadResult {
  id: string;
  shape: Workload["shape"];
  label: string;
  type: Workload["type"];
  payloadBytes: number;
  count: number;
  valueBytes?: number;
  figures: Figure[];
}

/** Throws when the peers disagree on the wire bytes or a decoder loses a field. */
export function checkCases(w: Workload, cases: LibCase[]): void {
  const reference = cases.find((c) => c.lib === "sgwire toBinary")?.wire;
  for (const c of cases) {
    if (c.op === "encode" && c.wire !== undefined && reference !== undefined && !sameBytes(c.wire, reference)) {
      throw new Error(`${w.id}: ${c.lib} encodes differently from sgwire toBinary (${c.wire.length} vs ${reference.length} bytes)`);
    }
    if (c.op === "decode" && c.decoded !== undefined) {
      const diff = sameFields(w.message, c.decoded());
      if (diff !== null) throw new Error(`${w.id}: ${c.lib} decode: ${diff}`);
    }
  }
}

export function runWorkload(w: Workload, peers: Peer[], opts: MeasureOptions): WorkloadResult {
  const cases = peers.flatMap((p) => p.cases(w));
  checkCases(w, cases);
  const m = measure(cases.map((c) => ({ name: `${c.op} ${c.lib}`, run: c.run })), opts);
  const figures = cases.map((c, k): Figure => {
    const { ns, min, max, q1, q3, reps, wallNs, cpuNs } = m[k]!;
    const f: Figure = { lib: c.lib, op: c.op, ns, min, max, q1, q3, reps, wallNs, cpuNs };
    if (c.bytesCopied !== undefined) f.bytesCopied = c.bytesCopied;
    if (c.wireBytes !== undefined) f.wireBytes = c.wireBytes;
    if (c.segments !== undefined) f.segments = c.segments;
    return f;
  });
  const { id, shape, label, type, payloadBytes, count, valueBytes } = w;
  return { id, shape, label, type, payloadBytes, count, ...(valueBytes !== undefined ? { valueBytes } : {}), figures };
}
