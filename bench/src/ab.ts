/**
 * A/B of two builds of the sgwire codecs on the suite's workloads, interleaved in one process:
 * A is bench.proto compiled against the workspace's @sgwire/core, B a module you point at (for
 * instance the same schema compiled with `--target js` and its import of @sgwire/core rewritten to
 * a patched copy of packages/core/dist). Prints median ns per message and B's gain.
 *
 *   pnpm --filter @sgwire/bench exec tsx src/ab.ts --b results/tmp/ab/gen-b/bench.sg.js [--a PATH] [--only strings,tree] [--reps 15] [--clock cpu|wall]
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SgList, type MessageType } from "@sgwire/core";
import * as workspace from "./generated/bench.sg.js";
import { FULL_GRID, workloads, type ShapeName } from "./shapes.js";
import { measure, table, type Clock } from "./harness.js";
import { received } from "./peers/peer.js";
import { fmtNs } from "./report/format.js";

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const bPath = opt("--b");
if (bPath === undefined) throw new Error("--b PATH (a compiled bench.sg.js) is required");
type Codecs = Record<string, MessageType<object>>;
const load = async (p: string): Promise<Codecs> => (await import(pathToFileURL(resolve(p)).href)) as Codecs;
const A: Codecs = opt("--a") !== undefined ? await load(opt("--a")!) : (workspace as unknown as Codecs);
const B: Codecs = await load(bPath);
const only = opt("--only")?.split(",") as ShapeName[] | undefined;
const reps = Number(opt("--reps") ?? 15);
const clock = (opt("--clock") as Clock | undefined) ?? "cpu";

const rows: string[][] = [];
for (const w of workloads(FULL_GRID, only === undefined ? undefined : new Set(only))) {
  const cases = [];
  for (const [tag, codecs] of [["A", A], ["B", B]] as const) {
    const c = codecs[w.type]!;
    const list = new SgList();
    const input = received(c.toBinary(w.message));
    cases.push(
      { name: `${tag} encode`, run: () => c.encode(w.message, { into: list }) },
      { name: `${tag} toBinary`, run: () => c.toBinary(w.message) },
      { name: `${tag} fromBinary`, run: () => c.fromBinary(input) },
    );
  }
  const m = measure(cases, { reps, batchMs: 10, warmupMs: 50, clock });
  for (let k = 0; k < 3; k++) {
    const a = m[k]!;
    const b = m[k + 3]!;
    rows.push([w.id, a.name.slice(2), fmtNs(a.ns), fmtNs(b.ns), `${(((a.ns - b.ns) / a.ns) * 100).toFixed(0)}%`]);
  }
}
process.stdout.write(table(["workload", "op", "A", "B", "B faster by"], rows) + "\n");
