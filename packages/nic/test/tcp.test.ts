import assert from "node:assert/strict";
import * as net from "node:net";
import protobuf from "protobufjs";
import { openPort, type PortFault } from "../src/index.js";
import { FrameReader, FrameError, lengthPrefix } from "../src/index.js";
import { Blob, PbBlob, equalBytes, fill } from "./fixtures/blob.js";
import { backendSuite } from "./suite/backend-suite.js";
import { collect } from "./suite/helpers.js";

for (const engine of ["net", "native"] as const) {
const tcp = { backend: "tcp", engine } as const;

backendSuite(`tcp ${engine} engine (kernel, loopback)`, async () => {
  const a = await openPort({ ...tcp, maxMessageBytes: 1 << 20 });
  const b = await openPort({ ...tcp, maxMessageBytes: 1 << 20 });
  return { a, b, toB: b.localAddress, close: async () => { await a.close(); await b.close(); } };
});

describe(`tcp port, ${engine} engine`, function () {
  it("sends length-delimited protobuf that a plain socket reads with protobufjs", async function () {
    const chunks: Buffer[] = [];
    const server = net.createServer((s) => s.on("data", (c) => chunks.push(c)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const p = await openPort({ ...tcp });
    const rb = p.allocate(100_000);
    fill(rb.bytes, 3);
    p.send(Blob.encode(Blob.create({ id: 1, chunks: [rb.bytes] }), p.policy), { address: "127.0.0.1", port });
    p.send(Blob.encode(Blob.create({ id: 2, key: new Uint8Array([9]) }), p.policy), { address: "127.0.0.1", port });
    await p.completions();
    await p.close();
    await new Promise((r) => setTimeout(r, 100));
    const r = protobuf.Reader.create(Buffer.concat(chunks));
    const m1 = PbBlob.decodeDelimited(r) as unknown as { id: number; chunks: Uint8Array[] };
    const m2 = PbBlob.decodeDelimited(r) as unknown as { id: number; key: Uint8Array };
    assert.equal(m1.id, 1);
    assert.ok(equalBytes(m1.chunks[0]!, rb.bytes));
    assert.equal(m2.id, 2);
    assert.equal(r.pos, r.len);
    server.close();
  });

  it("send({ codec, message }): the length prefix written in front of the encoder's scratch frames every size", async function () {
    const chunks: Buffer[] = [];
    const server = net.createServer((s) => s.on("data", (c) => chunks.push(c)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const to = { address: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
    const p = await openPort({ ...tcp, maxMessageBytes: 1 << 20 });
    const rb = p.allocate(3000);
    fill(rb.bytes, 4);
    // prefixes of 1, 2 and 3 bytes; a message that starts with a referenced field; an empty one
    const sent = [
      Blob.create({ id: 1, key: fill(new Uint8Array(10), 1) }),
      Blob.create({ id: 2, key: fill(new Uint8Array(300), 2) }),
      Blob.create({ id: 3, key: fill(new Uint8Array(400), 3), chunks: [rb.bytes, fill(new Uint8Array(20000), 5)] }),
      Blob.create({ chunks: [rb.bytes] }),
      Blob.create(),
    ];
    for (const m of sent) p.send({ codec: Blob, message: m }, to);
    await p.completions();
    await p.close();
    await new Promise((r) => setTimeout(r, 100));
    server.close();
    const all = Buffer.concat(chunks);
    const want = Buffer.concat(sent.flatMap((m) => {
      const b = Blob.toBinary(m);
      return [Buffer.from(lengthPrefix(b.length)), Buffer.from(b)];
    }));
    assert.ok(all.equals(want), `the stream is the messages, each after its varint length (${all.length} of ${want.length} bytes)`);
    assert.equal(rb.refCount, 1);
    rb.release();
  });

  it("replies to a message's source over the accepted connection", async function () {
    const a = await openPort({ ...tcp });
    const b = await openPort({ ...tcp });
    const atB = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 5 })), b.localAddress);
    const [req] = await atB;
    const atA = collect(a, 1);
    b.send(Blob.encode(Blob.create({ id: req!.decode(Blob).id + 1 })), req!.source);
    req!.release();
    const [rep] = await atA;
    assert.equal(rep!.decode(Blob).id, 6);
    rep!.release();
    await a.close();
    await b.close();
  });

  it("reports back-pressure when the peer stops reading, keeps every message, and drains", async function () {
    let received = 0;
    let peer!: net.Socket;
    const server = net.createServer((s) => {
      peer = s;
      s.pause(); // a slow reader: the kernel buffers fill, then Node's
      s.on("data", (c) => (received += c.length));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const dest = { address: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
    const p = await openPort({ ...tcp });
    const rb = p.allocate(1 << 20);
    fill(rb.bytes, 4);
    let refused = 0;
    let bytes = 0;
    for (let i = 0; i < 64; i++) {
      const list = Blob.encode(Blob.create({ id: i + 1, chunks: [rb.bytes] }), p.policy);
      bytes += lengthPrefix(list.byteLength).length + list.byteLength;
      if (!p.send(list, dest)) refused++;
    }
    assert.ok(refused > 0, "send returned false");
    assert.ok(p.stats.queued > 0 && p.stats.txRingFull > 0);
    assert.ok(rb.refCount > 1, "queued sends still hold the buffer");
    const drained = p.drained();
    while (peer === undefined) await new Promise((r) => setTimeout(r, 5));
    peer.resume();
    await drained;
    await p.completions();
    while (received < bytes) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received, bytes, "every byte of every message arrived");
    assert.equal(rb.refCount, 1);
    rb.release();
    await p.close();
    server.close();
  });

  it("close() gives up on a peer that never reads after closeTimeoutMs, and gives back what was lent", async function () {
    const server = net.createServer((s) => s.pause());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const dest = { address: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
    const p = await openPort({ ...tcp, closeTimeoutMs: 300 });
    const rb = p.allocate(1 << 20);
    // far more than the kernel buffers hold while the peer does not read
    for (let i = 0; i < 200; i++) p.send(Blob.encode(Blob.create({ id: i + 1, chunks: [rb.bytes] }), p.policy), dest);
    assert.ok(rb.refCount > 1);
    const t0 = Date.now();
    await p.close();
    assert.ok(Date.now() - t0 < 3000, "close did not wait for the peer");
    assert.equal(rb.refCount, 1, "every lent reference came back");
    assert.ok(p.stats.drops > 0, "what never went out is counted");
    assert.equal(p.stats.completionsPending, 0);
    rb.release();
    server.close();
  });

  it("drops a connection that sends an oversize frame, reports it as a fault, and keeps serving others", async function () {
    const b = await openPort({ ...tcp, maxMessageBytes: 1000 });
    // no 'error' listener: a fault of one peer must not need one
    const errors: Error[] = [];
    b.on("fault", (f: PortFault) => errors.push(f.error));
    const s = net.connect(b.localAddress.port, "127.0.0.1");
    await new Promise<void>((r) => s.once("connect", () => r()));
    s.write(Buffer.from([...lengthPrefix(5000), 1, 2, 3]));
    await new Promise<void>((r) => s.once("close", () => r()));
    assert.ok(errors.some((e) => /exceeds maxMessageBytes 1000/.test(e.message)));
    assert.equal(b.stats.drops, 1);
    assert.equal(b.stats.faults.oversize, 1);
    const a = await openPort({ ...tcp });
    const got = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 8 })), b.localAddress);
    const [m] = await got;
    assert.equal(m!.decode(Blob).id, 8);
    m!.release();
    await a.close();
    await b.close();
  });
});
}

