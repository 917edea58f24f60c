/**
 * Kernel ports against hostile or failing peers, driven by plain `net`/`dgram` sockets and raw
 * frames. No test here registers an 'error' listener on a port: a fault of one peer or one
 * message must never need one (an unhandled 'error' would fail the test by throwing).
 */
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { readdirSync } from "node:fs";
import { SgList } from "@sgwire/core";
import { openPort, lengthPrefix, type Port, type PortFault, type ReceivedMessage } from "../src/index.js";
import { readSockets, socketFd, socketInode } from "../src/kernel/procfs.js";
import { Blob, fill } from "./fixtures/blob.js";
import { collect, faultsOf, sleep, until } from "./suite/helpers.js";



async function listen(onConn: (s: net.Socket) => void): Promise<{ server: net.Server; dest: { address: string; port: number } }> {
  const server = net.createServer(onConn);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, dest: { address: "127.0.0.1", port: (server.address() as net.AddressInfo).port } };
}

/** A message whose referenced buffer is transferred (detached) after encode(). */
function detachedAfterEncode(p: Port, extra?: Uint8Array): SgList {
  const big = fill(new Uint8Array(4096), 9);
  const list = Blob.encode(Blob.create({ id: 77, chunks: extra === undefined ? [big] : [extra, big] }), p.policy);
  structuredClone(big.buffer, { transfer: [big.buffer] });
  assert.equal(big.byteLength, 0, "the buffer is detached");
  return list;
}

/** Runs `fn` with mocha's uncaught-exception handler replaced by one that records. */
async function catchingUncaught(fn: (seen: unknown[]) => Promise<void>): Promise<void> {
  const saved = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  const seen: unknown[] = [];
  process.on("uncaughtException", (e) => seen.push(e));
  try {
    await fn(seen);
  } finally {
    process.removeAllListeners("uncaughtException");
    for (const l of saved) process.on("uncaughtException", l);
  }
}

const TCP_ENGINES = ["net", "native"] as const;
const UDP_ENGINES = ["dgram", "native"] as const;

