/**
 * A/B of two builds of the sgwire codecs on the suite's workloads, interleaved in one process:
 * A is bench.proto compiled against the workspace's @sgwire/core (or, with --a, a module you point
 * at), B a module you point at (for instance the same schema compiled with `--target js` by another
 * checkout's codegen, importing that checkout's @sgwire/core, or with its import of @sgwire/core
 * rewritten to a patched copy of packages/core/dist). Either build can take either position, so a
 * position bias shows as the gap between the two orders (and in an A/A run of two copies of one
 * build). Ops (--ops, all by default): encode into a reused SgList, encodeFresh (a new encode()),
 * toBinary(), fromBinary(). Prints median ns per message and B/A; --json writes every figure
 * (median, quartiles, both clocks).
 *
 *   pnpm --filter @sgwire/bench exec tsx src/ab.ts --b results/tmp/ab/gen-b/bench.sg.js [--a PATH] [--only strings,tree] [--reps 15] [--clock cpu|wall] [--ops fromBinary,...] [--json FILE]
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { MessageType, SgList } from "@sgwire/core";
import { FULL_GRID, workloads, type ShapeName } from "./shapes.js";
import { measure, table, type Clock, type Measurement } from "./harness.js";
import { received } from "./peers/peer.js";
import { fmtNs } from "./report/format.js";

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const aPath = opt("--a");
const bPath = opt("--b");
if (bPath === undefined) throw new Error("--b PATH (a compiled bench.sg.js) is required");
type Codecs = Record<string, MessageType<object>>;
const load = async (p: string): Promise<Codecs> => (await import(pathToFileURL(resolve(p)).href)) as Codecs;
// the workspace's module is loaded only when it is A, so a build given with --a shares its
// @sgwire/core with nothing else in the process
const A: Codecs = aPath !== undefined ? await load(aPath) : ((await import("./generated/bench.sg.js")) as unknown as Codecs);
const B: Codecs = await load(bPath);
const only = opt("--only")?.split(",") as ShapeName[] | undefined;
const reps = Number(opt("--reps") ?? 15);
const clock = (opt("--clock") as Clock | undefined) ?? "cpu";
const jsonPath = opt("--json");

const ALL_OPS = ["encode", "encodeFresh", "toBinary", "fromBinary"] as const;
type Op = (typeof ALL_OPS)[number];
// --ops fromBinary measures decoding alone: an allocating encode case's garbage is collected in
// whichever case runs after it, and in the rotation each case always follows the same one
const OPS = (opt("--ops")?.split(",") as Op[] | undefined) ?? ALL_OPS;
for (const op of OPS) if (!ALL_OPS.includes(op)) throw new Error(`--ops: ${op} is not one of ${ALL_OPS.join(",")}`);
const figures = (m: Measurement) => ({ ns: m.ns, q1: m.q1, q3: m.q3, min: m.min, max: m.max, wallNs: m.wallNs, cpuNs: m.cpuNs });
const rows: string[][] = [];
const results: object[] = [];
for (const w of workloads(FULL_GRID, only === undefined ? undefined : new Set(only))) {
  const cases: { name: string; run: () => unknown }[] = [];
  const wires: Uint8Array[] = [];
  for (const [tag, codecs] of [["A", A], ["B", B]] as const) {
    const c = codecs[w.type]!;
    // the reused list comes from the build's own encode(), so it is that build's SgList
    const list: SgList = c.encode(w.message);
    const wire = c.toBinary(w.message);
    wires.push(wire);
    const input = received(wire);
    const into = { into: list };
    // bound functions, not arrow functions: closures from one literal would share their feedback
    // (and optimised code) between A and B
    const run: Record<Op, () => unknown> = {
      encode: c.encode.bind(c, w.message, into),
      encodeFresh: c.encode.bind(c, w.message),
      toBinary: c.toBinary.bind(c, w.message),
      fromBinary: c.fromBinary.bind(c, input),
    };
    for (const op of OPS) cases.push({ name: `${tag} ${op}`, run: run[op] });
  }
  if (Buffer.compare(wires[0]!, wires[1]!) !== 0) throw new Error(`${w.id}: A and B encode different bytes`);
  const m = measure(cases, { reps, batchMs: 10, warmupMs: 50, clock });
  for (let k = 0; k < OPS.length; k++) {
    const a = m[k]!;
    const b = m[k + OPS.length]!;
    rows.push([w.id, OPS[k]!, fmtNs(a.ns), fmtNs(b.ns), (b.ns / a.ns).toFixed(3)]);
    results.push({ workload: w.id, op: OPS[k], a: figures(a), b: figures(b), ratio: b.ns / a.ns });
  }
}
process.stdout.write(table(["workload", "op", "A", "B", "B/A"], rows) + "\n");
if (jsonPath !== undefined) {
  const out = {
    command: process.argv.slice(1).join(" "),
    date: new Date().toISOString(),
    node: process.version,
    a: aPath ?? "src/generated/bench.sg.ts",
    b: bPath,
    reps,
    clock,
    ops: OPS,
    results,
  };
  writeFileSync(jsonPath, JSON.stringify(out, null, 1) + "\n");
}
