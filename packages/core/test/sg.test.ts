import assert from "node:assert/strict";
import {
  SgList, setDefaultCopyPolicy, getDefaultCopyPolicy, resolveCopyPolicy, maxReferences, RefBuffer,
  DEFAULT_COPY_THRESHOLD, defineMessage, type MessageType,
} from "@sgwire/core";

// A hand-written codec over the runtime, standing in for generated code: message { repeated bytes b = 1; }
interface Blobs { b: Uint8Array[] }
const Blobs: MessageType<Blobs> = defineMessage<Blobs>({
  typeName: "test.Blobs",
  create: () => ({ b: [] }),
  size(m, e) {
    let s = 0;
    for (const x of m.b) s += 1 + e.sizeBytes(x);
    return s;
  },
  write(m, e) {
    for (const x of m.b) {
      e.byte(10);
      e.bytes(x);
    }
  },
  read(r, end, _group, target) {
    const m = target ?? { b: [] };
    while (r.pos < end) {
      const t = r.tag();
      if (t === 10) m.b.push(r.bytes());
      else r.skip(t);
    }
    return m;
  },
});

const blob = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("copy policy", () => {
  it("defaults to the design's threshold and no segment limit", () => {
    const p = getDefaultCopyPolicy();
    assert.equal(p.copyThreshold, DEFAULT_COPY_THRESHOLD);
    assert.equal(p.maxSegments, Infinity);
    assert.equal(resolveCopyPolicy({ copyThreshold: 10 }, 99).copyThreshold, 10);
    assert.equal(resolveCopyPolicy(undefined, 99).copyThreshold, 99);
    assert.equal(maxReferences(5), 2);
    assert.equal(maxReferences(1), 0);
  });

  it("one options object reused across encodes: a change of its fields or of the defaults is seen at the next encode", () => {
    const big = blob(300, 1);
    const opts: { copyThreshold?: number; maxSegments?: number; into?: SgList } = { copyThreshold: 1000, into: new SgList() };
    assert.equal(Blobs.encode({ b: [big] }, opts).bytesReferenced, 0, "300 < 1000: copied");
    assert.equal(Blobs.encode({ b: [big] }, opts).bytesReferenced, 0, "the same again");
    opts.copyThreshold = 100;
    assert.equal(Blobs.encode({ b: [big] }, opts).bytesReferenced, 300, "the changed field is seen");
    opts.maxSegments = 1;
    assert.equal(Blobs.encode({ b: [big, big] }, opts).segments.length, 1, "and a new one");
    opts.copyThreshold = -1;
    assert.throws(() => Blobs.encode({ b: [] }, opts), /copyThreshold must be a number >= 0/);
    const keep = getDefaultCopyPolicy();
    try {
      const only = { into: new SgList() };
      assert.equal(Blobs.encode({ b: [big] }, only).bytesReferenced, 0, "default 512: copied");
      setDefaultCopyPolicy({ copyThreshold: 200 });
      assert.equal(Blobs.encode({ b: [big] }, only).bytesReferenced, 300, "the new default is seen");
      const withMax = { maxSegments: 3 };
      assert.equal(Blobs.encode({ b: [big] }, withMax).bytesReferenced, 300);
      setDefaultCopyPolicy({ copyThreshold: 400 });
      assert.equal(Blobs.encode({ b: [big] }, withMax).bytesReferenced, 0, "a resolution kept for an options object is dropped when the defaults change");
    } finally {
      setDefaultCopyPolicy(keep);
    }
  });

  it("rejects nonsense options with precise errors", () => {
    assert.throws(() => Blobs.encode({ b: [] }, { copyThreshold: -1 }), /copyThreshold must be a number >= 0/);
    assert.throws(() => Blobs.encode({ b: [] }, { maxSegments: 0 }), /maxSegments must be an integer >= 1/);
    assert.throws(() => Blobs.encode({ b: [] }, { maxSegments: 2.5 }), RangeError);
    assert.throws(() => setDefaultCopyPolicy({ copyThreshold: Number.NaN }), /setDefaultCopyPolicy: copyThreshold/);
  });

  it("references fields at or above the threshold and copies the rest", () => {
    const big = blob(600, 7);
    const edge = blob(512, 8);
    const small = blob(511, 9);
    const list = Blobs.encode({ b: [big, small, edge] });
    // [tag+len] [big] [tag+len small tag+len] [edge]
    assert.equal(list.segments.length, 4);
    assert.equal(list.segments[1], big, "the caller's own Uint8Array object");
    assert.equal(list.segments[3], edge);
    assert.equal(list.bytesReferenced, 600 + 512);
    assert.equal(list.referenceCount, 2);
    assert.equal(list.bytesCopied, list.byteLength - 1112);
    assert.ok(list.isScratch(0) && !list.isScratch(1) && list.isScratch(2) && !list.isScratch(3));
    assert.deepEqual(list.toBinary(), Blobs.toBinary({ b: [big, small, edge] }));
  });

  it("copies the smallest references first when maxSegments is exceeded", () => {
    const a = blob(1000), b = blob(3000), c = blob(2000);
    const list = Blobs.encode({ b: [a, b, c] }, { maxSegments: 4 });
    assert.equal(list.referenceCount, 1);
    assert.ok(list.segments.includes(b), "the largest field stays referenced");
    assert.ok(!list.segments.includes(a) && !list.segments.includes(c));
    assert.ok(list.segments.length <= 4);
    const two = Blobs.encode({ b: [a, b, c] }, { maxSegments: 5 });
    assert.equal(two.referenceCount, 2);
    assert.ok(two.segments.includes(b) && two.segments.includes(c));
    assert.deepEqual(two.toBinary(), Blobs.toBinary({ b: [a, b, c] }));
  });

  it("copies memory the backend cannot use", () => {
    const registered = new Uint8Array(new ArrayBuffer(8192), 0, 4096);
    const plain = blob(4096);
    const list = Blobs.encode({ b: [registered, plain] }, { isEligible: (x) => x.buffer === registered.buffer });
    assert.equal(list.referenceCount, 1);
    assert.equal(list.segments[1], registered);
    assert.equal(list.bytesCopied, list.byteLength - 4096);
  });

  it("honours process-wide defaults", () => {
    const before = getDefaultCopyPolicy();
    try {
      setDefaultCopyPolicy({ copyThreshold: 0 });
      assert.equal(Blobs.encode({ b: [blob(1)] }).referenceCount, 1);
      setDefaultCopyPolicy({ copyThreshold: Infinity });
      assert.equal(Blobs.encode({ b: [blob(100000)] }).referenceCount, 0);
    } finally {
      setDefaultCopyPolicy(before);
    }
  });
});

