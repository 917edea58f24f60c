/** Splitting large messages into packets and putting them back together; the store's overwrite rules. */
import assert from "node:assert/strict";
import { RefBuffer } from "@sgwire/core";
import { Op, Status, type Response } from "../gen/kv.sg.js";
import { ResponseAssembly, splitPut, splitResponse } from "../kv/packets.js";
import { Store } from "../kv/store.js";
import { CODECS, loadCodec } from "../kv/codecs/codec.js";
import { SgList } from "@sgwire/core";
import { makeValue } from "../kv/workloads.js";

const resp = (values: Uint8Array[], missing: number[] = []): Response => ({ id: 9, status: Status.OK, values, missing, part: 0, parts: 0, firstIndex: 0, firstOffset: 0, sizes: [] });

describe("kv packets", function () {
  it("keeps a response that fits in one packet whole", function () {
    const r = resp([new Uint8Array(100)]);
    assert.deepEqual(splitResponse(r, 1472), [r]);
  });

  for (const codecName of CODECS) {
    it(`splits responses into parts that fit the packet when encoded with ${codecName}, and reassembles them in any order`, async function () {
      const codec = await loadCodec(codecName);
      const budget = 1472;
      const values = [makeValue(1, 0, 3000), new Uint8Array(0), makeValue(2, 0, 17), makeValue(3, 0, 9000), makeValue(4, 0, 1400)];
      const parts = splitResponse(resp(values, [1]), budget);
      assert.ok(parts.length > 9);
      const list = new SgList(256);
      const decoded = parts.map((p) => {
        const l = codec.encodeResponse(p, { copyThreshold: 256 }, list);
        assert.ok(l.byteLength <= budget, `part ${p.part} is ${l.byteLength} bytes`);
        return codec.decodeResponse(l.toBinary());
      });
      // every part references slices of the original values (no copies when splitting)
      assert.ok(parts.every((p) => p.values.every((v) => v.length === 0 || values.some((o) => o.buffer === v.buffer))));
      const a = new ResponseAssembly();
      const order = decoded.map((_, i) => i).reverse();
      let whole: Response | null = null;
      for (const i of order) {
        assert.equal(whole, null, "complete only after the last part");
        whole = a.add(decoded[i]!);
        if (i === 3) assert.equal(a.add(decoded[i]!), null, "a duplicate part is ignored");
      }
      if (whole === null) throw new Error("never completed");
      assert.deepEqual(whole.missing, [1]);
      assert.equal(whole.values.length, values.length);
      whole.values.forEach((v, i) => assert.ok(Buffer.from(v).equals(values[i]!), `value ${i}`));
    });
  }

  it("splits a large PUT into pieces with their offsets", function () {
    const v = makeValue(5, 1, 10_000);
    const pieces = splitPut({ id: 1, op: Op.PUT, keys: ["k"], value: v, valueSize: 0, valueOffset: 0 }, 1472);
    assert.ok(pieces.length >= 7);
    const back = new Uint8Array(v.length);
    for (const p of pieces) {
      assert.equal(p.valueSize, v.length);
      back.set(p.value, p.valueOffset);
    }
    assert.ok(Buffer.from(back).equals(v));
  });
});

describe("kv store", function () {
  const heap = { allocate: (n: number) => new RefBuffer(new Uint8Array(n)) };

  it("rewrites a value in place when nothing else holds it, and copies on write when a send does", function () {
    const s = new Store(heap);
    s.put("a", makeValue(0, 0, 1000));
    const first = s.get("a")!;
    s.put("a", makeValue(0, 1, 1000));
    assert.equal(s.get("a")!.buffer, first.buffer, "unshared: same memory");
    assert.equal(s.stats.inPlaceWrites, 1);
    // a send in flight holds a reference (the port retains the RefBuffer it references)
    const lent = s.get("a")!;
    const copyOfLent = lent.slice();
    const rb = (s as unknown as { map: Map<string, { rb: RefBuffer }> }).map.get("a")!.rb;
    rb.retain();
    s.put("a", makeValue(0, 2, 1000));
    assert.notEqual(s.get("a")!.buffer, lent.buffer, "lent: the new value went to new memory");
    assert.ok(Buffer.from(lent).equals(copyOfLent), "the lent bytes did not change under the send");
    assert.equal(s.stats.copyOnWrites, 1);
    assert.equal(rb.refCount, 1, "the store let go of the old buffer; the send's reference frees it");
    rb.release();
    assert.equal(s.stats.keys, 1);
    assert.equal(s.stats.bytes, 1000);
    assert.ok(s.delete("a"));
    assert.equal(s.stats.bytes, 0);
  });
});
