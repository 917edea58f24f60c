/**
 * What decoding strings on first access could gain, measured: the mixed suite's profile message
 * decoded by sgwire as it is (strings built at decode), by the same schema with every string field
 * declared as bytes (schemas/experiments/views.proto: the same wire bytes, each string left as a
 * view of the input, which is what a lazy decode would do before any field is read), and by
 * protobufjs, interleaved in one process by the bench's harness. Prints the ratios to protobufjs.
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
import { measure, type Case } from "../harness.js";

const benchDir = fileURLToPath(new URL("../..", import.meta.url));
const genDir = join(benchDir, "results/tmp/views");
mkdirSync(genDir, { recursive: true });
const cli = join(benchDir, "node_modules/@sgwire/codegen/bin/sgwire.js");
execFileSync(process.execPath, [cli, "compile", "--target", "js", "--out", genDir, "-I", join(benchDir, "schemas/experiments"), "views.proto"], { cwd: join(benchDir, "schemas/experiments"), stdio: "ignore" });
const views = (await import(pathToFileURL(join(genDir, "views.sg.js")).href)) as Record<string, MessageType<object>>;

const w = workloads(QUICK_GRID, new Set(["mixed"])).find((x) => x.id === "mixed/profile")!;
const input = received(sgwireCodec("Profile").toBinary(w.message));
const cases: Case[] = [
  { name: "sgwire, strings decoded", run: () => sgwireCodec("Profile").fromBinary(input) },
  { name: "sgwire, strings left as views", run: () => views.Profile!.fromBinary(input) },
  { name: "protobufjs", run: protobufjsPeer.cases(w).find((c) => c.op === "decode")!.run },
];

// the bench's own harness: interleaved repetitions, process CPU time
const m = measure(cases, { reps: 25, batchMs: 8, warmupMs: 50, clock: "cpu" });
const pb = m[2]!;
console.log(`${w.label}, decode, protobufjs time over each (medians of 25 interleaved repetitions; in brackets, over each one's quartiles):`);
for (const x of m) {
  console.log(`  ${x.name.padEnd(32)} ${(pb.ns / x.ns).toFixed(2)}x (${(pb.ns / x.q3).toFixed(2)}-${(pb.ns / x.q1).toFixed(2)})`);
}