describe("SgList", () => {
  it("reuses its scratch across encodes", () => {
    const list = new SgList();
    Blobs.encode({ b: [blob(100), blob(50)] }, { into: list });
    const scratch = list.scratch;
    for (let i = 0; i < 10; i++) {
      const out = Blobs.encode({ b: [blob(10 + i)] }, { into: list });
      assert.equal(out, list);
      assert.equal(list.scratch, scratch, "no new scratch for smaller messages");
      assert.equal(list.segments.length, 1);
      assert.equal(list.byteLength, 12 + i);
    }
  });

  it("knows which segments are references, also for lists built by hand", () => {
    const big = blob(2048);
    const list = Blobs.encode({ b: [blob(4), big, blob(8)] });
    assert.deepEqual(list.segments.map((_, i) => list.isScratch(i)), [true, false, true]);
    // reuse with a different shape: flags follow the new segments
    Blobs.encode({ b: [big, big] }, { into: list });
    assert.deepEqual(list.segments.map((_, i) => list.isScratch(i)), [true, false, true, false]);
    const manual = new SgList(16);
    manual.segments.push(manual.scratch.subarray(0, 4), big);
    assert.equal(manual.isScratch(0), true);
    assert.equal(manual.isScratch(1), false);
    // a list of scratch alone carries no per-segment flags; reused for references and back, the
    // flags follow each encode
    const small = Blobs.encode({ b: [blob(4)] });
    assert.equal(small.refs, null);
    assert.deepEqual(small.segments.map((_, i) => small.isScratch(i)), [true]);
    Blobs.encode({ b: [blob(4), big, blob(8), big] }, { into: small });
    assert.deepEqual(small.segments.map((_, i) => small.isScratch(i)), [true, false, true, false]);
    Blobs.encode({ b: [blob(4), blob(9)] }, { into: small });
    assert.deepEqual(small.segments.map((_, i) => small.isScratch(i)), [true]);
    Blobs.encode({ b: [big, blob(3), big] }, { into: small });
    assert.deepEqual(small.segments.map((_, i) => small.isScratch(i)), [true, false, true, false]);
    // segments changed by hand after an encode: decided by memory again
    small.segments.push(big);
    assert.equal(small.isScratch(4), false);
    small.reset();
    small.segments.push(small.scratch.subarray(0, 1));
    assert.equal(small.isScratch(0), true);
  });

  it("never holds empty segments", () => {
    const big = blob(1024);
    const list = Blobs.encode({ b: [big] });
    assert.equal(list.segments.length, 2, "nothing after the last reference");
    assert.ok(list.segments.every((s) => s.length > 0));
    assert.equal(Blobs.encode({ b: [] }).segments.length, 0);
  });

  it("survives an encode started from inside another encode", () => {
    const inner = { b: [blob(700, 3)] };
    const outer = {
      get b() {
        // a getter that encodes: the runtime must hand it a separate Encoder
        return [Blobs.toBinary(inner), blob(600, 4)];
      },
    };
    const list = Blobs.encode(outer);
    const flat = list.toBinary();
    const back = Blobs.fromBinary(flat);
    assert.equal(back.b.length, 2);
    assert.deepEqual(Blobs.fromBinary(back.b[0]!).b[0], blob(700, 3));
    assert.deepEqual(back.b[1], blob(600, 4));
  });
});

describe("RefBuffer", () => {
  it("frees once when the last reference goes", () => {
    let freed = 0;
    const r = new RefBuffer(new Uint8Array(4), () => freed++);
    r.retain();
    r.release();
    assert.equal(freed, 0);
    r.release();
    assert.equal(freed, 1);
    assert.throws(() => r.release(), /released more often than retained/);
    assert.throws(() => r.retain(), /already freed/);
  });
});
