/**
 * A receiver that is not sgwire: test/vm/sg-receiver.c (plain librdmacm/libibverbs and a
 * hand-written protobuf decoder) listens on rxe0 (198.18.0.1:7471) in its own process; an sgwire
 * ibverbs port connects to it and sends messages whose chunks are referenced registered memory
 * (several SGEs per work request). The C program checks every message's encoding, order and CRC.
 * (rxe1 in namespace `peer` does not answer rdma_cm here: the 6.1 kernel's rdma_rxe listens for
 * RoCE packets in the initial network namespace only.)
 */
import assert from "node:assert/strict";
import type { PortFault } from "../../src/index.js";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { SgList } from "@sgwire/core";
import { openPort } from "../../src/index.js";
import type { IbverbsPort } from "../../src/ibverbs/ibverbs-port.js";
import { Blob, crc32, fill } from "../fixtures/blob.js";
import { A } from "./ibverbs-rc.test.js";

const RECEIVER = "test/vm/build/sg-receiver";
const COUNT = 2000;

describe("ibverbs RC to a C receiver (another process on rxe0)", function () {
  it(`${COUNT} messages with referenced chunks arrive intact: the C decoder finds no bad encoding, CRC or order`, async function () {
    assert.ok(existsSync(RECEIVER), `${RECEIVER} is built by scripts/test-rdma-vm.sh`);
    const child = spawn(RECEIVER, [A, "7471", String(COUNT), "65536"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number>((r) => child.on("exit", (code) => r(code ?? -1)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes("listening")) resolve();
      });
      child.on("exit", () => reject(new Error(`sg-receiver exited early: ${out}${err}`)));
    });
    const p = (await openPort({ backend: "ibverbs", bind: { address: A } })) as IbverbsPort;
    try {
      await body(p, exited, () => out + err);
    } finally {
      child.kill();
      await p.close();
    }
  });

  it("turns an error completion into a 'fault' event naming the status (not an 'error': the port goes on), and still gives the lent buffer back", async function () {
    // the C receiver posts 512-byte buffers and sends no private data, so the sender cannot know
    // the limit: a 2000-byte message fails at the receiver, and the sender's work request completes with an error
    const child = spawn(RECEIVER, [A, "7472", "1", "512"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number>((r) => child.on("exit", (code) => r(code ?? -1)));
    await new Promise<void>((resolve) => child.stdout.on("data", (d) => String(d).includes("listening") && resolve()));
    const p = (await openPort({ backend: "ibverbs", bind: { address: A } })) as IbverbsPort;
    try {
      const errors: Array<Error & { status?: number }> = [];
      const faults: PortFault[] = [];
      p.on("error", (e) => errors.push(e));
      p.on("fault", (f: PortFault) => faults.push(f));
      const dest = { address: A, port: 7472 };
      await p.connect(dest);
      const rb = p.allocate(2000);
      p.send(Blob.encode(Blob.create({ id: 1, chunks: [rb.bytes] }), p.policy), dest);
      assert.equal(rb.refCount, 2);
      await p.completions();
      assert.equal(errors.length, 0, "a peer's failure is not an error of the port");
      const sendFailed = faults.filter((f) => f.kind === "send-failed");
      assert.equal(sendFailed.length, 1, "one failed send, one fault");
      assert.equal(sendFailed[0]!.count, 1);
      assert.deepEqual(sendFailed[0]!.peer, dest);
      assert.match(sendFailed[0]!.error.message, /send to 198\.18\.0\.1:7472 failed: work completion status .+ \(\d+\)/);
      assert.ok((sendFailed[0]!.error as Error & { status?: number }).status! > 0);
      assert.equal(p.stats.faults["send-failed"], 1);
      assert.equal(p.stats.drops, 1);
      assert.equal(p.counters().sendErrors, 1);
      assert.equal(rb.refCount, 1, "the failed send released what it lent");
      rb.release();
      assert.notEqual(await exited, 0, "the C receiver saw the failed receive too");
    } finally {
      child.kill();
      await p.close();
    }
  });
});

async function body(p: IbverbsPort, exited: Promise<number>, log: () => string): Promise<void> {
  const dest = { address: A, port: 7471 };
  await p.connect(dest);
  const bufs = [p.allocate(1500), p.allocate(700), p.allocate(4096)];
  bufs.forEach((b, i) => fill(b.bytes, i + 1));
  const list = new SgList(64);
  let maxSegs = 0;
  for (let i = 1; i <= COUNT; i++) {
    // a varying mix: registered chunks (referenced) and small copied ones
    const chunks = [bufs[i % 3]!.bytes, fill(new Uint8Array(i % 50), i), bufs[(i + 1) % 3]!.bytes.subarray(0, 300 + (i % 200))];
    Blob.encode(Blob.create({ id: i, key: new Uint8Array([i & 255]), chunks, crc: crc32(chunks) }), { ...p.policy, into: list });
    maxSegs = Math.max(maxSegs, list.segments.length);
    if (!p.send(list, dest)) await p.drained();
  }
  await p.completions();
  const code = await exited;
  const out = log();
  assert.match(out, /received 2000 messages/, out);
  assert.match(out, /bad encodings 0, crc mismatches 0, out of order 0, completion errors 0/, out);
  assert.equal(code, 0, out);
  assert.ok(maxSegs >= 4, `messages had several SGEs (${maxSegs})`);
  assert.ok(p.stats.bytesReferenced > COUNT * 1000, "the chunks went by reference");
  for (const b of bufs) {
    assert.equal(b.refCount, 1);
    b.release();
  }
}
