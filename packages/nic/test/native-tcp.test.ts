/**
 * The native kernel TCP engine (`openPort({ backend: "tcp", engine: "native" })`) beyond what
 * tcp.test.ts and hostile-peers.test.ts run on both engines: received messages as views of pooled
 * buffers, what is copied on receive, what a peer's length prefix can make the port reserve,
 * plain `net` peers both ways, IPv6, workers.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as net from "node:net";
import protobuf from "protobufjs";
import { SgList } from "@sgwire/core";
import { openPort, lengthPrefix, type ReceivedMessage } from "../src/index.js";
import { Blob, PbBlob, equalBytes, fill } from "./fixtures/blob.js";
import { collect, faultsOf, sleep, until } from "./suite/helpers.js";

const native = { backend: "tcp", engine: "native" } as const;
const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");

function frame(id: number, keyBytes: number): Buffer {
  const body = Blob.toBinary(Blob.create({ id, key: fill(new Uint8Array(keyBytes), id) }));
  return Buffer.concat([lengthPrefix(body.length), body]);
}

describe("tcp port, native engine", function () {
  this.timeout(30000);

  it("says which engine it is, binds 127.0.0.1 on a free port, and checks its options first", async function () {
    const p = await openPort(native);
    assert.equal(p.caps.backend, "tcp");
    assert.equal(p.caps.driver, "kernel-tcp-native");
    assert.equal(p.caps.driverCopies, "all");
    assert.equal(p.localAddress.address, "127.0.0.1");
    assert.ok(p.localAddress.port > 0);
    await assert.rejects(openPort({ ...native, bind: { port: p.localAddress.port } }), (e: Error & { code?: string }) => e.code === "EADDRINUSE" && /EADDRINUSE/.test(e.message));
    await p.close();
    await assert.rejects(openPort({ backend: "tcp", engine: "fast" as never }), /engine must be "net" or "native"/);
    await assert.rejects(openPort({ backend: "tcp", engine: "net", debugReleasedBuffers: true }), /debugReleasedBuffers applies to engine "native" only/);
    await assert.rejects(openPort({ ...native, bind: { address: "not-an-address" } }), /address/);
  });

  it("messages that arrive together are views of one pooled buffer; released buffers are reused", async function () {
    const b = await openPort(native);
    const s = net.connect(b.localAddress.port, "127.0.0.1");
    await new Promise<void>((r) => s.once("connect", () => r()));
    const got = collect(b, 50);
    s.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => frame(i + 1, 100))));
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), Array.from({ length: 50 }, (_, i) => i + 1));
    const bufs = new Set(ms.map((m) => m.bytes.buffer));
    assert.ok(bufs.size <= 2, `50 small messages in ${bufs.size} buffers`);
    assert.ok(ms.every((m) => m.bytes.buffer.byteLength >= 128 * 1024), "views of the receive buffers, not copies");
    assert.equal(b.stats.rxBytesCopied, 0, "nothing copied on receive");
    for (const m of ms) m.release();
    // 4 MB of 1 KB frames, each released as it arrives: the stream passes through the shared
    // buffer many times over, and released buffers come back from the pool instead of new ones
    const seen = new Set<ArrayBufferLike>();
    let n = 0;
    b.onMessage((m) => {
      // frames cut by a read's end arrive in buffers of their own; the rest in the shared ones
      if (m.bytes.buffer.byteLength === 256 * 1024) seen.add(m.bytes.buffer);
      n++;
      m.release();
    });
    for (let i = 0; i < 4; i++) s.write(Buffer.concat(Array.from({ length: 1000 }, (_, k) => frame(100 + i * 1000 + k, 1000))));
    await until(() => n === 4000, "4000 frames");
    assert.ok(seen.size >= 1 && seen.size <= 3, `4 MB read through ${seen.size} shared receive buffers of 256 KiB`);
    s.destroy();
    await b.close();
  });

  it("a frame split across reads is one view; its first bytes moved once (rxBytesCopied), and a large frame moves far less than the net engine assembles", async function () {
    const results: Record<string, { copied: number; ok: boolean }> = {};
    for (const engine of ["net", "native"] as const) {
      const b = await openPort({ backend: "tcp", engine, maxMessageBytes: 8 << 20 });
      const s = net.connect(b.localAddress.port, "127.0.0.1");
      await new Promise<void>((r) => s.once("connect", () => r()));
      const got = collect(b, 2);
      const big = frame(2, 4 << 20);
      // a small frame, then a 4 MiB one written in pieces with pauses: it arrives in many reads
      s.write(frame(1, 1000));
      for (let i = 0; i < big.length; i += 300_000) {
        s.write(big.subarray(i, i + 300_000));
        await sleep(2);
      }
      const ms = await got;
      const d = ms[1]!.decode(Blob);
      const ok = d.id === 2 && equalBytes(d.key, fill(new Uint8Array(4 << 20), 2)) && ms[0]!.decode(Blob).id === 1;
      results[engine] = { copied: b.stats.rxBytesCopied, ok };
      for (const m of ms) m.release();
      s.destroy();
      await b.close();
    }
    assert.ok(results.net!.ok && results.native!.ok, "both engines deliver both frames intact");
    assert.ok(results.net!.copied >= 4 << 20, `net assembles the whole frame (${results.net!.copied} bytes)`);
    assert.ok(results.native!.copied > 0 && results.native!.copied <= 1.5 * (1 << 20), `native moves at most ~1 MiB of it (${results.native!.copied} bytes)`);
  });

  it("length prefixes claiming more than peers send reserve memory in proportion to what arrived (a port-wide budget), and cut-off frames are truncated faults", async function () {
    const b = await openPort({ ...native, maxMessageBytes: 64 << 20 });
    const faults = faultsOf(b);
    const socks: net.Socket[] = [];
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    // 8 peers claiming 60 MiB each, and 32 claiming 8 MiB each (each of those alone within the
    // port's 16 MiB reserve budget): 736 MiB claimed, about 1.3 MB sent
    const claims = [...Array.from({ length: 8 }, () => 60 << 20), ...Array.from({ length: 32 }, () => 8 << 20)];
    for (const claim of claims) {
      const s = net.connect(b.localAddress.port, "127.0.0.1");
      await new Promise<void>((r) => s.once("connect", () => r()));
      s.write(Buffer.concat([lengthPrefix(claim), Buffer.alloc(30_000, 7)]));
      socks.push(s);
    }
    await sleep(300);
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 24 << 20, `receive memory grew by ${grew} bytes`);
    for (const s of socks) s.destroy();
    await until(() => b.stats.faults.truncated === claims.length, "every frame truncated");
    assert.equal(b.stats.messagesReceived, 0);
    assert.ok(faults.every((f) => f.kind === "truncated" || f.kind === "peer-reset"));
    // the budget is back: a 10 MiB frame now gets its whole buffer at once (one move of its first bytes)
    const s = net.connect(b.localAddress.port, "127.0.0.1");
    await new Promise<void>((r) => s.once("connect", () => r()));
    const got = collect(b, 1);
    const copied0 = b.stats.rxBytesCopied;
    s.write(frame(5, 10 << 20));
    const [m] = await got;
    assert.equal(m!.decode(Blob).id, 5);
    assert.ok(b.stats.rxBytesCopied - copied0 <= 256 * 1024, `moved ${b.stats.rxBytesCopied - copied0} bytes of a 10 MiB frame`);
    m!.release();
    s.destroy();
    await b.close();
  });

  it("a connection holds no receive memory of its own until a frame arrives in pieces: 500 idle connections", async function () {
    const b = await openPort(native);
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const socks: net.Socket[] = [];
    for (let i = 0; i < 500; i++) {
      const s = net.connect(b.localAddress.port, "127.0.0.1");
      s.on("error", () => {});
      socks.push(s);
    }
    await Promise.all(socks.map((s) => new Promise<void>((r) => (s.readyState === "open" ? r() : s.once("connect", () => r())))));
    await until(() => (b as unknown as { connections: number }).connections === 500, "500 connections accepted");
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 4 << 20, `500 idle connections: receive memory grew by ${grew} bytes`);
    for (const s of socks) s.destroy();
    await b.close();
  });

  it("while received messages hold many shared buffers, new messages are copied out instead (rxCopied), and every message stays intact", async function () {
    const b = await openPort(native);
    const s = net.connect(b.localAddress.port, "127.0.0.1");
    await new Promise<void>((r) => s.once("connect", () => r()));
    const held: ReceivedMessage[] = [];
    let seen = 0;
    let bad = 0;
    b.onMessage((m) => {
      const d = m.decode(Blob);
      if (!equalBytes(d.key, fill(new Uint8Array(2000), d.id))) bad++;
      seen++;
      // every 100th is held: each shared buffer stays held by one message or more
      if (d.id % 100 === 0) held.push(m);
      else m.release();
    });
    const n = 6000;
    for (let i = 1; i <= n; i += 200) s.write(Buffer.concat(Array.from({ length: 200 }, (_, k) => frame(i + k, 2000))));
    await until(() => seen === n, "every message", 20000);
    assert.equal(bad, 0);
    const st = b.stats;
    assert.ok(st.rxCopied > 0, "copied out once many buffers were held");
    assert.ok(st.rxCopied < n, "views before that");
    for (const m of held) {
      const d = m.decode(Blob);
      assert.ok(equalBytes(d.key, fill(new Uint8Array(2000), d.id)), `held message ${d.id} intact`);
      m.release();
    }
    s.destroy();
    await b.close();
  });

  it("out of descriptors (EMFILE) while a peer keeps connecting: socket-error faults, no spinning on the listening socket, and it serves again", function () {
    // a process of its own with a low descriptor limit (test/e2e/tcp-emfile.ts)
    const r = spawnSync("bash", ["-c", `ulimit -n 80 && exec "${process.execPath}" --import tsx test/e2e/tcp-emfile.ts`], { cwd: pkg, encoding: "utf8", timeout: 50000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { cpuMs: number; socketErrors: number; served: number; sent: number };
    assert.ok(out.socketErrors >= 1 && out.socketErrors <= 40, `accept failures reported, about one per 100 ms rest: ${JSON.stringify(out)}`);
    assert.ok(out.cpuMs < 300, `a second of EMFILE cost ${out.cpuMs} ms of CPU`);
    assert.equal(out.served, 9, "accepts a connection again and reads from it");
    assert.equal(out.sent, 7, "and dials out");
  });

  it("talks to plain net sockets both ways (protobufjs decodes what it writes, it decodes what they write), over IPv6 too", async function () {
    for (const address of ["127.0.0.1", "::1"]) {
      const chunks: Buffer[] = [];
      let peer!: net.Socket;
      const server = net.createServer((s) => {
        peer = s;
        s.on("data", (c) => chunks.push(c));
      });
      await new Promise<void>((r) => server.listen(0, address, () => r()));
      const p = await openPort({ ...native, bind: { address } });
      const to = { address, port: (server.address() as net.AddressInfo).port };
      const rb = p.allocate(50_000);
      fill(rb.bytes, 5);
      p.send(Blob.encode(Blob.create({ id: 1, chunks: [rb.bytes] }), p.policy), to);
      p.send({ codec: Blob, message: Blob.create({ id: 2, key: Uint8Array.of(1, 2) }) }, to);
      await p.completions();
      await until(() => Buffer.concat(chunks).length > 50_000, "the bytes at the plain socket");
      const r = protobuf.Reader.create(Buffer.concat(chunks));
      const m1 = PbBlob.decodeDelimited(r) as unknown as { id: number; chunks: Uint8Array[] };
      const m2 = PbBlob.decodeDelimited(r) as unknown as { id: number };
      assert.equal(m1.id, 1);
      assert.ok(equalBytes(m1.chunks[0]!, rb.bytes));
      assert.equal(m2.id, 2);
      // the plain socket answers over the same connection: it arrives with that connection's source
      const back = collect(p, 1);
      peer.write(frame(3, 10));
      const [m] = await back;
      assert.equal(m!.decode(Blob).id, 3);
      assert.equal(m!.source.address, address);
      assert.equal(m!.source.port, to.port);
      m!.release();
      rb.release();
      await p.close();
      server.close();
    }
  });

  it("counts a message as sent only once the peer acknowledged it, and sends 20,000 messages in order through one connection", async function () {
    const a = await openPort(native);
    const b = await openPort(native);
    const ids: number[] = [];
    b.onMessage((m: ReceivedMessage) => {
      ids.push(m.decode(Blob).id);
      m.release();
    });
    const rb = a.allocate(3000);
    fill(rb.bytes, 1);
    for (let i = 1; i <= 20_000; i++) {
      if (!a.send(Blob.encode(Blob.create({ id: i, chunks: [rb.bytes] }), a.policy), b.localAddress)) await a.drained();
    }
    await a.completions();
    await until(() => ids.length === 20_000, "every message", 20000);
    assert.deepEqual(ids.slice(0, 5), [1, 2, 3, 4, 5]);
    assert.ok(ids.every((id, i) => id === i + 1), "in order");
    await until(() => a.stats.messagesSent === 20_000, "every acknowledgement");
    assert.equal(rb.refCount, 1, "every lent reference came back");
    assert.equal(a.stats.drops, 0);
    assert.equal((a as unknown as { connections: number }).connections, 1, "one connection");
    await a.close();
    await b.close();
  });

  it("MSG_ZEROCOPY: 100,000 messages, each lent buffer rewritten only after its completion, every one received byte-identical", async function () {
    this.timeout(120000);
    const a = await openPort({ ...native, zeroCopyThreshold: 1024 });
    const b = await openPort(native);
    assert.equal(a.caps.driverCopies, "some");
    const total = 100_000;
    const size = 2048;
    // a pool of buffers: one is written only when no send holds it (refCount 1: the pool's own)
    const pool = Array.from({ length: 64 }, () => a.allocate(size));
    let bad = 0;
    let received = 0;
    b.onMessage((m) => {
      const msg = m.decode(Blob);
      const v = msg.chunks[0]!;
      // every byte carries the message id: a buffer rewritten before the kernel was done with it
      // would show another message's bytes here
      const want = msg.id & 0xff;
      if (msg.id !== received + 1 || v.length !== size || v[0] !== want || v[size - 1] !== want || v[size >> 1] !== want) bad++;
      received++;
      m.release();
    });
    const list = new SgList(64);
    let next = 0;
    for (let id = 1; id <= total; id++) {
      const rb = pool[next++ % pool.length]!;
      // wait for this buffer's completion before writing it again
      while (rb.refCount > 1) await sleep(0);
      rb.bytes.fill(id & 0xff);
      if (!a.send(Blob.encode(Blob.create({ id, chunks: [rb.bytes] }), { ...a.policy, into: list }), b.localAddress)) await a.drained();
    }
    await a.completions();
    await until(() => received === total, "every message received", 30000);
    await until(() => a.stats.messagesSent === total, "every acknowledgement");
    const st = a.stats;
    assert.equal(bad, 0);
    assert.equal(b.stats.drops, 0);
    assert.equal(st.zeroCopySent, total);
    assert.equal(st.completionsPending, 0);
    // on loopback the kernel copies anyway, and the ledger says so: what it reported copied
    assert.ok(st.zeroCopyCopied <= total);
    // every message is its prefix, id and 2048 bytes (2055 to 2057 bytes on the wire): the kernel's
    // copies are those of the messages it reported copied
    assert.ok(st.copies.driver >= st.zeroCopyCopied * 2055 && st.copies.driver <= st.zeroCopyCopied * 2057, `driver ${st.copies.driver} for ${st.zeroCopyCopied} copied`);
    for (const rb of pool) assert.equal(rb.refCount, 1);
    for (const rb of pool) rb.release();
    await a.close();
    await b.close();
  });

  it("zeroCopyThreshold: small messages are written as usual and complete at once; the option is checked", async function () {
    const a = await openPort({ ...native, zeroCopyThreshold: 4096 });
    const b = await openPort(native);
    const got = collect(b, 2);
    const small = a.allocate(100);
    const big = a.allocate(8192);
    a.send(Blob.encode(Blob.create({ id: 1, chunks: [small.bytes] }), { ...a.policy, copyThreshold: 0 }), b.localAddress);
    a.send(Blob.encode(Blob.create({ id: 2, chunks: [big.bytes] }), a.policy), b.localAddress);
    await a.completions();
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), [1, 2]);
    for (const m of ms) m.release();
    assert.equal(a.stats.zeroCopySent, 1);
    assert.equal(small.refCount, 1);
    assert.equal(big.refCount, 1);
    small.release();
    big.release();
    await a.close();
    await b.close();
    await assert.rejects(openPort({ backend: "tcp", engine: "net", zeroCopyThreshold: 10 }), /zeroCopyThreshold applies to engine "native" only/);
    await assert.rejects(openPort({ ...native, zeroCopyThreshold: 0 }), /zeroCopyThreshold must be a number >= 1/);
  });

  it("MSG_ZEROCOPY to a peer that resets: the lent buffers come back, and nothing unacknowledged counts as sent", async function () {
    let peer!: net.Socket;
    const server = net.createServer((s) => {
      peer = s;
      s.pause();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const dest = { address: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
    const p = await openPort({ ...native, zeroCopyThreshold: 1024, closeTimeoutMs: 300 });
    const rb = p.allocate(64 * 1024);
    for (let i = 0; i < 100; i++) p.send(Blob.encode(Blob.create({ id: i + 1, chunks: [rb.bytes] }), p.policy), dest);
    await until(() => peer !== undefined, "the peer");
    await sleep(100);
    assert.ok(rb.refCount > 1, "lent to the kernel or queued");
    peer.resetAndDestroy();
    await until(() => p.stats.faults["peer-reset"] === 1, "the reset");
    await until(() => rb.refCount === 1, "every lent reference back");
    const st = p.stats;
    assert.equal(st.messagesSent + st.faults["send-failed"], 100, `sent ${st.messagesSent} + failed ${st.faults["send-failed"]}`);
    assert.ok(st.faults["send-failed"] > 0);
    assert.equal(st.completionsPending, 0);
    rb.release();
    await p.close();
    server.close();
  });

  it("debugReleasedBuffers: a released message's bytes are overwritten with 0xDB", async function () {
    const a = await openPort(native);
    const b = await openPort({ ...native, debugReleasedBuffers: true });
    const got = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 4, key: fill(new Uint8Array(64), 3) })), b.localAddress);
    const [m] = await got;
    const view = m!.bytes;
    m!.release();
    assert.ok(view.every((x) => x === 0xdb), "poisoned");
    assert.equal(m!.bytes.length, 0);
    await a.close();
    await b.close();
  });
});
