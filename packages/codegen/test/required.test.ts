import assert from "node:assert/strict";
import { DecodeError, EncodeError } from "@sgwire/core";
import { Legacy } from "./generated/legacy.sg.js";
import { Item } from "./generated/editions.sg.js";

/** proto2 `required` (and editions' LEGACY_REQUIRED): presence kept, checked both ways. */

const b = (...x: number[]) => Uint8Array.from(x);
const legacy = (over: Partial<Legacy>): Legacy => ({ ...Legacy.create(), ...over });

describe("required fields", () => {
  it("decoding a message without a required field is a DecodeError naming it", () => {
    // name = "x" only: no id
    assert.throws(() => Legacy.fromBinary(b(0x12, 0x01, 0x78)), (e: unknown) => e instanceof DecodeError && /cannot decode legacy\.Legacy: missing required field legacy\.Legacy\.id/.test(e.message));
    assert.throws(() => Legacy.fromBinary(new Uint8Array(0)), /missing required field legacy\.Legacy\.id/);
    assert.throws(() => Item.fromBinary(b(0x12, 0x01, 0x61)), /missing required field ed\.Item\.legacy_required/);
  });

  it("a nested message without its required field fails the decode too", () => {
    const child = [0x7a, 0x02, 0x12, 0x00]; // child (15) = { name: "" }: no id
    assert.throws(() => Legacy.fromBinary(b(0x08, 0x01, ...child)), /missing required field legacy\.Legacy\.id/);
    const m = Legacy.fromBinary(b(0x08, 0x01, 0x7a, 0x02, 0x08, 0x02));
    assert.equal(m.child?.id, 2);
  });

  it("allowPartial accepts it and keeps presence: the field stays absent, nothing is added on the way out", () => {
    const m = Legacy.fromBinary(b(0x12, 0x01, 0x78), { allowPartial: true });
    assert.equal(m.id, undefined);
    assert.equal(m.name, "x");
    // encoding needs every required field, as protobuf's Serialize does: no invented id = 0
    assert.throws(() => Legacy.toBinary(m), (e: unknown) => e instanceof EncodeError && e.message === "legacy.Legacy.id: required field is not set");
    assert.deepEqual([...Legacy.toBinary({ ...m, id: 0 })], [0x08, 0x00, 0x12, 0x01, 0x78]);
  });

  it("a field seen twice, or set to zero, is present", () => {
    assert.equal(Legacy.fromBinary(b(0x08, 0x00)).id, 0);
    assert.equal(Legacy.fromBinary(b(0x08, 0x05, 0x08, 0x07)).id, 7);
  });

  it("create() leaves required fields unset, so encoding a created message checks them", () => {
    const m = Legacy.create();
    assert.ok(!("id" in m));
    assert.throws(() => Legacy.toBinary(m), /legacy\.Legacy\.id: required field is not set/);
    assert.throws(() => Legacy.toBinary(legacy({ id: 1, child: Legacy.create() })), /legacy\.Legacy\.child\.id: required field is not set/);
    assert.deepEqual([...Legacy.toBinary(Legacy.create({ id: 3 }))], [0x08, 0x03]);
  });
});
