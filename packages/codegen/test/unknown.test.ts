import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Scalars } from "./generated/everything.sg.js";

/** Unknown fields are kept as views of the input, a run of adjacent ones as one view. */

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** `n` unknown varint fields (field 1000, value 1): 3 bytes each. */
function unknowns(n: number): Uint8Array {
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) out.set([0xc0, 0x3e, 0x01], 3 * i);
  return out;
}

describe("unknown fields", () => {
  it("keeps a run of adjacent unknown fields as one view of the input, written back byte for byte", () => {
    const input = unknowns(50);
    const m = Scalars.fromBinary(input);
    assert.equal(m.$unknown?.length, 1);
    assert.equal(m.$unknown![0]!.buffer, input.buffer);
    assert.deepEqual([...Scalars.toBinary(m)], [...input]);
  });

  it("a known field between two runs splits them; the order on the way out is the schema's, then the unknown runs", () => {
    const input = Uint8Array.from([...unknowns(2), 0x18, 0x05, ...unknowns(3)]); // f_int32 = 5 between
    const m = Scalars.fromBinary(input);
    assert.equal(m.fInt32, 5);
    assert.deepEqual(m.$unknown!.map((u) => u.length), [6, 9]);
    assert.deepEqual([...Scalars.toBinary(m)], [0x18, 0x05, ...unknowns(5)]);
  });

  it("groups and length-delimited unknown fields join the run too", () => {
    const input = Uint8Array.from([0xc3, 0x3e, 0x08, 0x01, 0xc4, 0x3e, 0xc2, 0x3e, 0x02, 0x61, 0x62, 0xc0, 0x3e, 0x07]);
    const m = Scalars.fromBinary(input);
    assert.equal(m.$unknown?.length, 1);
    assert.deepEqual([...Scalars.toBinary(m)], [...input]);
  });

  it("the heap a decoded message keeps for 8 MiB of unknown fields is a small fraction of the input", () => {
    const input = unknowns(Math.floor((8 << 20) / 3));
    gc();
    const before = process.memoryUsage().heapUsed;
    const m = Scalars.fromBinary(input);
    gc();
    const kept = process.memoryUsage().heapUsed - before;
    assert.equal(m.$unknown?.length, 1);
    // one view and one array, whatever the count (the bytes stay in the input's own memory)
    assert.ok(kept < input.length / 16, `kept ${kept} B of heap for ${input.length} B of unknown fields`);
  });
});

describe("heap kept by a decoded message", () => {
  it("a million empty bytes values keep 8 bytes each (one shared empty array), not a view each", async () => {
    const { Everything } = await import("./generated/everything.sg.js");
    const n = 1 << 20;
    const input = new Uint8Array(2 * n);
    for (let i = 0; i < n; i++) input[2 * i] = 0x5a; // r_bytes (11), length 0
    gc();
    const before = process.memoryUsage().heapUsed;
    const m = Everything.fromBinary(input);
    gc();
    const kept = process.memoryUsage().heapUsed - before;
    assert.equal(m.rBytes.length, n);
    assert.ok(kept < 8 * input.length, `kept ${kept} B for ${input.length} B of input`);
    // still encodes, and to the same bytes
    assert.equal(Everything.encodedSize(m), input.length);
  });
});

describe("decoded maps", () => {
  it("answer an absent key with undefined, never an inherited value", async () => {
    const { Everything } = await import("./generated/everything.sg.js");
    const m = Everything.fromBinary(Everything.toBinary({ ...Everything.create(), mStringInt32: { a: 1 } }));
    const map = m.mStringInt32;
    for (const k of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) assert.equal(map[k], undefined, k);
    assert.equal(map.a, 1);
    assert.equal(Object.getPrototypeOf(Everything.create().mInt32String), null);
    // __proto__ is an ordinary key of a decoded map
    const p = Everything.fromBinary(Everything.toBinary({ ...Everything.create(), mStringInt32: JSON.parse('{"__proto__": 5}') }));
    assert.equal(p.mStringInt32["__proto__"], 5);
    assert.deepEqual(Object.keys(p.mStringInt32), ["__proto__"]);
  });
});
