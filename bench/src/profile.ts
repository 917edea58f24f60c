/**
 * Profiles one library on one workload, to see where the time goes.
 *
 *   pnpm --filter @sgwire/bench run profile <workload-id> [lib] [encode|decode] [--seconds S]
 *   e.g. profile strings "sgwire encode" encode
 *
 * The sgwire codecs are compiled to plain JavaScript first (`sgwire compile --target js` into
 * bench/results/tmp/profile/), so the profile names the functions as they run. The loop runs in
 * a child `node --cpu-prof`; the parent prints the functions with the most self time.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { SgList, type MessageType } from "@sgwire/core";
import { FULL_GRID, QUICK_GRID, workloads } from "./shapes.js";
import { protobufjsPeer } from "./peers/protobufjs.js";
import { bufbuildPeer } from "./peers/bufbuild.js";
import { flatbuffersPeer } from "./peers/flatbuffers.js";
import { received } from "./peers/peer.js";
import { summarize } from "./cpuprofile.js";
import { keep } from "./harness.js";

const benchDir = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(benchDir, "results/tmp/profile");
const genDir = join(outDir, "gen");

const args = process.argv.slice(2);
const secondsAt = args.indexOf("--seconds");
const seconds = secondsAt >= 0 ? Number(args.splice(secondsAt, 2)[1]) : 4;
const [id = "strings", lib = "sgwire encode", op = lib.includes("fromBinary") ? "decode" : "encode"] = args;

const all = [...workloads(FULL_GRID), ...workloads(QUICK_GRID)];
const w = all.find((x) => x.id === id);
if (w === undefined) throw new Error(`no workload ${id}; known: ${[...new Set(all.map((x) => x.id))].join(" ")}`);

async function sgwireRun(): Promise<() => unknown> {
  const mod = (await import(pathToFileURL(join(genDir, "bench.sg.js")).href)) as Record<string, MessageType<object>>;
  const codec = mod[w!.type]!;
  const msg = w!.message;
  if (lib === "sgwire encode") {
    const list = new SgList();
    return () => codec.encode(msg, { into: list });
  }
  if (lib === "sgwire toBinary") return () => codec.toBinary(msg);
  const input = received(codec.toBinary(msg));
  return () => codec.fromBinary(input);
}

async function child(): Promise<void> {
  let run: () => unknown;
  if (lib.startsWith("sgwire")) run = await sgwireRun();
  else {
    const peer = [protobufjsPeer, bufbuildPeer, flatbuffersPeer].find((p) => p.name === lib);
    if (peer === undefined) throw new Error(`unknown lib ${lib}`);
    run = peer.cases(w!).find((c) => c.op === op)!.run;
  }
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) keep(run());
    n += 1000;
  }
  process.stdout.write(`${n} ops, ${(((performance.now() - t0) * 1e6) / n).toFixed(0)} ns/op (wall, under the profiler)\n`);
}

function parent(): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(genDir, { recursive: true });
  const cli = join(benchDir, "node_modules/@sgwire/codegen/bin/sgwire.js");
  execFileSync(process.execPath, [cli, "compile", "--target", "js", "--out", genDir, "-I", join(benchDir, "schemas"), join(benchDir, "schemas/bench.proto")], { stdio: "inherit" });
  const out = execFileSync(
    process.execPath,
    ["--cpu-prof", "--cpu-prof-dir", outDir, "--import", "tsx", fileURLToPath(import.meta.url), id, lib, op, "--seconds", String(seconds)],
    { env: { ...process.env, SGW_PROFILE_CHILD: "1" }, encoding: "utf8", cwd: benchDir },
  );
  const file = readdirSync(outDir).find((f) => f.endsWith(".cpuprofile"))!;
  process.stdout.write(`${lib} ${op} on ${w!.label}: ${out}profile: ${join(outDir, file)}\n\n`);
  const rows = summarize(join(outDir, file)).slice(0, 25);
  process.stdout.write("self%   total%  function  (where)\n");
  for (const r of rows) {
    process.stdout.write(`${(r.selfShare * 100).toFixed(1).padStart(5)}  ${(r.totalShare * 100).toFixed(1).padStart(6)}   ${r.fn}  (${r.where})\n`);
  }
}

if (process.env.SGW_PROFILE_CHILD === "1") await child();
else parent();
