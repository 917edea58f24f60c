/**
 * The ibverbs port keeps the contract the other backends keep (inside rdma-vm, rxe0): a peer's
 * disconnect is one counted 'fault', not an 'error' per flushed work request; debugLentBuffers
 * catches a write to lent memory; closeTimeoutMs bounds close().
 */
import assert from "node:assert/strict";
import type { PortFault } from "../../src/index.js";
import { LentBufferMutatedError } from "../../src/lent-check.js";
import { Blob } from "../fixtures/blob.js";
import { rcPair, until } from "./ibverbs-rc.test.js";

describe("ibverbs port contract", function () {
  it("an RC peer that goes away is one 'peer-reset' fault, counted, and no 'error'", async function () {
    const { a, b } = await rcPair();
    const faults: PortFault[] = [];
    const errors: Error[] = [];
    a.on("fault", (f: PortFault) => faults.push(f));
    a.on("error", (e: Error) => errors.push(e));
    const gone = new Promise((r) => a.once("disconnect", r));
    await b.close();
    await gone;
    await until(() => a.stats.faults["peer-reset"] >= 1, "the disconnect is counted");
    const resets = faults.filter((f) => f.kind === "peer-reset");
    assert.equal(resets.length, 1, "one event for the connection");
    assert.deepEqual(resets[0]!.peer, b.localAddress);
    assert.match(resets[0]!.error.message, /connection with 198\.18\.0\.1:\d+ ended/);
    assert.equal(errors.length, 0);
    // the port itself goes on: a new peer connects and receives
    const { a: c, b: d } = await rcPair();
    await a.close();
    await c.close();
    await d.close();
  });

  it("debugLentBuffers: a lent buffer written before its send completed is an 'error' naming it", async function () {
    const { a, b } = await rcPair({ debugLentBuffers: true });
    try {
      const errors: Error[] = [];
      a.on("error", (e: Error) => errors.push(e));
      b.onMessage((m) => m.release());
      const rb = a.allocate(4096);
      a.send(Blob.encode(Blob.create({ id: 1, chunks: [rb.bytes] }), a.policy), b.localAddress);
      rb.bytes[100] ^= 0xff; // too early: the send has not completed
      await a.completions();
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof LentBufferMutatedError);
      assert.match(errors[0]!.message, /ibverbs port: a lent buffer of 4096 bytes changed before its send completed/);
      // written after completion: nothing to report
      a.send(Blob.encode(Blob.create({ id: 2, chunks: [rb.bytes] }), a.policy), b.localAddress);
      await a.completions();
      rb.bytes[100] ^= 0xff;
      assert.equal(errors.length, 1);
      rb.release();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("closeTimeoutMs is checked and bounds close(): a port whose peer holds every receive buffer closes within it and gives back what was lent", async function () {
    await assert.rejects(rcPair({ closeTimeoutMs: -1 }), /closeTimeoutMs/);
    // b holds everything it receives (never releases): its few receive buffers fill, a's sends wait (RNR)
    const { a, b } = await rcPair({ closeTimeoutMs: 300, recvSlots: 4 });
    b.onMessage(() => {});
    const rb = a.allocate(1024);
    for (let i = 0; i < 64; i++) a.send(Blob.encode(Blob.create({ id: i, chunks: [rb.bytes] }), a.policy), b.localAddress);
    const t0 = Date.now();
    await a.close();
    const took = Date.now() - t0;
    assert.ok(took < 5000, `close() took ${took} ms with closeTimeoutMs 300`);
    assert.equal(rb.refCount, 1, "what was lent is given back");
    rb.release();
    await b.close();
  });
});
