import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Entry } from "./generated/small.sg.js";

/**
 * The README's "short tour" states what encode() copies and references; its Entry has the same
 * fields as small.Entry here (expires_at, absent, writes nothing). Its figures must be what runs.
 */
describe("README tour", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

  it("encode() of the tour's message copies 13 bytes and references the 64 KiB value, as the README says", () => {
    const value = new Uint8Array(64 * 1024);
    const msg = { key: "user:42", value, flags: 0 };
    const list = Entry.encode(msg);
    assert.equal(list.segments.length, 2);
    assert.equal(list.segments[1], value);
    assert.match(readme, new RegExp(`list\\.bytesCopied;\\s+// ${list.bytesCopied}:`));
    assert.match(readme, new RegExp(`list\\.bytesReferenced; // ${list.bytesReferenced}:`));
    const bytes = Entry.toBinary(msg);
    assert.equal(bytes.buffer.byteLength, bytes.length);
    assert.equal(Entry.fromBinary(bytes).value.buffer, bytes.buffer);
  });
});
