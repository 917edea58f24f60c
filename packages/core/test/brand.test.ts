import assert from "node:assert/strict";
import { SgList, isSgList } from "../src/sg/sg-list.js";

describe("isSgList (brand check across copies of @sgwire/core)", () => {
  it("is true for an SgList of a second copy of the module, where instanceof is false", async () => {
    // a query string makes Node load the module a second time: a second SgList class, as with two
    // installed copies of @sgwire/core
    const other = (await import(`../src/sg/sg-list.ts?copy=${Date.now()}`)) as typeof import("../src/sg/sg-list.js");
    assert.notEqual(other.SgList, SgList);
    const foreign = new other.SgList(16);
    assert.equal(foreign instanceof SgList, false);
    assert.equal(isSgList(foreign), true);
    assert.equal(other.isSgList(new SgList()), true);
  });

  it("is false for look-alikes and non-objects", () => {
    assert.equal(isSgList({ segments: [], byteLength: 0 }), false);
    assert.equal(isSgList(null), false);
    assert.equal(isSgList(undefined), false);
    assert.equal(isSgList("SgList"), false);
    assert.equal(isSgList(new Uint8Array(4)), false);
  });

  it("is true for a subclass instance and is not an own enumerable property", () => {
    class Sub extends SgList {}
    const s = new Sub();
    assert.equal(isSgList(s), true);
    assert.deepEqual(Object.getOwnPropertySymbols(s), []);
    assert.equal(Object.keys(s).some((k) => k.includes("sgwire")), false);
  });
});
