/**
 * Where the time of one DPDK net_null send goes: the `sgwire`, `codec send` or `send only` row of
 * bench/nic-bench.ts (Record {uint64 id, string key of 16 characters, bytes value in registered
 * memory}), run alone in a child `node --cpu-prof`, then the functions with the most self time
 * and the share of each layer (the generated encoder, @sgwire/core, the port's JavaScript, the
 * native addon and DPDK, the garbage collector).
 *
 *   node --import tsx bench/nic-profile.ts [sgwire|codec-send|send-only] [--seconds 4] [--value 1024]
 *
 * Needs root and the built workspace with DPDK (scripts/setup-system.sh: hugepages). The codec is
 * compiled to plain JavaScript first, so the profile names the generated functions as they run.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SgList, type MessageType } from "../packages/core/dist/index.js";
import { openPort } from "../packages/nic/dist/index.js";
import { summarize, type FunctionTime } from "./src/cpuprofile.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const outDir = join(here, "results", "tmp", "nic-profile");
const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1]! : dflt;
};
const SECONDS = Number(opt("seconds", "4"));
const VALUE = Number(opt("value", "1024"));
const child = args.includes("--child");
const MODES = ["sgwire", "codec-send", "send-only"] as const;
type Mode = (typeof MODES)[number];
const mode = (args.find((a) => !a.startsWith("--")) ?? "sgwire") as Mode;
if (!MODES.includes(mode)) throw new Error(`nic-profile: mode must be one of ${MODES.join(", ")}, got ${mode}`);

interface Rec {
  id: bigint;
  key: string;
  value: Uint8Array;
}

async function runChild(): Promise<void> {
  const { Record } = (await import(pathToFileURL(join(outDir, "gen", "nic-record.sg.js")).href)) as { Record: MessageType<Rec> };
  const port = await openPort({ backend: "dpdk", vdev: "net_null0", peers: { "198.18.0.2": "02:53:47:00:00:02" } });
  const dest = { address: "198.18.0.2", port: 9000 };
  const value = port.allocate(VALUE).bytes;
  for (let i = 0; i < value.length; i++) value[i] = i * 7;
  const msg: Rec = { id: 0n, key: "user:0000000042k", value };
  const list = new SgList(64);
  const opts = { ...port.policy, copyThreshold: Math.min(port.policy.copyThreshold, VALUE), into: list };
  const send = { codec: Record, message: msg };
  Record.encode(msg, opts);
  const step =
    mode === "sgwire"
      ? (i: number) => {
          msg.id = BigInt(i + 1);
          return port.send(Record.encode(msg, opts), dest);
        }
      : mode === "codec-send"
        ? (i: number) => {
            msg.id = BigInt(i + 1);
            return port.send(send, dest);
          }
        : () => port.send(list, dest);
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  while (Date.now() < end) {
    for (let k = 0; k < 1024; k++) if (!step(n++)) await port.drained();
  }
  await port.completions();
  await port.close();
  console.log(`${mode}: ${n} messages in ${SECONDS} s`);
}

/** The layer a function belongs to, from where it is defined. */
function layer(f: FunctionTime): string {
  if (f.fn === "(garbage collector)") return "garbage collector";
  // V8 counts a native call's time as its JavaScript caller's self time: flush() calls txBurst
  if (f.fn === "flush" && f.where.includes("dpdk-port")) return "native: txBurst (addon + DPDK), as flush's self time";
  if (f.fn === "ensureEal" || f.where.startsWith("node:internal/modules")) return "start-up (EAL, module loading)";
  if (f.where.includes("nic-profile.ts")) return "the loop (a BigInt id per message)";
  if (f.fn === "(program)" || f.fn === "(idle)") return "V8 and Node internals";
  if (f.where.includes("nic-record.sg.js")) return "generated encoder";
  if (f.where.includes("packages/core/")) return "@sgwire/core (SgList, varints, strings)";
  if (f.where.includes("packages/nic/")) return "the port's JavaScript";
  if (f.where === "" || f.where.startsWith("native") || f.where.startsWith(":")) return "native: addon + DPDK, and builtins";
  return "other";
}

function runParent(): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, "gen"), { recursive: true });
  const gen = spawnSync(process.execPath, [join(root, "packages", "codegen", "bin", "sgwire.js"), "compile", "--target", "js", "--out", join(outDir, "gen"), "-I", here, join(here, "nic-record.proto")], { encoding: "utf8" });
  if (gen.status !== 0) throw new Error(`sgwire compile failed: ${gen.stderr}`);
  const profDir = join(outDir, "prof");
  const r = spawnSync(
    process.execPath,
    ["--cpu-prof", "--cpu-prof-dir", profDir, "--import", "tsx", fileURLToPath(import.meta.url), mode, "--child", "--seconds", String(SECONDS), "--value", String(VALUE)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  if (r.status !== 0) throw new Error(`nic-profile: the profiled run failed (exit ${r.status})`);
  process.stdout.write(r.stdout);
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (file === undefined) throw new Error(`nic-profile: no .cpuprofile written in ${profDir}`);
  const fns = summarize(join(profDir, file));
  const shares = new Map<string, number>();
  for (const f of fns) shares.set(layer(f), (shares.get(layer(f)) ?? 0) + f.selfShare);
  console.log(`\nself time by layer (dpdk net_null, ${mode}, value ${VALUE} B; includes start-up and warm-up):`);
  for (const [k, v] of [...shares].sort((a, b) => b[1] - a[1])) console.log(`  ${(v * 100).toFixed(1).padStart(5)}%  ${k}`);
  console.log("\nfunctions with the most self time:");
  for (const f of fns.slice(0, 18)) {
    const w = f.where.replace(root + "/", "").replace(/^file:\/\//, "").replace(root + "/", "");
    console.log(`  ${(f.selfShare * 100).toFixed(1).padStart(5)}%  ${f.fn || "(anonymous)"}  ${w}`);
  }
  console.log(`\nprofile: ${join(profDir, file)} (open it in Chrome DevTools > Performance)`);
}

if (child) await runChild();
else runParent();