describe("tcp framing", function () {
  it("FrameReader: views inside a chunk, assembles frames split anywhere, rejects bad prefixes", function () {
    const msgs = [new Uint8Array(0), fill(new Uint8Array(5), 1), fill(new Uint8Array(300), 2), fill(new Uint8Array(20000), 3)];
    const stream: number[] = [];
    for (const m of msgs) stream.push(...lengthPrefix(m.length), ...m);
    const all = Uint8Array.from(stream);
    for (const step of [1, 2, 3, 7, 299, 4096, all.length]) {
      const fr = new FrameReader(1 << 20);
      const out: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += step) fr.push(all.subarray(i, i + step), (m) => out.push(m));
      assert.equal(out.length, msgs.length, `step ${step}`);
      for (let i = 0; i < msgs.length; i++) assert.ok(equalBytes(out[i]!, msgs[i]!), `step ${step} message ${i}`);
      assert.equal(fr.pending, 0);
    }
    const whole = new FrameReader(1 << 20);
    const views: Uint8Array[] = [];
    whole.push(all, (m) => views.push(m));
    assert.ok(views.every((v) => v.buffer === all.buffer), "frames inside one chunk are views, not copies");
    assert.throws(() => new FrameReader(100).push(Uint8Array.from([0xc8, 0x01]), () => {}), FrameError);
    assert.throws(() => new FrameReader(1 << 30).push(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), () => {}), /longer than 5 bytes/);
  });

});
