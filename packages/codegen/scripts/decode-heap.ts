/**
 * Heap a decoded message keeps, per shape of hostile input (a million tiny fields), as a
 * multiple of the input's size. One shape per process, so nothing of another run is counted:
 *
 *   for s in unknown empty-bytes empty-messages sint64 int32; do npx tsx scripts/decode-heap.ts $s; done
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Everything, Scalars } from "../test/generated/everything.sg.js";
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const rep = (one: number[], n: number) => { const out = new Uint8Array(one.length * n); for (let i = 0; i < n; i++) out.set(one, i * one.length); return out; };
const N = 1 << 20;
const shapes: Record<string, [Uint8Array, (b: Uint8Array) => unknown]> = {
  "unknown": [rep([0xc0, 0x3e, 0x01], N), (b) => Scalars.fromBinary(b)],
  "empty-bytes": [rep([0x5a, 0], N), (b) => Everything.fromBinary(b)],
  "empty-messages": [rep([0x62, 0], N), (b) => Everything.fromBinary(b)],
  "sint64": [rep([0x30, 1], N), (b) => Everything.fromBinary(b)],
  "int32": [rep([0x28, 1], N), (b) => Everything.fromBinary(b)],
};
const shape = shapes[process.argv[2] ?? ""];
if (shape === undefined) throw new Error(`usage: decode-heap.ts ${Object.keys(shapes).join("|")}`);
const [input, decode] = shape;
gc(); const before = process.memoryUsage().heapUsed;
const m = decode(input);
gc(); const kept = process.memoryUsage().heapUsed - before;
console.log(`${process.argv[2]}: ${input.length} B in, ${kept} B of heap kept, ${(kept / input.length).toFixed(1)}x (${typeof m})`);
