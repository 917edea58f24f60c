import assert from "node:assert/strict";
import { Legacy, Kind } from "./generated/legacy.sg.js";
import { Scalars } from "./generated/everything.sg.js";
import { Item } from "./generated/editions.sg.js";

describe("defaults and presence", () => {
  it("exposes proto2 declared defaults on the codec", () => {
    assert.equal(Legacy.defaults.name, "anon");
    assert.equal(Legacy.defaults.kind, Kind.KIND_B);
    assert.equal(Legacy.defaults.ratio, 1.5);
    assert.equal(Legacy.defaults.big, -5n);
    assert.deepEqual(Legacy.defaults.raw, Uint8Array.of(0x61, 0x62, 0x01));
    assert.ok(Object.isFrozen(Legacy.defaults));
  });

  it("leaves absent fields with presence undefined, so presence is observable", () => {
    const m = Legacy.fromBinary(Legacy.toBinary({ id: 1, packedInts: [], plainInts: [], entry: [], kinds: [] }));
    assert.equal(m.name, undefined);
    assert.equal(m.name ?? Legacy.defaults.name, "anon");
    // a field set to its default is still present and written
    const withDefault = Legacy.toBinary({ id: 1, name: "anon", packedInts: [], plainInts: [], entry: [], kinds: [] });
    assert.equal(Legacy.fromBinary(withDefault).name, "anon");
  });

  it("uses zero values for proto3 and editions implicit fields", () => {
    assert.deepEqual(Scalars.defaults.fInt64, 0n);
    assert.equal(Scalars.defaults.fString, "");
    assert.equal(Item.defaults.name, "");
    assert.deepEqual(Scalars.create().fBytes, new Uint8Array(0));
  });

  it("create() fills implicit fields and leaves presence fields out", () => {
    const m = Legacy.create({ id: 7 });
    assert.deepEqual(Object.keys(m).sort(), ["entry", "id", "kinds", "packedInts", "plainInts"]);
    assert.equal(m.id, 7);
  });
});
