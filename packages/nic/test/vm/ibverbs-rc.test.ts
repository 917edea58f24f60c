/**
 * The ibverbs backend on Soft-RoCE, inside rdma-vm (scripts/test-rdma-vm.sh): RC connections
 * through rdma_cm on rxe0 (198.18.0.1; the device loops back to itself).
 */
import assert from "node:assert/strict";
import { openPort } from "../../src/index.js";
import type { IbverbsPort } from "../../src/ibverbs/ibverbs-port.js";
import { Blob, crc32, fill } from "../fixtures/blob.js";
import { backendSuite } from "../suite/backend-suite.js";
import { collect } from "../suite/helpers.js";

export const A = "198.18.0.1";

export async function rcPair(opts: Record<string, unknown> = {}): Promise<{ a: IbverbsPort; b: IbverbsPort }> {
  const b = (await openPort({ backend: "ibverbs", bind: { address: A }, ...opts })) as IbverbsPort;
  const a = (await openPort({ backend: "ibverbs", bind: { address: A }, ...opts })) as IbverbsPort;
  await a.connect(b.localAddress);
  return { a, b };
}

/** Polls `cond` until it holds (or fails after `ms`). */
export async function until(cond: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

if (process.env.SGW_RDMA_VM !== "1") throw new Error("test/vm runs inside rdma-vm: use scripts/test-rdma-vm.sh");

backendSuite("ibverbs RC (rxe0 loopback)", async () => {
  const { a, b } = await rcPair();
  return { a, b, toB: b.localAddress, close: async () => { await a.close(); await b.close(); } };
});

describe("ibverbs RC port", function () {
  it("reports the device's caps: SGE limit, inline size, registered memory only", async function () {
    const { a, b } = await rcPair();
    assert.equal(a.caps.backend, "ibverbs");
    assert.equal(a.device.device, "rxe0");
    assert.equal(a.caps.driver, "rxe0/rc");
    assert.ok(a.caps.maxSegments >= 2, `max_sge ${a.caps.maxSegments}`);
    assert.ok(a.device.maxInline > 0, "rxe grants inline data");
    assert.equal(a.caps.referencesAnyMemory, false);
    assert.equal(a.caps.maxMessageBytes, 65536);
    const rb = a.allocate(1000);
    assert.equal(a.policy.isEligible(rb.bytes), true);
    assert.equal(a.policy.isEligible(new Uint8Array(1000)), false);
    assert.equal(b.policy.isEligible(rb.bytes), false, "a memory region belongs to its port's protection domain");
    rb.release();
    await until(() => b.peers.length === 1, "b accepted the connection");
    assert.deepEqual(b.peers, [a.localAddress], "the accepting side names the peer by its listening endpoint");
    await a.close();
    await b.close();
  });

  it("names the source by its listening endpoint, replies over the accepted connection, detaches released views", async function () {
    const { a, b } = await rcPair();
    const got = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 5, key: new Uint8Array([1, 2, 3]) })), b.localAddress);
    const [m] = await got;
    assert.deepEqual(m!.source, a.localAddress);
    const view = m!.bytes;
    m!.release();
    assert.equal(view.length, 0, "the receive buffer went back to the SRQ: the view is detached");
    const back = collect(a, 1);
    b.send(Blob.encode(Blob.create({ id: 6 })), m!.source);
    const [r] = await back;
    assert.equal(r!.decode(Blob).id, 6);
    assert.deepEqual(r!.source, b.localAddress);
    r!.release();
    await a.close();
    await b.close();
  });

  it("copies unregistered memory into registered scratch and counts it; inline for small messages", async function () {
    const { a, b } = await rcPair();
    const plain = fill(new Uint8Array(3000), 9);
    const list = Blob.encode(Blob.create({ id: 1, key: plain }), { copyThreshold: 256 });
    assert.equal(list.referenceCount, 1);
    const before = a.stats;
    const got = collect(b, 2);
    a.send(list, b.localAddress);
    a.send(Blob.encode(Blob.create({ id: 2 })), b.localAddress);
    const ms = await got;
    assert.equal(crc32([ms[0]!.decode(Blob).key]), crc32([plain]));
    assert.equal(ms[1]!.decode(Blob).id, 2);
    for (const m of ms) m.release();
    await a.completions();
    const after = a.stats;
    assert.equal(after.bytesReferenced - before.bytesReferenced, 0);
    assert.equal(after.bytesCopied - before.bytesCopied, list.byteLength + 2);
    assert.equal(a.stagedBytesInUse, 0, "scratch of completed sends is given back");
    await a.close();
    await b.close();
  });

  it("keeps messages in order through a full staging ring and a full send queue, then drains", async function () {
    // 4 KiB of staging and 2 work requests per queue: most sends find no room and are kept
    const { a, b } = await rcPair({ stageBytes: 4096, sendDepth: 2 });
    const n = 300;
    const got = collect(b, n, 60000);
    const results: boolean[] = [];
    for (let i = 1; i <= n; i++) {
      const key = fill(new Uint8Array(1000 + (i % 7) * 300), i); // plain memory: copied into the ring
      results.push(a.send(Blob.encode(Blob.create({ id: i, key, crc: crc32([key]) }), a.policy), b.localAddress));
    }
    assert.ok(results.includes(false), "back-pressure was reported");
    assert.ok(a.stats.queued > 0 && a.stats.txRingFull > 0);
    await a.drained();
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), Array.from({ length: n }, (_, i) => i + 1));
    for (const m of ms) {
      const d = m.decode(Blob);
      assert.equal(crc32([d.key]), d.crc);
      m.release();
    }
    await a.completions();
    assert.equal(a.stats.queued, 0);
    assert.equal(a.stagedBytesInUse, 0);
    assert.equal(a.counters().outstanding, 0);
    await a.close();
    await b.close();
  });

  it("send({ codec, message }): the encoder writes into staging slots the device reads; past the slots, copied; all in order", async function () {
    // 16 work requests per queue and 300 messages in one tick: more than the 64 slots are busy
    // at once (the rest are copied into the ring), and every 50th key outgrows its slot
    const { a, b } = await rcPair({ sendDepth: 16 });
    const rb = a.allocate(600);
    fill(rb.bytes, 21);
    const n = 300;
    const got = collect(b, n, 60000);
    const before = a.stats;
    let scratch = 0;
    for (let i = 1; i <= n; i++) {
      const key = fill(new Uint8Array(i % 50 === 7 ? 1100 : (i * 37) % 200), i);
      const message = Blob.create({ id: i, key, chunks: i % 3 === 0 ? [rb.bytes] : [], crc: crc32([key]) });
      scratch += Blob.toBinary(message).length - (i % 3 === 0 ? rb.bytes.length : 0);
      a.send({ codec: Blob, message }, b.localAddress);
    }
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), Array.from({ length: n }, (_, i) => i + 1));
    for (const m of ms) {
      const d = m.decode(Blob);
      assert.equal(crc32([d.key]), d.crc, `message ${d.id}: the key as sent`);
      if (d.id % 3 === 0) assert.deepEqual(d.chunks[0], rb.bytes);
      m.release();
    }
    await a.completions();
    const after = a.stats;
    const port = after.copies.port - before.copies.port;
    assert.equal(after.copies.encoder - before.copies.encoder, scratch, "the encoder wrote every scratch byte");
    assert.ok(port > 0 && port < scratch, `the port copied ${port} of ${scratch} scratch bytes: only what did not fit a free slot`);
    assert.equal(after.bytesReferenced - before.bytesReferenced, (n / 3) * rb.bytes.length, "only the registered chunks count as referenced");
    assert.equal(a.stagedBytesInUse, 0);
    assert.equal(a.counters().outstanding, 0);
    assert.equal(rb.refCount, 1);
    rb.release();
    await a.close();
    await b.close();
  });

  it("rejects bad options, unknown peers and oversize messages with errors that name them", async function () {
    await assert.rejects(openPort({ backend: "ibverbs" } as never), /address is required/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.77" } }), /rdma_bind_addr\(198\.18\.0\.77:0\)/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: A }, transport: "xrc" as never }), /transport must be "rc" or "ud"/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: A }, device: "mlx5_0" }), /is on RDMA device rxe0, not mlx5_0/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: A }, sendDepth: 0 }), /sendDepth must be an integer/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: A }, qpDepth: 1 } as never), /unknown option "qpDepth"/);
    const p = (await openPort({ backend: "ibverbs", bind: { address: A } })) as IbverbsPort;
    await assert.rejects(p.connect({ address: A, port: 1 }), /connect\(198\.18\.0\.1:1\) failed/);
    assert.throws(() => p.send(Blob.encode(Blob.create({ id: 1 })), { address: A, port: 2 }), /no connection to 198\.18\.0\.1:2/);
    const small = (await openPort({ backend: "ibverbs", bind: { address: A }, recvBytes: 1024 })) as IbverbsPort;
    await p.connect(small.localAddress);
    assert.throws(() => p.send(Blob.encode(Blob.create({ key: new Uint8Array(2000) })), small.localAddress), /exceeds what 198\.18\.0\.1:\d+ can receive \(1024 bytes\)/);
    await p.close();
    await small.close();
  });
});
