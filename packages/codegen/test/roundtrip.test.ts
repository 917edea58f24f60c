import assert from "node:assert/strict";
import fc from "fast-check";
import type protobuf from "protobufjs";
import type { MessageType } from "@sgwire/core";
import { Everything, Scalars, Everything_Nested } from "./generated/everything.sg.js";
import { Legacy } from "./generated/legacy.sg.js";
import { Item } from "./generated/editions.sg.js";
import { Entry } from "./generated/small.sg.js";
import { Common } from "./generated/common.sg.js";
import { Object$, Reader as ReaderMsg, Encoder as EncoderMsg } from "./generated/names.sg.js";
import { loadRoot, messageArb, toPbjs, decoded } from "./oracle.js";

const root = loadRoot("everything.proto", "legacy.proto", "editions.proto", "small.proto", "names.proto");

const cases: [string, MessageType<any>][] = [
  ["sgtest.Everything", Everything],
  ["sgtest.Scalars", Scalars],
  ["sgtest.Everything.Nested", Everything_Nested],
  ["common.Common", Common],
  ["legacy.Legacy", Legacy],
  ["ed.Item", Item],
  ["small.Entry", Entry],
  // names that shadow JavaScript globals and @sgwire/core imports
  ["names.Object", Object$],
  ["names.Reader", ReaderMsg],
  ["names.Encoder", EncoderMsg],
];

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");

for (const [name, codec] of cases) {
  describe(`generated codec ${name} against protobufjs`, () => {
    const type = root.lookupType(name) as protobuf.Type;
    const arb = messageArb(type);

    it("writes byte-identical output (toBinary, and encode's segments concatenated)", () => {
      fc.assert(
        fc.property(arb, (m) => {
          const want = type.encode(type.fromObject(toPbjs(m, type))).finish();
          const flat = codec.toBinary(m);
          assert.equal(hex(flat), hex(want));
          assert.equal(codec.encodedSize(m), want.length);
          for (const copyThreshold of [0, 64, 512, Infinity]) {
            const list = codec.encode(m, { copyThreshold });
            assert.equal(list.byteLength, want.length);
            assert.equal(hex(list.toBinary()), hex(want));
            assert.equal(list.bytesCopied + list.bytesReferenced, list.byteLength);
          }
          const capped = codec.encode(m, { copyThreshold: 0, maxSegments: 3 });
          assert.ok(capped.segments.length <= 3);
          assert.equal(hex(capped.toBinary()), hex(want));
        }),
        { numRuns: 150 },
      );
    });

    it("decodes its own output and protobufjs's to the same message", () => {
      fc.assert(
        fc.property(arb, (m) => {
          const bytes = codec.toBinary(m);
          const want = decoded(m, type);
          assert.deepStrictEqual({ ...codec.fromBinary(bytes) }, want);
          // protobufjs returns a Buffer; sgwire's views would be Buffers too, so compare on a plain copy
          const theirs = Uint8Array.from(type.encode(type.fromObject(toPbjs(m, type))).finish());
          assert.deepStrictEqual({ ...codec.fromBinary(theirs) }, want);
        }),
        { numRuns: 150 },
      );
    });
  });
}

describe("unknown fields", () => {
  it("keeps fields a schema does not know and writes them back out", () => {
    // Common's bytes read as small.Entry: fields 1 and 2 have the same types in both, but field 3
    // is packed uint64s (LEN) in Common and a uint32 (VARINT) in Entry: a mismatch is unknown
    const full = Common.toBinary({ id: "k", blob: new Uint8Array([1, 2, 3]), values: [5n, 6n] });
    const e = Entry.fromBinary(full);
    assert.equal(e.key, "k");
    assert.deepEqual([...e.value], [1, 2, 3]);
    assert.equal(e.flags, 0);
    assert.equal(e.$unknown?.length, 1);
    assert.equal(e.$unknown![0]!.buffer, full.buffer, "unknown fields are views of the input");
    // written after the known fields, in the order they arrived: here identical to the input
    assert.equal(hex(Entry.toBinary(e)), hex(full));
    const list = Entry.encode(e, { copyThreshold: 0 });
    assert.equal(hex(list.toBinary()), hex(full));
  });

  it("keeps unknown values of closed enums as unknown fields", () => {
    // legacy.Legacy.kind (field 3) is a closed enum with values 1 and 2; 7 is unknown
    const bytes = Uint8Array.of(0x08, 0x01, 0x18, 0x07, 0x18, 0x02, 0x72, 0x02, 0x07, 0x01);
    const m = Legacy.fromBinary(bytes);
    assert.equal(m.kind, 2);
    assert.deepEqual(m.kinds, [1], "packed kinds: 7 dropped from the list, 1 kept");
    assert.equal(m.$unknown?.length, 2);
    assert.deepEqual([...m.$unknown![0]!], [0x18, 0x07]);
    assert.deepEqual([...m.$unknown![1]!], [0x70, 0x07], "re-encoded as an unpacked varint field 14");
  });
});

describe("merging and last-one-wins", () => {
  it("merges repeated occurrences of a message field and keeps the last scalar", () => {
    const a = Everything.toBinary({ ...Everything.create(), nested: { a: 1, payload: new Uint8Array([1]) }, field2000: 1 });
    const b = Everything.toBinary({ ...Everything.create(), nested: { a: 0, payload: new Uint8Array(0), child: { a: 5, payload: new Uint8Array(0) } }, field2000: 2 });
    const both = new Uint8Array([...a, ...b]);
    const m = Everything.fromBinary(both);
    assert.equal(m.field2000, 2);
    assert.equal(m.nested?.a, 1, "merged, not replaced");
    assert.equal(m.nested?.child?.a, 5);
  });

  it("accepts packed and unpacked encodings of the same repeated field", () => {
    // rInt32 = 5 is packed in proto3; send it unpacked, then packed
    const bytes = Uint8Array.of(0x28, 0x01, 0x28, 0x02, 0x2a, 0x02, 0x03, 0x04);
    assert.deepEqual(Everything.fromBinary(bytes).rInt32, [1, 2, 3, 4]);
    // plainInts = 5 is unpacked in Legacy: a packed run is accepted too
    const legacy = Uint8Array.of(0x08, 0x01, 0x2a, 0x02, 0x03, 0x04);
    assert.deepEqual(Legacy.fromBinary(legacy).plainInts, [3, 4]);
  });
});
