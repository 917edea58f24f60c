import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { nicInfo, openPort, type Port } from "../src/index.js";
import { Blob, PbBlob, equalBytes, fill } from "./fixtures/blob.js";
import { backendSuite } from "./suite/backend-suite.js";
import { collect } from "./suite/helpers.js";

/** This file is the dgram engine's (native-udp.test.ts has the native one's). */
const dgramUdp = { backend: "udp", engine: "dgram" } as const;

backendSuite("udp dgram engine (kernel, loopback)", async () => {
  const a = await openPort({ ...dgramUdp });
  const b = await openPort({ ...dgramUdp });
  return { a, b, toB: b.localAddress, close: async () => { await a.close(); await b.close(); } };
});

describe("udp port, dgram engine", function () {
  it("udp is the default backend, on the native engine where the addon is built, and binds 127.0.0.1 on a free port", async function () {
    const p = await openPort();
    assert.equal(p.caps.backend, "udp");
    const native = nicInfo().backends.find((b) => b.name === "udp")!.engines!.find((e) => e.name === "native")!.available;
    assert.equal(p.caps.driver, native ? "kernel-udp-native" : "kernel-udp");
    const d = await openPort(dgramUdp);
    assert.equal(d.caps.driver, "kernel-udp");
    await d.close();
    assert.equal(p.localAddress.address, "127.0.0.1");
    assert.ok(p.localAddress.port > 0);
    await p.close();
  });

  it("reaches a plain dgram socket that decodes with protobufjs", async function () {
    const plain = dgram.createSocket("udp4");
    await new Promise<void>((r) => plain.bind(0, "127.0.0.1", () => r()));
    const got = new Promise<Buffer>((r) => plain.once("message", (b) => r(b)));
    const p = await openPort({ ...dgramUdp });
    const rb = p.allocate(2000);
    fill(rb.bytes, 42);
    const msg = Blob.create({ id: 12345, key: new Uint8Array([1, 2, 3]), chunks: [rb.bytes], crc: 1 });
    const list = Blob.encode(msg, p.policy);
    assert.equal(list.referenceCount, 1);
    p.send(list, { address: "127.0.0.1", port: (plain.address()).port });
    const bytes = await got;
    const d = PbBlob.decode(bytes) as unknown as { id: number; key: Uint8Array; chunks: Uint8Array[] };
    assert.equal(d.id, 12345);
    assert.ok(equalBytes(d.chunks[0]!, rb.bytes));
    await p.close();
    rb.release();
    plain.close();
  });

  it("reports back-pressure past highWaterMark, keeps the messages and emits drain", async function () {
    const a = await openPort({ ...dgramUdp, highWaterMark: 1 });
    const b = await openPort({ ...dgramUdp });
    const got = collect(b, 10);
    const results: boolean[] = [];
    for (let i = 1; i <= 10; i++) results.push(a.send(Blob.encode(Blob.create({ id: i })), b.localAddress));
    assert.equal(results[0], false, "one in flight is the high-water mark");
    assert.ok(results.slice(1).every((r) => r === false));
    assert.ok(a.stats.queued >= 8);
    assert.ok(a.stats.txRingFull >= 9);
    const drained = new Promise<void>((r) => a.once("drain", () => r()));
    await drained;
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const m of ms) m.release();
    await a.close();
    await b.close();
  });

  it("rejects bad options with errors that name them", async function () {
    await assert.rejects(openPort({ ...dgramUdp, bind: { port: 70000 } }), /bind.port must be an integer 0..65535/);
    await assert.rejects(openPort({ ...dgramUdp, highWaterMark: 0 }), /highWaterMark must be an integer/);
    await assert.rejects(openPort({ ...dgramUdp, bogus: 1 } as never), /unknown option "bogus"/);
    await assert.rejects(openPort({ backend: "carrier-pigeon" } as never), /unknown backend "carrier-pigeon"/);
    await assert.rejects(openPort({ ...dgramUdp, copyThreshold: -1 }), /copyThreshold must be a number >= 0/);
    await assert.rejects(openPort(null as never), /options must be an object/);
  });

  it("debugLentBuffers: flags a lent buffer written before its send completed, and only then", async function () {
    const a = await openPort({ ...dgramUdp, debugLentBuffers: true });
    const b = await openPort({ ...dgramUdp });
    b.onMessage((m) => m.release());
    const errors: Error[] = [];
    a.on("error", (e) => errors.push(e));
    const plain = fill(new Uint8Array(2000), 1);
    a.send(Blob.encode(Blob.create({ id: 1, key: plain }), a.policy), b.localAddress);
    await a.completions();
    assert.equal(errors.length, 0, "untouched until completion: no report");
    a.send(Blob.encode(Blob.create({ id: 2, key: plain }), a.policy), b.localAddress);
    plain[7] ^= 0xff; // too early: the send still holds it
    await a.completions();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.name, "LentBufferMutatedError");
    assert.match(errors[0]!.message, /2000 bytes changed before its send completed/);
    await a.close();
    await b.close();
  });

  it("throws on send and allocate after close", async function () {
    const p: Port = await openPort();
    await p.close();
    assert.throws(() => p.send(Blob.encode(Blob.create({ id: 1 })), { address: "127.0.0.1", port: 9 }), /send\(\) after close\(\)/);
    assert.throws(() => p.allocate(10), /after close/);
    await p.close(); // idempotent
  });
});
