/**
 * Lifetimes under load on Soft-RoCE: 100,000 RC messages, each referencing one of a few
 * registered buffers that the sender rewrites as soon as the port gives it back (refCount 1).
 * Had any buffer been released before its work request completed, the receiver's CRC of the
 * chunk would differ from the one written beside it. At the end every pool is back where it
 * started: registered blocks, staging bytes, outstanding work requests, receive buffers.
 */
import assert from "node:assert/strict";
import { SgList } from "@sgwire/core";
import type { IbverbsPort } from "../../src/ibverbs/ibverbs-port.js";
import { Blob, crc32 } from "../fixtures/blob.js";
import { rcPair, until } from "./ibverbs-rc.test.js";

const COUNT = Number(process.env.SGW_IBV_STRESS_COUNT ?? 100_000);
const BUFFERS = 512;
const PAYLOAD = 300; // above the copy threshold: referenced

describe("ibverbs lifetime stress (RC, rxe0 loopback)", function () {
  it(`${COUNT} messages referencing rewritten registered buffers: zero corrupted, pools back to start`, async function () {
    const t0 = Date.now();
    const { a, b } = await rcPair({ recvSlots: 1024, sendDepth: 1024 });
    const inUse0 = a.registeredInUse;
    const bufs = Array.from({ length: BUFFERS }, () => a.allocate(PAYLOAD));
    let received = 0;
    let corrupt = 0;
    let outOfOrder = 0;
    let lastId = 0;
    b.onMessage((m) => {
      const d = m.decode(Blob);
      if (crc32(d.chunks) !== d.crc) corrupt++;
      if (d.id !== lastId + 1) outOfOrder++;
      lastId = d.id;
      received++;
      m.release();
    });
    const list = new SgList(64);
    const dest = b.localAddress;
    let waits = 0;
    for (let i = 0; i < COUNT; i++) {
      const rb = bufs[i % BUFFERS]!;
      while (rb.refCount > 1) {
        waits++;
        await new Promise((r) => setImmediate(r));
      }
      const bytes = rb.bytes;
      let x = ((i + 1) * 2654435761) >>> 0 || 1;
      for (let k = 0; k < PAYLOAD; k += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[k] = x;
        bytes[k + 1] = x >>> 8;
        bytes[k + 2] = x >>> 16;
        bytes[k + 3] = x >>> 24;
      }
      Blob.encode({ id: i + 1, key: EMPTY, chunks: [bytes], crc: crc32([bytes]) }, { ...a.policy, into: list });
      if (list.referenceCount !== 1) assert.fail(`expected one referenced segment, got ${list.referenceCount}`);
      if (!a.send(list, dest)) await a.drained();
    }
    await a.completions();
    await until(() => received === COUNT, `all ${COUNT} messages arrived (${received})`, 60000);
    b.onMessage(null);
    const s = a.stats;
    assert.equal(received, COUNT);
    assert.equal(corrupt, 0, "no payload was rewritten while a send still held it");
    assert.equal(outOfOrder, 0);
    assert.equal(s.messagesSent, COUNT);
    assert.equal(s.bytesReferenced, COUNT * PAYLOAD);
    assert.equal(s.completionsPending, 0);
    assert.equal(s.drops, 0);
    assert.ok(waits > 0, "the sender did wait for completions (buffers were reused)");
    for (const rb of bufs) {
      assert.equal(rb.refCount, 1);
      rb.release();
    }
    assert.equal(a.registeredInUse, inUse0, "every registered block is back in its free list");
    assert.equal(a.stagedBytesInUse, 0, "the staging ring is empty");
    const ca = a.counters();
    const cb = b.counters();
    assert.equal(ca.outstanding, 0, "no work request outstanding");
    assert.equal(ca.sendErrors, 0);
    assert.equal(cb.rxHeld, 0, "every receive buffer was reposted");
    assert.equal(cb.rxErrors + cb.repostErrors, 0);
    assert.equal(b.stats.rxHeld, 0);
    console.log(`      ${COUNT} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s (under emulation), sender waited ${waits} times`);
    await a.close();
    await b.close();
  });
});

const EMPTY = new Uint8Array(0);
export type { IbverbsPort };
