/**
 * The benchmark command.
 *
 *   pnpm --filter @sgwire/bench run bench [--quick] [--only bytes,list] [--clock cpu|wall] [--name NAME] [--out DIR]
 *
 * Runs the codec suite (shapes.ts) for every peer, prints the table on stdout, progress on
 * stderr, and writes DIR/NAME.json (every figure, the machine, Node, date and settings),
 * DIR/NAME.md (the tables) and DIR/NAME-*.svg (the plots). DIR defaults to bench/results,
 * NAME to "quick" or "full". bench/README.md shows results/full.json: `npx tsx scripts/figures.ts
 * measure bench-full` runs the full grid and re-renders that section (report/markdown.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock, MeasureOptions } from "./harness.js";
import { FULL_GRID, QUICK_GRID, workloads, type ShapeName } from "./shapes.js";
import { runWorkload, type WorkloadResult } from "./suite.js";
import { Progress } from "./progress.js";
import { gitRevision, machineInfo } from "./machine.js";
import { sgwirePeer } from "./peers/sgwire.js";
import { protobufjsPeer } from "./peers/protobufjs.js";
import { bufbuildPeer } from "./peers/bufbuild.js";
import { flatbuffersPeer } from "./peers/flatbuffers.js";
import { allocationPeer } from "./peers/allocation.js";
import { markdownReport, targets } from "./report/markdown.js";
import { plots } from "./report/plots.js";
import type { RunFile } from "./report/run-file.js";

const SHAPES: ShapeName[] = ["small", "bytes", "list", "tree", "strings", "mixed"];
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

function parseArgs(argv: string[]) {
  let quick = false;
  let name: string | undefined;
  let out = join(repoRoot, "bench/results");
  let only: Set<ShapeName> | undefined;
  let clock: Clock = "cpu";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") quick = true;
    else if (a === "--full") quick = false;
    else if (a === "--name") name = value();
    else if (a === "--clock") {
      const c = value();
      if (c !== "cpu" && c !== "wall") throw new Error(`--clock must be cpu or wall, got ${c}`);
      clock = c;
    }
    else if (a === "--out") out = value();
    else if (a === "--only") {
      only = new Set();
      for (const s of value().split(",")) {
        if (!SHAPES.includes(s as ShapeName)) throw new Error(`--only: unknown shape ${s} (known: ${SHAPES.join(", ")})`);
        only.add(s as ShapeName);
      }
    } else if (a === "-h" || a === "--help") {
      process.stdout.write("usage: bench [--quick] [--only small,bytes,list,tree,strings,mixed] [--clock cpu|wall] [--name NAME] [--out DIR]\n");
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  return { quick, name: name ?? (quick ? "quick" : "full"), out, only, clock };
}

const args = parseArgs(process.argv.slice(2));
const settings: MeasureOptions & { mode: string } = args.quick
  ? { mode: "quick", reps: 9, batchMs: 12, warmupMs: 40, clock: args.clock }
  : { mode: "full", reps: 11, batchMs: 25, warmupMs: 150, clock: args.clock };
const peers = [sgwirePeer, protobufjsPeer, bufbuildPeer, flatbuffersPeer, allocationPeer];
const list = workloads(args.quick ? QUICK_GRID : FULL_GRID, args.only);

const started = new Date();
const progress = new Progress(list.length, `bench (${settings.mode})`);
const results: WorkloadResult[] = [];
// a first, discarded pass over the first workload: the process is young (modules still loading,
// the JIT still compiling the harness) and the first figures would carry it
if (list.length > 0) {
  progress.step(`warm-up (${list[0]!.label})`);
  runWorkload(list[0]!, peers, { ...settings, reps: 2 });
}
for (const w of list) {
  progress.step(w.label);
  results.push(runWorkload(w, peers, settings));
  progress.advance();
}
progress.finish();

const run: RunFile = {
  name: args.name,
  date: started.toISOString(),
  durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
  command: `bench ${process.argv.slice(2).join(" ")}`.trim(),
  revision: gitRevision(repoRoot),
  machine: machineInfo(),
  settings,
  peers: peers.map((p) => ({ name: p.name, version: p.version })),
  results,
};

run.targets = targets(run);
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, `${args.name}.json`), JSON.stringify(run, null, 1) + "\n");
const md = markdownReport(run);
writeFileSync(join(args.out, `${args.name}.md`), md);
const written = [join(args.out, `${args.name}.json`), join(args.out, `${args.name}.md`)];
for (const p of plots(run)) {
  writeFileSync(join(args.out, `${args.name}-${p.name}.svg`), p.svg);
  written.push(join(args.out, `${args.name}-${p.name}.svg`));
}
process.stdout.write(md);
process.stderr.write(`wrote ${written.join(", ")}\n`);
