/**
 * The staging slots DPDK and ibverbs lend the encoder for send({ codec, message }): which slot a
 * message's scratch is in, when a slot is free again, and what happens to a message that does
 * not fit. Plain memory stands in for the staging buffer: the slots only cut and lend it.
 */
import assert from "node:assert/strict";
import { SgList } from "@sgwire/core";
import { StagingSlots } from "../src/staging-slots.js";
import { Blob, fill } from "./fixtures/blob.js";

const policy = { copyThreshold: 256, maxSegments: 8, isEligible: () => false };

describe("staging slots (shared by the dpdk and ibverbs ports)", function () {
  it("the encoder writes into the lent slot of the staging memory; take() names it; release() frees it", () => {
    const stage = new Uint8Array(8 * 64);
    const slots = new StagingSlots(4, 64);
    slots.cut(stage.buffer);
    const o = slots.lend(policy)!;
    const list = Blob.encode(Blob.create({ id: 5, key: fill(new Uint8Array(10), 1) }), o);
    const k = slots.take(list, true);
    assert.ok(k >= 0 && k < 4);
    const seg = list.segments[0]!;
    assert.equal(seg.buffer, stage.buffer, "the scratch is in the staging memory");
    assert.ok(seg.byteOffset >= k * 64 && seg.byteOffset + seg.length <= (k + 1) * 64, "inside slot k");
    assert.deepEqual([...seg], [...Blob.toBinary(Blob.create({ id: 5, key: fill(new Uint8Array(10), 1) }))]);
    assert.equal(slots.freeCount, 3);
    slots.release(k);
    assert.equal(slots.freeCount, 4);
  });

  it("with every slot holding a message nothing is lent; a lent slot not taken (the send threw) is lent again", () => {
    const slots = new StagingSlots(2, 64);
    slots.cut(new ArrayBuffer(128));
    const held: number[] = [];
    for (let i = 0; i < 2; i++) {
      const l = Blob.encode(Blob.create({ id: i + 1 }), slots.lend(policy)!);
      held.push(slots.take(l, true));
    }
    assert.deepEqual(held.sort(), [0, 1]);
    assert.equal(slots.lend(policy), null, "no free slot: the port encodes as for any list");
    slots.release(held[0]!);
    const a = slots.lend(policy)!.into;
    const b = slots.lend(policy)!.into; // nothing took the first: the same slot again
    assert.equal(a, b);
    assert.equal(slots.freeCount, 1);
  });

  it("a message larger than its slot is encoded into the list's own scratch (not in a slot); the next small one goes back to the slot", () => {
    const stage = new ArrayBuffer(2 * 64);
    const slots = new StagingSlots(2, 64);
    slots.cut(stage);
    const big = Blob.create({ id: 1, key: fill(new Uint8Array(200), 2) });
    const l1 = Blob.encode(big, slots.lend(policy)!);
    assert.equal(slots.take(l1, true), -1, "not in a slot: the port copies it");
    assert.notEqual(l1.segments[0]!.buffer, stage);
    const own = l1.scratch;
    // another large one through the same slot reuses that scratch: nothing allocated
    const l2 = Blob.encode(big, slots.lend(policy)!);
    assert.equal(l2, l1);
    assert.equal(l2.scratch, own, "the grown scratch is kept while messages do not fit");
    assert.equal(slots.take(l2, true), -1);
    const l3 = Blob.encode(Blob.create({ id: 2 }), slots.lend(policy)!);
    assert.equal(slots.take(l3, true), -1, "the last message did not fit, so this one still used the own scratch");
    const l4 = Blob.encode(Blob.create({ id: 3 }), slots.lend(policy)!);
    const k = slots.take(l4, true);
    assert.ok(k >= 0, "after a message that fitted, back in the slot");
    assert.equal(l4.segments[0]!.buffer, stage);
  });

  it("cut() on new staging memory moves the slots there; a list encoded elsewhere is never in a slot", () => {
    const slots = new StagingSlots(1, 64);
    slots.cut(new ArrayBuffer(64));
    const next = new ArrayBuffer(256);
    slots.cut(next, 128);
    const l = Blob.encode(Blob.create({ id: 9 }), slots.lend(policy)!);
    assert.equal(l.segments[0]!.buffer, next);
    assert.equal(l.segments[0]!.byteOffset, 128);
    assert.equal(slots.take(l, true), 0);
    assert.equal(slots.take(Blob.encode(Blob.create({ id: 1 }), { into: new SgList() }), false), -1);
  });
});
