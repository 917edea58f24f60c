/**
 * Profiles one library on one workload, to see where the time goes.
 *
 *   pnpm --filter @sgwire/bench run profile <workload-id> [lib] [encode|decode] [--seconds S] [--save NAME]
 *   e.g. profile strings "sgwire encode" encode
 *   pnpm --filter @sgwire/bench run profiles   (the mixed suite's worst cases, into results/profiles/)
 *
 * lib: "sgwire encode" (into a reused list), "sgwire encode (fresh)", "sgwire toBinary",
 * "sgwire fromBinary", or a peer's name. `--save NAME` also writes the summary to
 * results/profiles/NAME.txt with the command, revision and machine it came from.
 *
 * The sgwire codecs are compiled to plain JavaScript first (`sgwire compile --target js` into
 * bench/results/tmp/profile/), so the profile names the functions as they run. The loop runs in
 * a child `node --cpu-prof`; the parent prints the functions with the most self time.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
import { gitRevision, machineInfo } from "./machine.js";

const benchDir = fileURLToPath(new URL("..", import.meta.url));
const outDir = join(benchDir, "results/tmp/profile");
const genDir = join(outDir, "gen");

const args = process.argv.slice(2);
const secondsAt = args.indexOf("--seconds");
const seconds = secondsAt >= 0 ? Number(args.splice(secondsAt, 2)[1]) : 4;
const saveAt = args.indexOf("--save");
const save = saveAt >= 0 ? args.splice(saveAt, 2)[1] : undefined;
const worst = args[0] === "--worst";
if (worst) args.shift();
const [id = "strings", lib = "sgwire encode", op = lib.includes("fromBinary") ? "decode" : "encode"] = args;

const all = [...workloads(FULL_GRID), ...workloads(QUICK_GRID)];
const w = all.find((x) => x.id === id);
if (w === undefined && !worst) throw new Error(`no workload ${id}; known: ${[...new Set(all.map((x) => x.id))].join(" ")}`);

async function sgwireRun(): Promise<() => unknown> {
  const mod = (await import(pathToFileURL(join(genDir, "bench.sg.js")).href)) as Record<string, MessageType<object>>;
  const codec = mod[w!.type]!;
  const msg = w!.message;
  if (lib === "sgwire encode") {
    const list = new SgList();
    return () => codec.encode(msg, { into: list });
  }
  if (lib === "sgwire encode (fresh)") return () => codec.encode(msg);
  if (lib === "sgwire toBinary") return () => codec.toBinary(msg);
  if (lib !== "sgwire fromBinary") throw new Error(`unknown lib ${lib}`);
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

/**
 * The mixed suite's cases furthest from their targets (bench/README.md's design targets say which),
 * sgwire's and protobufjs's side by side: the ~440 B profile message on every path, the batch's
 * decode and toBinary, the event's decode.
 */
const WORST: [id: string, lib: string, op: string, name: string][] = [
  ["mixed/profile", "sgwire fromBinary", "decode", "profile-decode-sgwire"],
  ["mixed/profile", "protobufjs", "decode", "profile-decode-protobufjs"],
  ["mixed/profile", "sgwire encode (fresh)", "encode", "profile-encode-fresh-sgwire"],
  ["mixed/profile", "sgwire toBinary", "encode", "profile-tobinary-sgwire"],
  ["mixed/profile", "sgwire encode", "encode", "profile-encode-reused-sgwire"],
  ["mixed/profile", "protobufjs", "encode", "profile-encode-protobufjs"],
  ["mixed/batch", "sgwire fromBinary", "decode", "batch-decode-sgwire"],
  ["mixed/batch", "protobufjs", "decode", "batch-decode-protobufjs"],
  ["mixed/batch", "sgwire toBinary", "encode", "batch-tobinary-sgwire"],
  ["mixed/batch", "protobufjs", "encode", "batch-encode-protobufjs"],
  ["mixed/event", "sgwire fromBinary", "decode", "event-decode-sgwire"],
  ["mixed/event", "protobufjs", "decode", "event-decode-protobufjs"],
];

function compile(): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(genDir, { recursive: true });
  const cli = join(benchDir, "node_modules/@sgwire/codegen/bin/sgwire.js");
  execFileSync(process.execPath, [cli, "compile", "--target", "js", "--out", genDir, "-I", join(benchDir, "schemas"), join(benchDir, "schemas/bench.proto")], { stdio: "inherit" });
}

function profileOne(id: string, lib: string, op: string, saveAs: string | undefined): void {
  for (const f of readdirSync(outDir)) if (f.endsWith(".cpuprofile")) rmSync(join(outDir, f));
  const out = execFileSync(
    process.execPath,
    ["--cpu-prof", "--cpu-prof-dir", outDir, "--import", "tsx", fileURLToPath(import.meta.url), id, lib, op, "--seconds", String(seconds)],
    { env: { ...process.env, SGW_PROFILE_CHILD: "1" }, encoding: "utf8", cwd: benchDir },
  );
  const file = readdirSync(outDir).find((f) => f.endsWith(".cpuprofile"))!;
  const label = all.find((x) => x.id === id)!.label;
  const lines = [`${lib} ${op} on ${label}: ${out.trim()}`, "", "self%   total%  function  (where)"];
  for (const r of summarize(join(outDir, file)).slice(0, 25)) {
    lines.push(`${(r.selfShare * 100).toFixed(1).padStart(5)}  ${(r.totalShare * 100).toFixed(1).padStart(6)}   ${r.fn}  (${r.where})`);
  }
  process.stdout.write(`${lines[0]}\nprofile: ${join(outDir, file)}\n${lines.slice(1).join("\n")}\n\n`);
  if (saveAs !== undefined) {
    const dir = join(benchDir, "results/profiles");
    mkdirSync(dir, { recursive: true });
    const m = machineInfo();
    const head = [
      `command: cd bench && ./node_modules/.bin/tsx src/profile.ts ${JSON.stringify(id)} ${JSON.stringify(lib)} ${op} --seconds ${seconds} --save ${saveAs}`,
      `revision ${gitRevision(join(benchDir, ".."))}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, Node ${m.node}, ${m.cpus} x ${m.cpuModel}`,
      "CPU profile (node --cpu-prof) of the operation in a loop; shares of all samples, the loop and the process's start included.",
      "",
    ];
    writeFileSync(join(dir, `${saveAs}.txt`), [...head, ...lines].join("\n") + "\n");
  }
}

function parent(): void {
  compile();
  if (worst) for (const [i, l, o, name] of WORST) profileOne(i, l, o, name);
  else profileOne(id, lib, op, save);
}

if (process.env.SGW_PROFILE_CHILD === "1") await child();
else parent();
