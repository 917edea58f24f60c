/**
 * UD on Soft-RoCE (rxe0 loopback, inside rdma-vm): one datagram QP per port, peers resolved with
 * rdma_cm's SIDR exchange; messages up to the path MTU.
 */
import assert from "node:assert/strict";
import { openPort } from "../../src/index.js";
import type { IbverbsPort } from "../../src/ibverbs/ibverbs-port.js";
import { Blob } from "../fixtures/blob.js";
import { backendSuite } from "../suite/backend-suite.js";
import { collect } from "../suite/helpers.js";
import { A } from "./ibverbs-rc.test.js";

async function udPair(): Promise<{ a: IbverbsPort; b: IbverbsPort }> {
  const b = (await openPort({ backend: "ibverbs", bind: { address: A }, transport: "ud" })) as IbverbsPort;
  const a = (await openPort({ backend: "ibverbs", bind: { address: A }, transport: "ud" })) as IbverbsPort;
  await a.connect(b.localAddress);
  return { a, b };
}

backendSuite("ibverbs UD (rxe0 loopback)", async () => {
  const { a, b } = await udPair();
  return { a, b, toB: b.localAddress, close: async () => { await a.close(); await b.close(); } };
});

describe("ibverbs UD port", function () {
  it("limits messages to the path MTU, names the source, and replies once the peer has sent", async function () {
    const { a, b } = await udPair();
    assert.equal(a.caps.driver, "rxe0/ud");
    assert.equal(a.caps.maxMessageBytes, a.device.mtu);
    assert.ok([256, 512, 1024, 2048, 4096].includes(a.device.mtu), `path MTU ${a.device.mtu}`);
    assert.ok(a.device.qpn > 0);
    assert.throws(() => a.send(Blob.encode(Blob.create({ key: new Uint8Array(a.device.mtu) })), b.localAddress), RangeError);
    const got = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 11 })), b.localAddress);
    const [m] = await got;
    assert.deepEqual(m!.source, a.localAddress, "the source is the sender's listening endpoint (learned in the SIDR request)");
    m!.release();
    const back = collect(a, 1);
    b.send(Blob.encode(Blob.create({ id: 12 })), a.localAddress);
    const [r] = await back;
    assert.equal(r!.decode(Blob).id, 12);
    assert.deepEqual(r!.source, b.localAddress);
    r!.release();
    await a.close();
    await b.close();
  });

  it("rejects a UD connect to a port where nothing listens", async function () {
    const a = (await openPort({ backend: "ibverbs", bind: { address: A }, transport: "ud", connectTimeoutMs: 20000 })) as IbverbsPort;
    await assert.rejects(a.connect({ address: A, port: 3 }), /connect\(198\.18\.0\.1:3\) (failed|timed out)/);
    await a.close();
  });
});