describe("kernel ports against hostile peers", function () {
  for (const engine of TCP_ENGINES) {
    const tcp = { backend: "tcp", engine } as const;
    describe(`tcp ${engine}: peer faults never take the process down`, function () {
      it("a peer that resets its connection is a peer-reset fault; the port keeps serving others", async function () {
        const b = await openPort({ ...tcp });
        const faults = faultsOf(b);
        const s = net.connect(b.localAddress.port, "127.0.0.1");
        await new Promise<void>((r) => s.once("connect", () => r()));
        // two bytes of a three-byte frame, then a reset
        s.write(Buffer.from([...lengthPrefix(3), 0x08, 0x01]));
        await sleep(20);
        const sawFrom = s.localPort;
        s.resetAndDestroy();
        await until(() => b.stats.faults["peer-reset"] + b.stats.faults.truncated > 0, "the reset to be seen");
        // it also had sent part of a frame: that is counted, not lost silently
        assert.equal(b.stats.faults.truncated, 1);
        assert.equal(b.stats.drops, 1);
        // sending to the peer that is gone is a fault too, never a throw or an 'error'
        const before = b.stats;
        b.send(Blob.encode(Blob.create({ id: 1 })), { address: "127.0.0.1", port: sawFrom! });
        await b.completions();
        await until(() => b.stats.faults["send-failed"] === before.faults["send-failed"] + 1, "the failed send");
        assert.equal(b.stats.messagesSent, before.messagesSent);
        assert.ok(faults.some((f) => f.kind === "send-failed" && f.peer?.port === sawFrom));
        // another peer is served as usual
        const a = await openPort({ ...tcp });
        const got = collect(b, 1);
        a.send(Blob.encode(Blob.create({ id: 8 })), b.localAddress);
        const [m] = await got;
        assert.equal(m!.decode(Blob).id, 8);
        m!.release();
        await a.close();
        await b.close();
      });

      it("malformed framing (a 6-byte length prefix) is a bad-frame fault that closes only that connection", async function () {
        const b = await openPort({ ...tcp });
        const faults = faultsOf(b);
        const s = net.connect(b.localAddress.port, "127.0.0.1");
        await new Promise<void>((r) => s.once("connect", () => r()));
        s.on("error", () => {});
        s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
        await new Promise<void>((r) => s.once("close", () => r()));
        assert.equal(b.stats.faults["bad-frame"], 1);
        assert.equal(b.stats.drops, 1);
        assert.match(faults.find((f) => f.kind === "bad-frame")!.error.message, /longer than 5 bytes/);
        const a = await openPort({ ...tcp });
        const got = collect(b, 1);
        a.send(Blob.encode(Blob.create({ id: 9 })), b.localAddress);
        assert.equal((await got)[0]!.decode(Blob).id, 9);
        await a.close();
        await b.close();
      });

      it("dialling a peer that refuses is peer-reset plus send-failed, not an exception", async function () {
        const { server, dest } = await listen(() => {});
        await new Promise<void>((r) => server.close(() => r())); // nobody listens there any more
        const p = await openPort({ ...tcp });
        for (let i = 0; i < 3; i++) assert.equal(p.send(Blob.encode(Blob.create({ id: i + 1 })), dest), true);
        await p.completions();
        await until(() => p.stats.faults["send-failed"] === 3, "three failed sends");
        assert.equal(p.stats.faults["peer-reset"], 1, "one per connection, not one per message");
        assert.equal(p.stats.messagesSent, 0);
        assert.equal(p.stats.drops, 3);
        await p.close();
      });
    });

  }

  describe("udp: peer faults never take the process down", function () {
    for (const engine of UDP_ENGINES) {
      const udp = { backend: "udp", engine } as const;
      it(`${engine}: a send the kernel refuses (broadcast without SO_BROADCAST) is a send-failed fault; later sends go out`, async function () {
        const a = await openPort({ ...udp });
        const b = await openPort({ ...udp });
        const faults = faultsOf(a);
        a.send(Blob.encode(Blob.create({ id: 1 })), { address: "255.255.255.255", port: 9 });
        await a.completions();
        assert.equal(a.stats.faults["send-failed"], 1);
        assert.equal(a.stats.drops, 1);
        assert.equal(a.stats.messagesSent, 0, "what was refused is not counted as sent");
        assert.equal(faults[0]!.kind, "send-failed");
        assert.equal(faults[0]!.peer?.address, "255.255.255.255");
        const got = collect(b, 1);
        a.send(Blob.encode(Blob.create({ id: 2 })), b.localAddress);
        assert.equal((await got)[0]!.decode(Blob).id, 2);
        assert.equal(a.stats.messagesSent, 1);
        await a.close();
        await b.close();
      });
    }
  });

  describe("an exception thrown by the application's onMessage handler", function () {
    for (const backend of ["udp", "tcp", "udp-native", "tcp-native"] as const) {
      // udp and tcp: the portable engines (dgram, net)
      it(`${backend}: is rethrown as an uncaught exception and receiving goes on`, async function () {
        await catchingUncaught(async (seen) => {
          const opts = backend.endsWith("-native") ? { backend: backend.slice(0, 3), engine: "native" } : { backend, engine: backend === "udp" ? "dgram" : "net" };
          const a = await openPort(opts as never);
          const b = await openPort(opts as never);
          const ids: number[] = [];
          b.onMessage((m: ReceivedMessage) => {
            const id = m.decode(Blob).id;
            m.release();
            ids.push(id);
            if (id === 2) throw new Error("application bug on message 2");
          });
          for (let i = 1; i <= 5; i++) a.send(Blob.encode(Blob.create({ id: i })), b.localAddress);
          await until(() => ids.length === 5, "all five messages");
          await sleep(10);
          assert.deepEqual(ids, [1, 2, 3, 4, 5]);
          assert.equal(seen.length, 1);
          assert.match((seen[0] as Error).message, /application bug on message 2/);
          assert.equal(b.stats.drops, 0, "the handler's exception is not a fault of the stream");
          await a.close();
          await b.close();
        });
      });
    }
  });

  describe("one bad send never wedges a port", function () {
    for (const engine of TCP_ENGINES) {
      const tcp = { backend: "tcp", engine } as const;
      it(`tcp ${engine}: a send whose referenced buffer was transferred throws, changes nothing, and the next three arrive`, async function () {
        const a = await openPort({ ...tcp, closeTimeoutMs: 2000 });
        const b = await openPort({ ...tcp });
        const rb = a.allocate(1000);
        // warm the connection, so the throwing send finds an open socket (the cork case)
        const first = collect(b, 1);
        a.send(Blob.encode(Blob.create({ id: 1 })), b.localAddress);
        (await first)[0]!.release();
        await a.completions();
        const before = a.stats;
        assert.throws(() => a.send(detachedAfterEncode(a, rb.bytes), b.localAddress), /transferred, detached or resized after encode/);
        assert.deepEqual(a.stats, before, "stats unchanged by the refused send");
        assert.equal(rb.refCount, 1, "the allocate() buffer in the refused message was not retained");
        const got = collect(b, 3);
        for (let i = 2; i <= 4; i++) a.send(Blob.encode(Blob.create({ id: i })), b.localAddress);
        const ms = await got;
        assert.deepEqual(ms.map((m) => m.decode(Blob).id), [2, 3, 4]);
        for (const m of ms) m.release();
        await a.completions();
        const t0 = Date.now();
        await a.close();
        assert.ok(Date.now() - t0 < 1500, "close did not wait out its timeout");
        assert.equal(a.stats.messagesSent, 4);
        rb.release();
        await b.close();
      });

    }

    for (const engine of ["dgram", "native"] as const) {
      it(`udp ${engine}: failed sends take no highWaterMark slot`, async function () {
        const a = await openPort({ backend: "udp", engine, highWaterMark: 4 });
        const b = await openPort({ backend: "udp", engine });
        for (let i = 0; i < 4; i++) assert.throws(() => a.send(detachedAfterEncode(a), b.localAddress), TypeError);
        // bad destinations are refused before anything happens, too
        assert.throws(() => a.send(Blob.encode(Blob.create({ id: 1 })), undefined as never), /destination/);
        assert.throws(() => a.send(Blob.encode(Blob.create({ id: 1 })), { address: "127.0.0.1", port: 0 }), /port must be/);
        assert.deepEqual(a.stats.completionsPending, 0);
        const got = collect(b, 3);
        for (let i = 1; i <= 3; i++) assert.equal(a.send(Blob.encode(Blob.create({ id: i })), b.localAddress), true, `send ${i}`);
        assert.deepEqual((await got).map((m) => m.decode(Blob).id), [1, 2, 3]);
        await a.close();
        await b.close();
      });
    }

    for (const engine of ["dgram", "native"] as const) {
      it(`udp ${engine}: send() takes an SgList from another copy of @sgwire/core (brand, not instanceof), and refuses look-alikes`, async function () {
        const a = await openPort({ backend: "udp", engine });
        const b = await openPort({ backend: "udp", engine });
        const list = Blob.encode(Blob.create({ id: 31 }));
        // a class from "another copy": same methods and brand, different prototype chain
        class ForeignSgList {}
        for (const k of Reflect.ownKeys(SgList.prototype)) {
          if (k !== "constructor") Object.defineProperty(ForeignSgList.prototype, k, Reflect.getOwnPropertyDescriptor(SgList.prototype, k)!);
        }
        Object.setPrototypeOf(list, ForeignSgList.prototype);
        assert.equal(list instanceof SgList, false);
        const got = collect(b, 1);
        a.send(list, b.localAddress);
        assert.equal((await got)[0]!.decode(Blob).id, 31);
        const fake = { segments: [new Uint8Array(1)], byteLength: 1, isScratch: () => true };
        assert.throws(() => a.send(fake as never, b.localAddress), /takes an SgList or \{ codec, message \}/);
        await a.close();
        await b.close();
      });
    }
  });

  describe("what was not delivered is never counted as sent", function () {
    for (const engine of TCP_ENGINES) {
      const tcp = { backend: "tcp", engine } as const;
      it(`tcp ${engine}: a peer that resets at once: none of 100 sends counts as sent`, async function () {
        const { server, dest } = await listen((s) => s.resetAndDestroy());
        const p = await openPort({ ...tcp });
        // the connection is accepted and reset before we write
        p.send(Blob.encode(Blob.create({ id: 1 })), dest);
        await until(() => p.stats.faults["peer-reset"] === 1, "the reset");
        for (let i = 0; i < 100; i++) p.send(Blob.encode(Blob.create({ id: i + 2, key: fill(new Uint8Array(1000), i) }), p.policy), dest);
        await p.completions();
        await until(() => p.stats.messagesSent + p.stats.faults["send-failed"] === 101, "every message accounted for");
        // the second connection (dialled again for the 100) may be accepted and reset too: never counted as sent
        assert.equal(p.stats.messagesSent, 0);
        assert.equal(p.stats.drops, 101);
        await p.close();
        server.close();
      });

      it(`tcp ${engine}: a peer that read nothing and resets: only what its TCP acknowledged counts as sent`, async function () {
        let peer!: net.Socket;
        const { server, dest } = await listen((s) => {
          peer = s;
          s.pause(); // reads nothing: its receive buffer fills, then ours
        });
        const p = await openPort({ ...tcp, closeTimeoutMs: 300 });
        const size = 64 * 1024;
        const rb = p.allocate(size);
        for (let i = 0; i < 100; i++) p.send(Blob.encode(Blob.create({ id: i + 1, chunks: [rb.bytes] }), p.policy), dest);
        await until(() => peer !== undefined, "the peer");
        await sleep(200);
        // what the peer's kernel holds (acknowledged, unread): the most that may count as sent
        const ino = socketInode(socketFd(peer));
        // (plus what Node read into the paused socket's buffer before pause() took effect)
        const held = readSockets("tcp", new Set([ino])).get(ino)!.rxQueue + peer.readableLength;
        const s = p.stats;
        assert.ok(s.messagesSent < 100, `sent ${s.messagesSent}: the peer cannot have taken all`);
        assert.ok(s.bytesSent <= held, `bytesSent ${s.bytesSent} <= ${held} acknowledged by the peer`);
        peer.resetAndDestroy();
        await until(() => p.stats.faults["peer-reset"] === 1, "the reset");
        await p.close(); // forced after 300 ms: Node still holds what the kernel would not take
        const e = p.stats;
        assert.equal(e.completionsPending, 0);
        assert.equal(e.messagesSent + e.drops, 100, `sent ${e.messagesSent} + dropped ${e.drops} = every message`);
        assert.ok(e.drops > 0);
        assert.ok(e.bytesSent <= held);
        assert.equal(rb.refCount, 1);
        rb.release();
        server.close();
      });

    }

    for (const engine of UDP_ENGINES) {
      const udp = { backend: "udp", engine } as const;
      it(`udp ${engine}: datagrams the kernel dropped (receive buffer full) are counted as rx-overflow, exactly`, async function () {
        const b = await openPort({ ...udp });
        const faults = faultsOf(b);
        b.onMessage((m) => m.release());
        const plain = dgram.createSocket("udp4");
        await new Promise<void>((r) => plain.bind(0, "127.0.0.1", () => r()));
        const payload = Buffer.alloc(1000, 7);
        let sent = 0;
        // sent in one turn of the event loop: the port cannot read meanwhile, the socket buffer overflows
        for (let i = 0; i < 3000; i++) plain.send(payload, b.localAddress.port, "127.0.0.1", (err) => (err ? undefined : sent++));
        await until(() => sent === 3000, "every datagram handed to the kernel");
        await sleep(100);
        const st = b.stats;
        assert.ok(st.faults["rx-overflow"] > 0, "some were dropped");
        assert.equal(st.messagesReceived + st.faults["rx-overflow"], 3000, `received ${st.messagesReceived} + dropped ${st.faults["rx-overflow"]}`);
        assert.equal(st.drops, st.faults["rx-overflow"]);
        assert.equal(faults.reduce((n, f) => n + (f.kind === "rx-overflow" ? f.count : 0), 0), st.faults["rx-overflow"]);
        plain.close();
        await b.close();
      });

    }
    for (const engine of UDP_ENGINES) {
      const udp = { backend: "udp", engine } as const;
      it(`udp ${engine}: at the high-water mark send() returns false, drained() waits, and 'drain' comes once`, async function () {
        const a = await openPort({ ...udp, highWaterMark: 4 });
        const b = await openPort({ ...udp });
        b.onMessage((m) => m.release());
        let drains = 0;
        a.on("drain", () => drains++);
        const r: boolean[] = [];
        for (let i = 1; i <= 4; i++) r.push(a.send(Blob.encode(Blob.create({ id: i })), b.localAddress));
        assert.deepEqual(r, [true, true, true, false], "the fourth in flight reaches the mark");
        // dgram: all four are in flight; native: held until the turn ends, then sent in one sendmmsg
        assert.equal(a.stats.queued, engine === "dgram" ? 0 : 4);
        let resolved = false;
        const d = a.drained().then(() => (resolved = true));
        await Promise.resolve();
        assert.equal(resolved, false, "drained() does not resolve while send() would refuse");
        await d;
        assert.equal(drains, 1);
        assert.equal(a.send(Blob.encode(Blob.create({ id: 5 })), b.localAddress), true);
        await a.completions();
        await sleep(10);
        assert.equal(drains, 1, "no 'drain' without a false before it");
        assert.equal(a.stats.messagesSent, 5);
        await a.close();
        await b.close();
      });
    }
  });

  describe("receive-side back-pressure", function () {
    for (const engine of TCP_ENGINES) {
      const tcp = { backend: "tcp", engine } as const;
      it(`tcp ${engine}: holds at most maxRxHeldBytes (+ one frame) for a slow consumer, pauses the peer, loses nothing`, async function () {
        const bound = 1 << 20;
        const b = await openPort({ ...tcp, maxRxHeldBytes: bound, maxMessageBytes: 1 << 20 });
        const size = 256 * 1024;
        const n = 40;
        const held: ReceivedMessage[] = [];
        let maxHeld = 0;
        const ids: number[] = [];
        b.onMessage((m) => {
          held.push(m);
          maxHeld = Math.max(maxHeld, b.stats.rxHeldBytes);
        });
        const releaser = setInterval(() => {
          const m = held.shift();
          if (m === undefined) return;
          ids.push(m.decode(Blob).id);
          m.release();
        }, 10);
        const s = net.connect(b.localAddress.port, "127.0.0.1");
        await new Promise<void>((r) => s.once("connect", () => r()));
        let refused = 0;
        for (let i = 1; i <= n; i++) {
          const body = Blob.encode(Blob.create({ id: i, key: fill(new Uint8Array(size), i) })).toBinary();
          if (!s.write(Buffer.concat([lengthPrefix(body.length), body]))) refused++;
        }
        await until(() => ids.length === n, "every message", 20000);
        clearInterval(releaser);
        assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i + 1));
        assert.ok(maxHeld <= bound + size + 64, `held at most ${maxHeld} bytes (bound ${bound} + one message)`);
        assert.ok(refused > 0, "the sender saw back-pressure");
        assert.equal(b.stats.rxHeldBytes, 0);
        assert.equal(b.stats.drops, 0);
        s.destroy();
        await b.close();
      });

    }

    for (const engine of ["dgram", "native"] as const) {
      it(`udp ${engine}: beyond maxRxHeldBytes arriving datagrams are dropped and counted as rx-overflow`, async function () {
        const a = await openPort({ backend: "udp", engine });
        const b = await openPort({ backend: "udp", engine, maxRxHeldBytes: 4000 });
        for (let i = 1; i <= 10; i++) a.send(Blob.encode(Blob.create({ id: i, key: fill(new Uint8Array(1000), i) }), a.policy), b.localAddress);
        await a.completions();
        await until(() => b.stats.messagesReceived + b.stats.faults["rx-overflow"] === 10, "all ten accounted for");
        assert.equal(b.stats.messagesReceived, 4, "nobody consumes: four messages of ~1 KB fill 4000 bytes");
        assert.equal(b.stats.faults["rx-overflow"], 6);
        const it = b[Symbol.asyncIterator]();
        for (let i = 1; i <= 4; i++) {
          const m = (await it.next()).value as ReceivedMessage;
          assert.equal(m.decode(Blob).id, i);
          m.release();
        }
        assert.equal(b.stats.rxHeldBytes, 0);
        await a.close();
        await b.close();
      });
    }
  });

  describe("options are checked before anything is opened", function () {
    const bad: Array<[string, object, RegExp]> = [
      ["udp closeTimeoutMs -1", { backend: "udp", closeTimeoutMs: -1 }, /closeTimeoutMs must be an integer/],
      ["tcp closeTimeoutMs 1.5", { backend: "tcp", closeTimeoutMs: 1.5 }, /closeTimeoutMs must be an integer/],
      ["udp debugLentBuffers 'yes'", { backend: "udp", debugLentBuffers: "yes" }, /debugLentBuffers must be a boolean/],
      ["tcp maxRxHeldBytes 0", { backend: "tcp", maxRxHeldBytes: 0 }, /maxRxHeldBytes must be an integer/],
      ["tcp maxMessageBytes -5", { backend: "tcp", maxMessageBytes: -5 }, /maxMessageBytes must be an integer/],
      ["udp bind.address 5", { backend: "udp", bind: { address: 5 } }, /bind.address must be a non-empty string/],
      ["tcp bind typo", { backend: "tcp", bind: { adress: "127.0.0.1" } }, /unknown option "adress"/],
      ["udp bind null", { backend: "udp", bind: null }, /bind must be an object/],
    ];
    for (const [name, o, re] of bad) {
      it(`${name}: throws, and nothing is left bound`, async function () {
        // Node's sockets show as resources; the native engines' as descriptors
        const open = (): [number, number] => [
          process.getActiveResourcesInfo().filter((r) => r === "UDPWRAP" || r === "TCPServerWrap").length,
          readdirSync("/proc/self/fd").length,
        ];
        const before = open();
        await assert.rejects(openPort(o as never), re);
        await sleep(5);
        assert.deepEqual(open(), before, "no socket was opened");
      });
    }

    it("a bind that fails (address in use) leaves nothing open either", async function () {
      const a = await openPort({ backend: "tcp" });
      const before = process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;
      await assert.rejects(openPort({ backend: "tcp", engine: "net", bind: { port: a.localAddress.port } }), /EADDRINUSE/);
      await sleep(5);
      assert.equal(process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length, before);
      await a.close();
    });
  });
});
