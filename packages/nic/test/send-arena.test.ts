/**
 * Kernel ports' send memory: `send({ codec, message })` has the encoder write the scratch straight
 * into memory the port lends it, so the port copies nothing (TCP: its length prefix only), and
 * messages in flight at once never share or overwrite each other's bytes.
 */
import assert from "node:assert/strict";
import { openPort, type Port, type ReceivedMessage } from "../src/index.js";
import { SendArena } from "../src/send-arena.js";
import { SgList } from "@sgwire/core";
import { Blob, equalBytes, fill } from "./fixtures/blob.js";
import { collect } from "./suite/helpers.js";

for (const backend of ["udp", "tcp"] as const) {
  describe(`${backend} port: send({ codec, message }) writes into the port's send memory`, function () {
    let a: Port;
    let b: Port;
    before(async () => {
      a = await openPort({ backend });
      b = await openPort({ backend });
    });
    after(async () => {
      await a.close();
      await b.close();
    });

    it("copies no scratch byte in the port: the encoder's write is the only copy", async () => {
      const rb = a.allocate(4096);
      fill(rb.bytes, 5);
      const before = a.stats;
      const got = collect(b, 1);
      const message = Blob.create({ id: 300, key: fill(new Uint8Array(40), 1), chunks: [rb.bytes], crc: 9 });
      const size = Blob.encodedSize(message);
      a.send({ codec: Blob, message }, b.localAddress);
      const [m] = await got;
      const d = m!.decode(Blob);
      assert.equal(d.id, 300);
      assert.ok(equalBytes(d.chunks[0]!, rb.bytes));
      m!.release();
      await a.completions();
      const after = a.stats;
      const encoder = after.copies.encoder - before.copies.encoder;
      assert.ok(encoder > 40, `the encoder wrote the key and the tags (${encoder} B)`);
      // TCP's frame starts with a varint length the port writes: its only bytes
      const prefix = backend === "tcp" ? (size < 128 ? 1 : size < 16384 ? 2 : 3) : 0;
      assert.equal(after.copies.port - before.copies.port, prefix, "the port copied nothing of the message");
      assert.equal(after.bytesCopied - before.bytesCopied, prefix);
      assert.equal(after.bytesReferenced - before.bytesReferenced, 4096);
      assert.equal(rb.refCount, 1, "the lent buffer is back");
      rb.release();
    });

    it("many messages in flight at once, across chunks and with scratch larger than a chunk's room, arrive intact", async () => {
      // 600 messages in batches of 50 in flight (a UDP receive buffer holds a batch); every 10th
      // has a key of 20 KiB (copied: more scratch than TCP's chunks keep free), 1.2 MB in all, so
      // both ports go through several chunks of send memory
      const sent: Blob[] = [];
      const msgs: ReceivedMessage[] = [];
      for (let batch = 0; batch < 12; batch++) {
        const got = collect(b, 50);
        for (let k = 0; k < 50; k++) {
          const i = batch * 50 + k;
          const key = fill(new Uint8Array(i % 10 === 0 ? 20_000 : 10 + (i % 300)), i);
          const msg = Blob.create({ id: i + 1, key, chunks: [], crc: i });
          sent.push(msg);
          if (!a.send({ codec: Blob, message: msg }, b.localAddress)) await a.drained();
        }
        msgs.push(...(await got));
      }
      const byId = new Map(msgs.map((m) => [m.decode(Blob), m] as const).map(([d, m]) => [d.id, { d, m }]));
      for (const s of sent) {
        const r = byId.get(s.id);
        assert.ok(r !== undefined, `message ${s.id} arrived`);
        assert.ok(equalBytes(r.d.key, s.key), `message ${s.id}: key intact`);
        assert.equal(r.d.crc, s.crc);
      }
      for (const m of msgs) m.release();
      await a.completions();
    });

    it("a list sent as an SgList is still copied (the caller may reuse it), and counted so", async () => {
      const list = new SgList();
      Blob.encode(Blob.create({ id: 7, key: fill(new Uint8Array(30), 2) }), { into: list });
      const before = a.stats;
      const got = collect(b, 1);
      a.send(list, b.localAddress);
      Blob.encode(Blob.create({ id: 8, key: fill(new Uint8Array(30), 3) }), { into: list }); // reused at once
      const [m] = await got;
      assert.equal(m!.decode(Blob).id, 7);
      m!.release();
      await a.completions();
      const after = a.stats;
      assert.ok(after.copies.port - before.copies.port >= list.bytesCopied, "the port copied the scratch");
    });
  });
}

describe("SendArena", () => {
  it("lends disjoint regions, keeps a chunk while a send holds it, reuses it after", () => {
    const arena = new SendArena(1024, 256);
    const l1 = new SgList();
    arena.lend(l1);
    l1.bytesCopied = 300; // as if the encoder wrote 300 bytes there
    const c1 = arena.take(l1)!;
    assert.equal(c1.holders, 1);
    const l2 = new SgList();
    arena.lend(l2);
    assert.equal(l2.scratch.byteOffset, 300, "the next region starts after the first");
    l2.bytesCopied = 500;
    const c2 = arena.take(l2)!;
    assert.equal(c2, c1);
    // 224 bytes of room left: under 256, so the next lend retires the chunk
    const l3 = new SgList();
    arena.lend(l3);
    assert.notEqual(l3.scratch.buffer, c1.bytes.buffer, "a new chunk while the old one is held");
    arena.give(c1);
    arena.give(c2);
    assert.equal(c1.holders, 0);
    assert.equal(c1.used, 0, "recycled once its last holder completed");
  });

  it("take() says when the encoder did not use the lent memory (its scratch did not fit)", () => {
    const arena = new SendArena(1024, 128);
    const list = new SgList();
    arena.lend(list);
    list.reserveScratch(4096); // what encode does when the scratch needs more than the room
    assert.equal(arena.take(list), null);
  });
});
