/**
 * Lifetimes under load: a million messages that reference registered buffers go round a net_ring
 * loopback. net_ring hands the transmitted mbuf chain itself to the receive side, so a lent
 * buffer is in use until the receiver has read it; the sender rewrites each buffer as soon as
 * the port gives it back (refCount back to 1). Had any buffer been given back early, the
 * receiver's CRC of the payload would differ from the one the sender wrote beside it.
 */
import assert from "node:assert/strict";
import { SgList } from "@sgwire/core";
import { nicInfo, openPort } from "../src/index.js";
import type { DpdkPort } from "../src/dpdk/dpdk-port.js";
import { Blob, crc32 } from "./fixtures/blob.js";
import { describeWith } from "./suite/requirements.js";

const dpdk = nicInfo().backends.find((b) => b.name === "dpdk")!;
const COUNT = 1_000_000;
const BUFFERS = 512;
const PAYLOAD = 300; // above the copy threshold: referenced, 2 segments per message

describeWith("dpdk", dpdk.available ? undefined : (dpdk.reason ?? "DPDK is not available"))("dpdk stress", function () {
  describe("dpdk lifetime stress (net_ring loopback)", function () {
    this.timeout(180000);

    it(`${COUNT} messages referencing rewritten registered buffers: zero corrupted, pools back to start`, async function () {
      const p = (await openPort({ backend: "dpdk", vdev: "net_ring7", bind: { address: "198.18.0.1" }, peers: { "198.18.0.1": "02:53:47:00:00:07" } })) as DpdkPort;
      const pools0 = p.poolCounts();
      const inUse0 = p.registeredInUse;
      const bufs = Array.from({ length: BUFFERS }, () => p.allocate(PAYLOAD));
      let received = 0;
      let corrupt = 0;
      let lastId = 0;
      let outOfOrder = 0;
      p.onMessage((m) => {
        const b = m.decode(Blob);
        if (crc32(b.chunks) !== b.crc) corrupt++;
        if (b.id !== lastId + 1) outOfOrder++;
        lastId = b.id;
        received++;
        m.release();
      });
      const list = new SgList(64);
      const dest = p.localAddress;
      let waits = 0;
      for (let i = 0; i < COUNT; i++) {
        const rb = bufs[i % BUFFERS]!;
        // the port holds a reference until the message's last external buffer is freed
        while (rb.refCount > 1) {
          waits++;
          await new Promise((r) => setImmediate(r));
        }
        const bytes = rb.bytes;
        // new contents every time: a cheap xorshift stream seeded by the message number
        let x = (i + 1) * 2654435761 >>> 0 || 1;
        for (let k = 0; k < PAYLOAD; k += 4) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          bytes[k] = x;
          bytes[k + 1] = x >>> 8;
          bytes[k + 2] = x >>> 16;
          bytes[k + 3] = x >>> 24;
        }
        Blob.encode({ id: i + 1, key: EMPTY, chunks: [bytes], crc: crc32([bytes]) }, { ...p.policy, into: list });
        if (list.segments.length !== 3 && list.segments.length !== 2) assert.fail(`expected a referenced segment, got ${list.segments.length} segments`);
        if (!p.send(list, dest)) await p.drained();
      }
      await p.completions();
      while (received < COUNT) await new Promise((r) => setTimeout(r, 5));
      p.onMessage(null);
      const s = p.stats;
      assert.equal(received, COUNT);
      assert.equal(corrupt, 0, "no payload was rewritten while a send still held it");
      assert.equal(outOfOrder, 0);
      assert.equal(s.messagesSent, COUNT);
      assert.equal(s.bytesReferenced, COUNT * PAYLOAD);
      assert.equal(s.completionsPending, 0);
      assert.ok(waits > 0, "the sender did have to wait for completions (the test exercised reuse)");
      for (const rb of bufs) {
        assert.equal(rb.refCount, 1);
        rb.release();
      }
      assert.equal(p.registeredInUse, inUse0, "every registered block is back in its free list");
      assert.deepEqual(p.poolCounts(), pools0, "every mbuf is back in its pool");
      await p.close();
    });
  });
});

const EMPTY = new Uint8Array(0);
