/**
 * The native kernel UDP engine (`openPort({ backend: "udp", engine: "native" })`): the backend
 * suite, interoperability with plain dgram sockets, exact drop accounting, slots, refusals.
 */
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { readdirSync } from "node:fs";
import { SgList } from "@sgwire/core";
import { calibrate, nicInfo, openPort, type Port, type PortFault, type ReceivedMessage } from "../src/index.js";
import { describeWith } from "./suite/requirements.js";
import { Blob, PbBlob, equalBytes, fill } from "./fixtures/blob.js";
import { backendSuite } from "./suite/backend-suite.js";
import { collect, faultsOf, sleep, until } from "./suite/helpers.js";

const uring = nicInfo().backends.find((b) => b.name === "udp")!.engines!.find((e) => e.name === "uring")!;

// the same tests on both engines that drive the addon's socket: plain system calls, and io_uring
for (const engine of ["native", "uring"] as const) {
const native = { backend: "udp", engine } as const;
const suite = engine === "uring" ? describeWith("io_uring", uring.available ? undefined : (uring.reason ?? "io_uring")) : describe;

// without io_uring the uring engine's backend suite is pending, with the reason, not gone
suite(`udp ${engine} engine (loopback)`, function () {
  backendSuite(`udp ${engine} engine (loopback)`, async () => {
    const a = await openPort(native);
    const b = await openPort(native);
    return { a, b, toB: b.localAddress, close: async () => { await a.close(); await b.close(); } };
  });
});

suite(`udp port, ${engine} engine`, function () {
  this.timeout(30000);

  it("says which engine it is and binds 127.0.0.1 on a free port", async function () {
    const p = await openPort(native);
    assert.equal(p.caps.backend, "udp");
    assert.equal(p.caps.driver, `kernel-udp-${engine}`);
    assert.equal(p.caps.driverCopies, "all");
    assert.equal(p.localAddress.address, "127.0.0.1");
    assert.ok(p.localAddress.port > 0);
    await p.close();
  });

  it("checks its options before opening anything", async function () {
    await assert.rejects(openPort({ backend: "udp", engine: "fast" as never }), /engine must be "native", "uring" or "dgram"/);
    await assert.rejects(openPort({ backend: "udp", engine: "dgram", rxSlots: 4 }), /rxSlots applies to the engines "native" and "uring" only/);
    await assert.rejects(openPort({ ...native, rxSlots: 0 }), /rxSlots/);
    await assert.rejects(openPort({ ...native, bind: { address: "not-an-address" } }), /address/);
  });

  it("talks to plain dgram sockets both ways: protobufjs decodes what it sends, it decodes what they send", async function () {
    const plain = dgram.createSocket("udp4");
    await new Promise<void>((r) => plain.bind(0, "127.0.0.1", () => r()));
    const got = new Promise<Buffer>((r) => plain.once("message", (b) => r(b)));
    const p = await openPort(native);
    const rb = p.allocate(2000);
    fill(rb.bytes, 42);
    p.send(Blob.encode(Blob.create({ id: 12345, key: Uint8Array.of(1, 2, 3), chunks: [rb.bytes], crc: 1 }), p.policy), { address: "127.0.0.1", port: plain.address().port });
    const d = PbBlob.decode(await got) as unknown as { id: number; chunks: Uint8Array[] };
    assert.equal(d.id, 12345);
    assert.ok(equalBytes(d.chunks[0]!, rb.bytes));
    const back = collect(p, 1);
    const wire = Buffer.from(PbBlob.encode(PbBlob.create({ id: 777, key: Buffer.from("hi") })).finish());
    plain.send(wire, p.localAddress.port, "127.0.0.1");
    const [m] = await back;
    assert.equal(m!.decode(Blob).id, 777);
    assert.equal(m!.source.address, "127.0.0.1");
    assert.equal(m!.source.port, plain.address().port);
    m!.release();
    await p.close();
    rb.release();
    plain.close();
  });

  it("sends thousands of messages to two receivers in bursts, every one in order", async function () {
    const a = await openPort(native);
    const b = await openPort(native);
    const c = await openPort(native);
    const idsB: number[] = [];
    const idsC: number[] = [];
    b.onMessage((m) => { idsB.push(m.decode(Blob).id); m.release(); });
    c.onMessage((m) => { idsC.push(m.decode(Blob).id); m.release(); });
    const n = 2000;
    const per = 100; // per turn: what a receiver in this same process reads before its socket buffer fills
    for (let i = 1; i <= n; i++) {
      // destinations interleaved; more than one sendmmsg burst per turn
      a.send(Blob.encode(Blob.create({ id: i, key: new Uint8Array(8).fill(i & 0xff) })), b.localAddress);
      a.send(Blob.encode(Blob.create({ id: n + i })), c.localAddress);
      if (i % per === 0) await until(() => idsB.length === i && idsC.length === i, `${i} messages each`);
    }
    assert.deepEqual(idsB, Array.from({ length: n }, (_, i) => i + 1));
    assert.deepEqual(idsC, Array.from({ length: n }, (_, i) => n + i + 1));
    assert.equal(a.stats.messagesSent, 2 * n);
    assert.equal(a.stats.queued, 0);
    assert.equal(b.stats.drops + c.stats.drops, 0);
    for (const p of [a, b, c]) await p.close();
  });

  it("datagrams the kernel dropped (receive buffer full) are counted as rx-overflow, exactly", async function () {
    const b = await openPort(native);
    const faults = faultsOf(b);
    b.onMessage((m) => m.release());
    const plain = dgram.createSocket("udp4");
    await new Promise<void>((r) => plain.bind(0, "127.0.0.1", () => r()));
    const total = 3000;
    let sent = 0;
    const payload = Buffer.alloc(1000, 9);
    // sent in one turn of the event loop: the port cannot read meanwhile, the socket buffer overflows
    for (let i = 0; i < total; i++) plain.send(payload, b.localAddress.port, "127.0.0.1", (err) => (err ? undefined : sent++));
    await until(() => sent === total, "every datagram handed to the kernel");
    await until(() => b.stats.messagesReceived + b.stats.faults["rx-overflow"] === total, "received + dropped = sent");
    const st = b.stats;
    assert.ok(st.faults["rx-overflow"] > 0, "the receive buffer overflowed");
    assert.equal(st.drops, st.faults["rx-overflow"]);
    assert.equal(faults.reduce((n, f) => n + (f.kind === "rx-overflow" ? f.count : 0), 0), st.faults["rx-overflow"]);
    plain.close();
    await b.close();
  });

  it("received messages are views of receive slots; past three quarters held, new ones are copied and reading goes on", async function () {
    const a = await openPort(native);
    const b = await openPort({ ...native, rxSlots: 8 });
    const held: ReceivedMessage[] = [];
    const got = collect(b, 20);
    // sizes differ, so UDP GRO never joins two of them into one slot
    for (let i = 1; i <= 20; i++) a.send(Blob.encode(Blob.create({ id: i, key: new Uint8Array(i) })), b.localAddress);
    held.push(...(await got));
    assert.deepEqual(held.map((m) => m.decode(Blob).id), Array.from({ length: 20 }, (_, i) => i + 1));
    const slotBuffer = held[0]!.bytes.buffer;
    // 6 of 8 slots held as views, the rest copied into memory of their own
    assert.equal(held.filter((m) => m.bytes.buffer === slotBuffer).length, 6);
    assert.equal(b.stats.rxCopied, 14);
    assert.equal(b.stats.rxHeld, 20);
    for (const m of held) m.release();
    assert.equal(b.stats.rxHeld, 0);
    // with the slots back, messages are views again
    const again = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 21 })), b.localAddress);
    const [m] = await again;
    assert.equal(m!.bytes.buffer, slotBuffer);
    assert.equal(b.stats.rxCopied, 14);
    m!.release();
    await a.close();
    await b.close();
  });

  it("a released message's bytes are gone: the slot is read into again", async function () {
    const a = await openPort(native);
    const b = await openPort({ ...native, rxSlots: 1 });
    const first = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 1 })), b.localAddress);
    const [m] = await first;
    const view = m!.bytes;
    m!.release();
    assert.equal(m!.bytes.length, 0);
    assert.throws(() => m!.decode(Blob), /released/);
    const second = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 2 })), b.localAddress);
    const [n] = await second;
    assert.equal(n!.decode(Blob).id, 2);
    assert.equal(n!.bytes.buffer, view.buffer, "the same slot memory");
    n!.release();
    await a.close();
    await b.close();
  });

  it("a datagram the kernel refuses (broadcast without SO_BROADCAST) is send-failed; the others in its burst go", async function () {
    const a = await openPort(native);
    const b = await openPort(native);
    const faults = faultsOf(a);
    const got = collect(b, 2);
    a.send(Blob.encode(Blob.create({ id: 1 })), b.localAddress);
    a.send(Blob.encode(Blob.create({ id: 99 })), { address: "255.255.255.255", port: 9 });
    a.send(Blob.encode(Blob.create({ id: 2 })), b.localAddress);
    await a.completions();
    assert.deepEqual((await got).map((m) => { const id = m.decode(Blob).id; m.release(); return id; }), [1, 2]);
    assert.equal(a.stats.faults["send-failed"], 1);
    assert.equal(a.stats.messagesSent, 2);
    assert.equal(faults[0]!.peer?.address, "255.255.255.255");
    await a.close();
    await b.close();
  });

  it("refuses a destination of the other address family with a TypeError, having queued nothing", async function () {
    const a = await openPort(native);
    assert.throws(() => a.send(Blob.encode(Blob.create({ id: 1 })), { address: "::1", port: 9 }), TypeError);
    assert.equal(a.stats.queued, 0);
    assert.equal(a.stats.completionsPending, 0);
    await a.close();
  });

  it("speaks IPv6 when bound to ::1", async function () {
    const a = await openPort({ ...native, bind: { address: "::1" } });
    const b = await openPort({ ...native, bind: { address: "::1" } });
    const got = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 6 })), b.localAddress);
    const [m] = await got;
    assert.equal(m!.decode(Blob).id, 6);
    assert.equal(m!.source.address, "::1");
    assert.equal(m!.source.port, a.localAddress.port);
    m!.release();
    await a.close();
    await b.close();
  });

  it("MSG_ZEROCOPY: 100,000 messages, each lent buffer rewritten only after its completion, every one received byte-identical", async function () {
    this.timeout(120000);
    const a = await openPort({ ...native, zeroCopyThreshold: 1024 });
    const b = await openPort({ ...native, rxSlots: 512 });
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
      if (v.length !== size || v[0] !== want || v[size - 1] !== want || v[size >> 1] !== want) bad++;
      received++;
      m.release();
    });
    const list = new SgList(64);
    let next = 0;
    for (let id = 1; id <= total; id++) {
      let rb = pool[next % pool.length]!;
      // wait for this buffer's completion before writing it again
      while (rb.refCount > 1) {
        await sleep(0);
        rb = pool[next % pool.length]!;
      }
      next++;
      rb.bytes.fill(id & 0xff);
      a.send(Blob.encode(Blob.create({ id, chunks: [rb.bytes] }), { ...a.policy, into: list }), b.localAddress);
      // a receiver in this process reads between turns: let it keep up
      if (id % 256 === 0) await until(() => received >= id - 256, `${id - 256} received`, 30000);
    }
    await a.completions();
    await until(() => received === total, "every message received", 30000);
    const st = a.stats;
    assert.equal(bad, 0);
    assert.equal(b.stats.drops, 0);
    assert.equal(st.zeroCopySent, total);
    assert.equal(st.messagesSent, total);
    assert.equal(st.completionsPending, 0);
    // on loopback the kernel copies anyway, and the ledger says so: what it reported copied
    assert.ok(st.zeroCopyCopied <= total);
    assert.equal(st.copies.driver, Math.round((st.bytesSent / total) * st.zeroCopyCopied));
    for (const rb of pool) assert.equal(rb.refCount, 1);
    for (const rb of pool) rb.release();
    await a.close();
    await b.close();
  });

  it("zeroCopyThreshold: small messages go without MSG_ZEROCOPY and complete at once", async function () {
    const a = await openPort({ ...native, zeroCopyThreshold: 4096 });
    const b = await openPort(native);
    const got = collect(b, 2);
    const small = a.allocate(100);
    const big = a.allocate(8192);
    a.send(Blob.encode(Blob.create({ id: 1, chunks: [small.bytes] }), { ...a.policy, copyThreshold: 0 }), b.localAddress);
    a.send(Blob.encode(Blob.create({ id: 2, chunks: [big.bytes] }), a.policy), b.localAddress);
    await a.completions();
    for (const m of await got) m.release();
    assert.equal(a.stats.zeroCopySent, 1);
    assert.equal(small.refCount, 1);
    assert.equal(big.refCount, 1);
    small.release();
    big.release();
    await a.close();
    await b.close();
    await assert.rejects(openPort({ backend: "udp", engine: "dgram", zeroCopyThreshold: 10 }), /zeroCopyThreshold applies to the engines "native" and "uring" only/);
    await assert.rejects(openPort({ ...native, zeroCopyThreshold: 0 }), /zeroCopyThreshold must be a number >= 1/);
  });

  it("at the high-water mark send() returns false; the turn's burst goes out and 'drain' comes once", async function () {
    const a = await openPort({ ...native, highWaterMark: 4 });
    const b = await openPort(native);
    const got = collect(b, 5);
    let drains = 0;
    a.on("drain", () => drains++);
    const r: boolean[] = [];
    for (let i = 1; i <= 4; i++) r.push(a.send(Blob.encode(Blob.create({ id: i })), b.localAddress));
    assert.deepEqual(r, [true, true, true, false], "four waiting for the end of the turn reach the mark");
    assert.equal(a.stats.queued, 4, "not handed to the kernel before the turn ends");
    await a.drained();
    assert.equal(drains, 1);
    assert.equal(a.stats.queued, 0);
    assert.equal(a.send(Blob.encode(Blob.create({ id: 5 })), b.localAddress), true);
    await a.completions();
    await sleep(10);
    assert.equal(drains, 1, "no 'drain' without a false before it");
    assert.deepEqual((await got).map((m) => { const id = m.decode(Blob).id; m.release(); return id; }), [1, 2, 3, 4, 5]);
    await a.close();
    await b.close();
  });

  it("a bind that fails (address in use) throws EADDRINUSE and leaves no descriptor open", async function () {
    const fds = (): number => readdirSync("/proc/self/fd").length;
    const a = await openPort(native);
    const before = fds();
    await assert.rejects(openPort({ ...native, bind: { port: a.localAddress.port } }), /EADDRINUSE|Address already in use/);
    assert.equal(fds(), before);
    await a.close();
    // the socket, and with io_uring the ring and its eventfd
    assert.equal(fds(), before - (engine === "uring" ? 3 : 1), "close() closed the socket");
  });

  it("UDP GSO: a run of equal datagrams to one destination is one send; a plain socket receives each datagram", async function () {
    const a = (await openPort(native)) as import("../src/kernel/native-udp-port.js").NativeUdpPort;
    if (!a.gso) {
      await a.close();
      this.skip(); // a kernel before 4.18: no UDP_SEGMENT
    }
    const plain = dgram.createSocket("udp4");
    await new Promise<void>((r) => plain.bind(0, "127.0.0.1", () => r()));
    const got: Buffer[] = [];
    plain.on("message", (b) => got.push(b));
    const to = { address: "127.0.0.1", port: plain.address().port };
    const b = await openPort(native);
    const other: number[] = [];
    b.onMessage((m) => { other.push(m.decode(Blob).id); m.release(); });
    // 100 equal messages to the plain socket, interleaved with nothing; then 20 of varying sizes
    // and two destinations interleaved (no run to group)
    for (let i = 1; i <= 100; i++) a.send(Blob.encode(Blob.create({ id: 1000 + i, key: new Uint8Array(200).fill(i) })), to);
    await a.completions();
    const grouped = a.gsoSends;
    assert.ok(grouped >= 2 && grouped <= 4, `100 datagrams in ${grouped} GSO sends`);
    for (let i = 1; i <= 20; i++) {
      a.send(Blob.encode(Blob.create({ id: 2000 + i, key: new Uint8Array(i) })), to);
      a.send(Blob.encode(Blob.create({ id: 3000 + i })), b.localAddress);
    }
    await a.completions();
    assert.equal(a.gsoSends, grouped, "nothing to group");
    await until(() => got.length === 120 && other.length === 20, "every datagram");
    const ids = got.map((x) => (PbBlob.decode(x) as unknown as { id: number }).id);
    assert.deepEqual(ids, [...Array.from({ length: 100 }, (_, i) => 1001 + i), ...Array.from({ length: 20 }, (_, i) => 2001 + i)]);
    for (let i = 0; i < 100; i++) {
      const key = (PbBlob.decode(got[i]!) as unknown as { key: Uint8Array }).key;
      assert.ok(key.length === 200 && key.every((x) => x === i + 1), `datagram ${i} byte-identical`);
    }
    assert.deepEqual(other, Array.from({ length: 20 }, (_, i) => 3001 + i));
    assert.equal(a.stats.messagesSent, 140);
    plain.close();
    await a.close();
    await b.close();
  });

  it("maxBatch: with 1 a send goes to the kernel at once; by default the turn's sends wait for its end; the option is checked", async function () {
    const b = await openPort(native);
    const one = await openPort({ ...native, maxBatch: 1 });
    one.send(Blob.encode(Blob.create({ id: 1 })), b.localAddress);
    assert.equal(one.stats.queued, 0, "handed to the kernel before send() returned");
    const dflt = await openPort(native);
    dflt.send(Blob.encode(Blob.create({ id: 2 })), b.localAddress);
    assert.equal(dflt.stats.queued, 1, "waits for the end of the turn");
    const four = await openPort({ ...native, maxBatch: 4 });
    for (let i = 0; i < 6; i++) four.send(Blob.encode(Blob.create({ id: 10 + i })), b.localAddress);
    assert.equal(four.stats.queued, 2, "four went at the fourth send, two wait");
    const got = collect(b, 8);
    for (const m of await got) m.release();
    for (const p of [one, dflt, four]) await p.close();
    await b.close();
    await assert.rejects(openPort({ ...native, maxBatch: 65 }), /maxBatch must be an integer 1..64/);
    await assert.rejects(openPort({ backend: "udp", engine: "dgram", maxBatch: 4 }), /maxBatch applies to the engines "native" and "uring" only/);
    await assert.rejects(openPort({ backend: "tcp", engine: "native", maxBatch: 0 }), /maxBatch must be an integer/);
  });

  it("calibrate() measures the native engine's batch sizes and MSG_ZEROCOPY, and recommends the smallest batch within 5% of the best", async function () {
    this.timeout(60000);
    const c = await calibrate(native, { msPerPoint: 15 });
    assert.equal(c.driver, `kernel-udp-${engine}`);
    assert.deepEqual(c.batches!.map((b) => b.batch), [1, 4, 16, 64]);
    const best = Math.max(...c.batches!.map((b) => b.perSecond));
    assert.equal(c.recommendedMaxBatch, c.batches!.find((b) => b.perSecond >= 0.95 * best)!.batch);
    assert.ok(c.recommendedZeroCopyThreshold !== undefined);
    const d = await calibrate({ backend: "udp", engine: "dgram" }, { msPerPoint: 15 });
    assert.equal(d.batches, undefined, "dgram has no batch to choose");
  });

  it("gso: false sends every datagram on its own; a bad gso option is refused before anything opens", async function () {
    const a = (await openPort({ ...native, gso: false })) as import("../src/kernel/native-udp-port.js").NativeUdpPort;
    const b = await openPort(native);
    assert.equal(a.gso, false);
    const got = collect(b, 50);
    for (let i = 1; i <= 50; i++) a.send(Blob.encode(Blob.create({ id: i, key: new Uint8Array(300).fill(i) })), b.localAddress);
    await a.completions();
    assert.equal(a.gsoSends, 0, "no GSO send");
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), Array.from({ length: 50 }, (_, i) => i + 1));
    for (const m of ms) m.release();
    await a.close();
    await b.close();
    await assert.rejects(openPort({ ...native, gso: "no" as never }), /gso must be a boolean/);
    await assert.rejects(openPort({ backend: "udp", engine: "dgram", gso: true }), /gso applies to the engines "native" and "uring" only/);
    const d = await openPort({ backend: "udp", engine: "dgram", gso: false });
    await d.close();
  });

  it("UDP GRO: datagrams of one flow read as one buffer are split into messages that share its slot until the last is released", async function () {
    const a = await openPort(native);
    const b = (await openPort({ ...native, rxSlots: 4 })) as import("../src/kernel/native-udp-port.js").NativeUdpPort;
    if (!b.gro) {
      await a.close();
      await b.close();
      this.skip(); // a kernel before 5.0: no UDP_GRO
    }
    const got = collect(b, 100);
    // equal datagrams to one destination: the sender makes GSO sends, the receiver's kernel keeps them together
    for (let i = 1; i <= 100; i++) a.send(Blob.encode(Blob.create({ id: i, key: new Uint8Array(300).fill(i) })), b.localAddress);
    const ms = await got;
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), Array.from({ length: 100 }, (_, i) => i + 1));
    for (const m of ms) {
      const k = m.decode(Blob);
      assert.ok(k.key.length === 300 && k.key.every((x) => x === k.id), `message ${k.id} byte-identical`);
    }
    const slots = new Set(ms.map((m) => Math.floor(m.bytes.byteOffset / 65536)));
    assert.ok(slots.size <= 4, `100 messages in ${slots.size} slots`);
    assert.equal(b.stats.rxCopied, 0);
    // all but the last message of each slot released: the slots stay taken; then the last ones
    const bySlot = new Map<number, ReceivedMessage[]>();
    for (const m of ms) {
      const s = Math.floor(m.bytes.byteOffset / 65536);
      bySlot.set(s, [...(bySlot.get(s) ?? []), m]);
    }
    for (const group of bySlot.values()) for (const m of group.slice(0, -1)) m.release();
    for (const group of bySlot.values()) assert.ok(group.at(-1)!.bytes.length > 0, "the slot's last message is still readable");
    for (const group of bySlot.values()) group.at(-1)!.release();
    assert.equal(b.stats.rxHeld, 0);
    // every slot back: a new message is a view again, not a copy
    const next = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 101 })), b.localAddress);
    const [m] = await next;
    assert.equal(m!.decode(Blob).id, 101);
    assert.equal(b.stats.rxCopied, 0);
    m!.release();
    await a.close();
    await b.close();
  });

  it("debugReleasedBuffers: a released message's bytes (and views decoded from them) read 0xDB at once", async function () {
    const a = await openPort(native);
    const b = await openPort({ ...native, debugReleasedBuffers: true });
    const got = collect(b, 1);
    a.send(Blob.encode(Blob.create({ id: 7, key: new Uint8Array(40).fill(5) })), b.localAddress);
    const [m] = await got;
    const key = m!.decode(Blob).key; // a view of the receive slot
    assert.ok(key.every((x) => x === 5));
    m!.release();
    assert.ok(key.every((x) => x === 0xdb), "a view kept past release shows the poison");
    await a.close();
    await b.close();
    await assert.rejects(openPort({ backend: "udp", engine: "dgram", debugReleasedBuffers: true }), /debugReleasedBuffers applies to the engines "native" and "uring" only/);
    await assert.rejects(openPort({ ...native, debugReleasedBuffers: "yes" as never }), /debugReleasedBuffers must be a boolean/);
  });

  it("a destination object changed in place is looked up again, not sent to its old address", async function () {
    const a = await openPort(native);
    const b = await openPort(native);
    const c = await openPort(native);
    const gotB = collect(b, 1);
    const gotC = collect(c, 1);
    const d = { ...b.localAddress };
    a.send(Blob.encode(Blob.create({ id: 1 })), d);
    await a.completions();
    d.port = c.localAddress.port;
    a.send(Blob.encode(Blob.create({ id: 2 })), d);
    assert.equal((await gotB)[0]!.decode(Blob).id, 1);
    assert.equal((await gotC)[0]!.decode(Blob).id, 2);
    for (const p of [a, b, c]) await p.close();
  });

  it("close() sends what was accepted first; messages held after close stay readable until released", async function () {
    const a = await openPort(native);
    const b = await openPort(native);
    const got = collect(b, 50);
    for (let i = 1; i <= 50; i++) a.send(Blob.encode(Blob.create({ id: i })), b.localAddress);
    const t0 = Date.now();
    await a.close();
    // everything went out: close() does not wait for its timeout (5 s)
    assert.ok(Date.now() - t0 < 2500, `close() took ${Date.now() - t0} ms`);
    assert.equal(a.stats.messagesSent, 50);
    const ms = await got;
    await b.close();
    assert.deepEqual(ms.map((m) => m.decode(Blob).id), Array.from({ length: 50 }, (_, i) => i + 1));
    for (const m of ms) m.release();
  });
});
}
