import assert from "node:assert/strict";
import { SgList } from "@sgwire/core";
import { Entry } from "./generated/small.sg.js";
import { Everything } from "./generated/everything.sg.js";

describe("zero copy, proven", () => {
  it("a bytes field at or above the threshold is the caller's own memory in the segments", () => {
    const backing = new ArrayBuffer(1 << 20);
    const value = new Uint8Array(backing, 4096, 65536).fill(0xab);
    const list = Entry.encode({ key: "user:42", value, flags: 3 });
    const seg = list.segments.find((s) => s.length === value.length)!;
    assert.equal(seg, value, "the same Uint8Array object");
    assert.equal(seg.buffer, backing, "same ArrayBuffer");
    assert.equal(seg.byteOffset, 4096, "same offset");
    assert.equal(list.bytesReferenced, 65536);
    assert.equal(list.bytesCopied, list.byteLength - 65536);
    assert.ok(list.bytesCopied < 20, "only tags, lengths, the key and flags were copied");
    // and it is live: a write to the caller's memory shows in the list (which is why callers
    // must not mutate lent buffers until the send completes)
    value[0] = 1;
    assert.equal(seg[0], 1);
  });

  it("a bytes field below the threshold is copied into scratch", () => {
    const value = new Uint8Array(100).fill(7);
    const list = Entry.encode({ key: "k", value, flags: 0 });
    assert.equal(list.segments.length, 1);
    assert.ok(list.isScratch(0));
    assert.notEqual(list.segments[0]!.buffer, value.buffer);
    assert.equal(list.bytesReferenced, 0);
    value[0] = 9;
    assert.equal(list.segments[0]![list.segments[0]!.length - 100], 7, "the copy does not see later writes");
  });

  it("the threshold is per call: 0 references everything, Infinity nothing", () => {
    const value = new Uint8Array(10).fill(1);
    assert.equal(Entry.encode({ key: "k", value, flags: 0 }, { copyThreshold: 0 }).segments[1], value);
    const big = new Uint8Array(1 << 20);
    assert.equal(Entry.encode({ key: "k", value: big, flags: 0 }, { copyThreshold: Infinity }).referenceCount, 0);
  });

  it("k large fields give at most 2k+1 segments, nested or not", () => {
    const blobs = Array.from({ length: 5 }, (_, i) => new Uint8Array(1000 + i).fill(i));
    const m = Everything.create({
      rBytes: blobs.slice(0, 2),
      rNested: [{ a: 1, payload: blobs[2]! }],
      nested: { a: 2, payload: blobs[3]!, child: { a: 3, payload: blobs[4]! } },
    });
    const list = Everything.encode(m);
    assert.equal(list.referenceCount, 5);
    assert.ok(list.segments.length <= 11);
    for (const b of blobs) assert.ok(list.segments.includes(b));
    assert.deepEqual(list.toBinary(), Everything.toBinary(m));
  });

  it("fromBinary returns views of the input for bytes fields", () => {
    const value = new Uint8Array(5000).fill(3);
    const wire = Entry.toBinary({ key: "k", value, flags: 1 });
    const m = Entry.fromBinary(wire);
    assert.equal(m.value.buffer, wire.buffer);
    assert.deepEqual(new Uint8Array(wire.buffer, m.value.byteOffset, 5000), value);
    assert.equal(m.value.length, 5000);
    wire[wire.indexOf(3)] = 4;
    assert.equal(m.value[0], 4, "a view, not a copy");
  });

  it("useScratch: the next encode writes into the given memory when it fits, and allocates its own when not", () => {
    const mem = new Uint8Array(100);
    const list = new SgList();
    list.useScratch(mem.subarray(10));
    Entry.encode({ key: "in-place", value: new Uint8Array(4096), flags: 3 }, { into: list });
    assert.equal(list.scratch.buffer, mem.buffer);
    assert.equal(list.segments[0]!.buffer, mem.buffer, "the first run is a view of the given memory");
    assert.equal(list.segments[0]!.byteOffset, 10);
    assert.equal(Entry.fromBinary(list.toBinary()).key, "in-place");
    list.useScratch(mem.subarray(90));
    Entry.encode({ key: "x".repeat(50), value: new Uint8Array(0), flags: 3 }, { into: list });
    assert.notEqual(list.scratch.buffer, mem.buffer, "10 bytes were too few: scratch of its own");
    assert.equal(Entry.fromBinary(list.toBinary()).key, "x".repeat(50));
  });

  it("a reused SgList allocates no new scratch for a steady stream", () => {
    const value = new Uint8Array(4096);
    const first = Entry.encode({ key: "a", value, flags: 1 });
    // a fresh list whose few scratch bytes are split around references has no scratch buffer yet:
    // the first reuse makes one, and the stream after it allocates none
    Entry.encode({ key: "b", value, flags: 2 }, { into: first });
    const scratch = first.scratch;
    assert.ok(scratch.length > 0);
    for (let i = 0; i < 100; i++) Entry.encode({ key: "b", value, flags: i }, { into: first });
    assert.equal(first.scratch, scratch);
  });
});
