/**
 * Combines ab.ts runs (their --json files) of the same two builds, taken in either order, into
 * one figure per workload and op: the geometric mean over the runs of new/old, where "old" is
 * the build whose path contains OLD (so runs with old as A and as B both count the same way).
 *
 *   tsx src/ab-summary.ts --old before/ [--out FILE] RUN.json...
 *
 * Prints a table (workload, op, old ns, new ns, new/old) and the geometric mean per op.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { table } from "./harness.js";
import { fmtNs } from "./report/format.js";

interface Run {
  command: string;
  a: string;
  b: string;
  results: { workload: string; op: string; a: { ns: number }; b: { ns: number } }[];
}

const argv = process.argv.slice(2);
const take = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  argv.splice(i, 2);
  return v;
};
const old = take("--old");
const out = take("--out");
if (old === undefined || argv.length === 0) throw new Error("usage: ab-summary.ts --old PATH-PART [--out FILE] RUN.json...");
const runs = argv.map((f) => JSON.parse(readFileSync(f, "utf8")) as Run);
const cells = new Map<string, { workload: string; op: string; old: number[]; new: number[] }>();
for (const r of runs) {
  const aIsOld = r.a.includes(old);
  if (aIsOld === r.b.includes(old)) throw new Error(`${r.command}: exactly one of A (${r.a}) and B (${r.b}) must contain ${old}`);
  for (const x of r.results) {
    const k = `${x.workload}\u0000${x.op}`;
    const c = cells.get(k) ?? { workload: x.workload, op: x.op, old: [], new: [] };
    c.old.push(aIsOld ? x.a.ns : x.b.ns);
    c.new.push(aIsOld ? x.b.ns : x.a.ns);
    cells.set(k, c);
  }
}
const geo = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const rows: string[][] = [];
const perOp = new Map<string, number[]>();
const figures: object[] = [];
for (const c of cells.values()) {
  const ratio = geo(c.new.map((n, i) => n / c.old[i]!));
  rows.push([c.workload, c.op, fmtNs(geo(c.old)), fmtNs(geo(c.new)), ratio.toFixed(2)]);
  (perOp.get(c.op) ?? perOp.set(c.op, []).get(c.op)!).push(ratio);
  figures.push({ workload: c.workload, op: c.op, oldNs: geo(c.old), newNs: geo(c.new), ratio, runs: c.old.length });
}
process.stdout.write(table(["workload", "op", "old", "new", "new/old"], rows) + "\n\n");
const summary = [...perOp].map(([op, rs]) => ({ op, geometricMean: geo(rs), min: Math.min(...rs), max: Math.max(...rs) }));
process.stdout.write(table(["op", "geo mean new/old", "min", "max"], summary.map((s) => [s.op, s.geometricMean.toFixed(2), s.min.toFixed(2), s.max.toFixed(2)])) + "\n");
if (out !== undefined) {
  writeFileSync(out, JSON.stringify({ command: `tsx src/ab-summary.ts ${process.argv.slice(2).join(" ")}`, date: new Date().toISOString(), runs: runs.map((r) => r.command), summary, figures }, null, 1) + "\n");
}
