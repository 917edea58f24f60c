/**
 * What decoding strings on first access could gain, measured: the mixed suite's profile message
 * decoded by sgwire as it is (strings built at decode), by the same schema with every string field
 * declared as bytes (schemas/experiments/views.proto: the same wire bytes, each string left as a
 * view of the input, which is what a lazy decode would do before any field is read), and by
 * protobufjs, interleaved in one process. Prints the ratios to protobufjs (median of 25 rounds).
 *
 *   cd bench && ./node_modules/.bin/tsx src/experiments/strings-as-views.ts
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { MessageType } from "@sgwire/core";
import { QUICK_GRID, workloads } from "../shapes.js";
import { protobufjsPeer } from "../peers/protobufjs.js";
import { received } from "../peers/peer.js";
import { sgwireCodec } from "../peers/sgwire.js";

const benchDir = fileURLToPath(new URL("../..", import.meta.url));
const genDir = join(benchDir, "results/tmp/views");
mkdirSync(genDir, { recursive: true });
const cli = join(benchDir, "node_modules/@sgwire/codegen/bin/sgwire.js");
execFileSync(process.execPath, [cli, "compile", "--target", "js", "--out", genDir, "-I", join(benchDir, "schemas/experiments"), "views.proto"], { cwd: join(benchDir, "schemas/experiments"), stdio: "ignore" });
const views = (await import(pathToFileURL(join(genDir, "views.sg.js")).href)) as Record<string, MessageType<object>>;

const w = workloads(QUICK_GRID, new Set(["mixed"])).find((x) => x.id === "mixed/profile")!;
const input = received(sgwireCodec("Profile").toBinary(w.message));
const cases: [string, () => unknown][] = [
  ["sgwire, strings decoded", () => sgwireCodec("Profile").fromBinary(input)],
  ["sgwire, strings left as views", () => views.Profile!.fromBinary(input)],
  ["protobufjs", protobufjsPeer.cases(w).find((c) => c.op === "decode")!.run],
];

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
function time(f: () => unknown, ms: number): number {
  let n = 0;
  const t0 = cpuNs();
  let t = t0;
  while (t - t0 < ms * 1e6) {
    for (let i = 0; i < 200; i++) f();
    n += 200;
    t = cpuNs();
  }
  return (t - t0) / n;
}
for (let i = 0; i < 5; i++) for (const [, f] of cases) time(f, 10);
const ratios = cases.map((): number[] => []);
for (let i = 0; i < 25; i++) {
  const ns = cases.map(([, f]) => time(f, 8));
  ns.forEach((x, k) => ratios[k]!.push(ns[2]! / x));
}
console.log(`${w.label}, decode, protobufjs time over each (median of 25 interleaved rounds, quartiles):`);
cases.forEach(([name], k) => {
  const r = ratios[k]!.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(32)} ${r[12]!.toFixed(2)}x (${r[6]!.toFixed(2)}-${r[18]!.toFixed(2)})`);
});
