import assert from "node:assert/strict";
import { unknownVarint } from "@sgwire/core";
import { Legacy } from "./generated/legacy.sg.js";

// legacy.Legacy.kinds (field 14) is a repeated closed enum with values 1 and 2
describe("unknown values of packed closed enums", () => {
  it("are kept whole, high bits included, as protobuf C++ and upb keep them", () => {
    // a 10-byte varint whose low 32 bits (0x07c00001) are no Kind value and whose bit 63 is set
    const big = [0x81, 0x80, 0x80, 0xbe, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    const bytes = Uint8Array.of(0x08, 0x01, 0x72, 1 + big.length + 1, 0x01, ...big, 0x02);
    const m = Legacy.fromBinary(bytes);
    assert.deepEqual(m.kinds, [1, 2]);
    assert.deepEqual(m.$unknown?.map((u) => [...u]), [[0x70, ...big]]);
    assert.deepEqual([...Legacy.toBinary(m)].slice(-11), [0x70, ...big]);
  });

  it("keep negative int32 values as 10-byte varints", () => {
    const neg = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // -1
    const m = Legacy.fromBinary(Uint8Array.of(0x08, 0x01, 0x72, neg.length, ...neg));
    assert.deepEqual(m.kinds, []);
    assert.deepEqual(m.$unknown?.map((u) => [...u]), [[0x70, ...neg]]);
  });

  it("unknownVarint still takes a plain int32 (generated code of earlier versions)", () => {
    assert.deepEqual([...unknownVarint(14, 7)], [0x70, 0x07]);
    assert.deepEqual([...unknownVarint(14, -1)], [0x70, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.deepEqual([...unknownVarint(14, 0x07c00001, 0x80000000)], [0x70, 0x81, 0x80, 0x80, 0xbe, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  });
});
