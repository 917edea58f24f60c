/**
 * Encode and decode of one message with a bytes field of 64 B to 1 MiB: sgwire `encode`
 * (segments), sgwire `toBinary` (one buffer) and `fromBinary`, against protobufjs
 * `encode().finish()` and `decode()`, measured in the same run. Prints ns/op and the ratio.
 *
 *   pnpm --filter @sgwire/bench run bench:bytes [--quick] [--json FILE]
 *
 * With --json, every figure goes to FILE with the command, date and revision (results/bytes-field.json
 * is the one the top README shows: scripts/figures.ts).
 */
import protobuf from "protobufjs";
import { SgList } from "@sgwire/core";
import { Blob } from "./generated/bench.sg.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { measure, keep } from "./harness.js";
import { gitRevision } from "./machine.js";
import { bytesFieldReport, type BytesFieldFile } from "./report/bytes-field-report.js";

const argv = process.argv.slice(2);
for (const [i, a] of argv.entries()) {
  if (a !== "--quick" && a !== "--json" && argv[i - 1] !== "--json") throw new Error(`bytes-field: unknown option ${a} (--quick, --json FILE)`);
}
const quick = argv.includes("--quick");
const jsonAt = argv.indexOf("--json");
const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
if (jsonAt >= 0 && jsonFile === undefined) throw new Error("bytes-field: --json needs a file");
const started = new Date();
const root = new protobuf.Root();
root.loadSync(new URL("../schemas/bench.proto", import.meta.url).pathname);
const PbBlob = root.lookupType("bench.Blob");

const sizes = [64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20];
const results: BytesFieldFile["results"] = [];
for (const size of sizes) {
  const key = new Uint8Array(16).fill(0x6b);
  const value = new Uint8Array(size).fill(0x61);
  const msg = { id: 42, key, value };
  const pbMsg = PbBlob.fromObject(msg);
  const list = new SgList();
  const wire = Blob.toBinary(msg);
  const pbWire = PbBlob.encode(pbMsg).finish();
  if (Buffer.compare(Buffer.from(wire), Buffer.from(pbWire)) !== 0) throw new Error("outputs differ");
  const enc = Blob.encode(msg, { into: list });
  const m = measure(
    [
      { name: "sgwire encode", run: () => Blob.encode(msg, { into: list }) },
      { name: "sgwire toBinary", run: () => Blob.toBinary(msg) },
      { name: "protobufjs encode", run: () => PbBlob.encode(pbMsg).finish() },
      { name: "sgwire fromBinary", run: () => Blob.fromBinary(wire) },
      { name: "protobufjs decode", run: () => PbBlob.decode(pbWire) },
    ],
    quick ? { reps: 3, batchMs: 10, warmupMs: 30 } : {},
  );
  results.push({ size, bytesCopied: enc.bytesCopied, segments: enc.segments.length, ...Object.fromEntries(m.map((x) => [x.name, { ns: x.ns, min: x.min, max: x.max }])) } as BytesFieldFile["results"][number]);
  keep(enc);
}
const file: BytesFieldFile = {
  command: ["tsx src/bytes-field.ts", ...argv].join(" "),
  revision: gitRevision(fileURLToPath(new URL("../../", import.meta.url))),
  date: started.toISOString(),
  node: process.version,
  reps: quick ? 3 : 7,
  results,
};
console.log(bytesFieldReport(file));
if (jsonFile !== undefined) {
  mkdirSync(dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify(file, null, 1) + "\n");
  console.error(`wrote ${join(jsonFile)}`);
}
