/**
 * Encode and decode of one message with a bytes field of 64 B to 1 MiB: sgwire `encode`
 * (segments), sgwire `toBinary` (one buffer) and `fromBinary`, against protobufjs
 * `encode().finish()` and `decode()`, measured in the same run. Prints ns/op and the ratio.
 *
 *   pnpm --filter @sgwire/bench run bench:bytes [--quick]
 */
import protobuf from "protobufjs";
import { SgList } from "@sgwire/core";
import { Blob } from "./generated/bench.sg.js";
import { measure, fmtNs, fmtBytes, table, keep } from "./harness.js";

const quick = process.argv.includes("--quick");
const root = new protobuf.Root();
root.loadSync(new URL("../schemas/bench.proto", import.meta.url).pathname);
const PbBlob = root.lookupType("bench.Blob");

const sizes = [64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20];
const rows: string[][] = [];
const results: Record<string, unknown>[] = [];
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
  const [sgEnc, sgFlat, pbEnc, sgDec, pbDec] = m as [typeof m[0], typeof m[0], typeof m[0], typeof m[0], typeof m[0]];
  rows.push([
    fmtBytes(size),
    fmtNs(sgEnc.ns), fmtNs(sgFlat.ns), fmtNs(pbEnc.ns), `${(pbEnc.ns / sgEnc.ns).toFixed(1)}x`,
    fmtNs(sgDec.ns), fmtNs(pbDec.ns), `${(pbDec.ns / sgDec.ns).toFixed(2)}x`,
    `${enc.bytesCopied} B`,
  ]);
  results.push({ size, bytesCopied: enc.bytesCopied, segments: enc.segments.length, ...Object.fromEntries(m.map((x) => [x.name, { ns: x.ns, min: x.min, max: x.max }])) });
  keep(enc);
}
console.log(`Blob { uint32 id; bytes key (16 B); bytes value } on Node ${process.version}, median of ${quick ? 3 : 7} interleaved repetitions\n`);
console.log(table(
  ["value", "sg encode", "sg toBinary", "pbjs encode", "encode x", "sg decode", "pbjs decode", "decode x", "copied/msg"],
  rows,
));
console.log("\nencode x = protobufjs encode / sgwire encode; decode x = protobufjs decode / sgwire fromBinary");
if (process.argv.includes("--json")) console.log(JSON.stringify(results, null, 2));
