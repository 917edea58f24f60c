/**
 * The suite every backend passes. A backend test file calls `backendSuite(name, open)` where
 * `open` gives a sender, a receiver (possibly the same port, for loopback devices) and the
 * receiver's endpoint.
 */
import assert from "node:assert/strict";
import { SgList, type RefBuffer } from "@sgwire/core";
import { FAULT_KINDS, type Endpoint, type Port } from "../../src/index.js";
import { Blob, PbBlob, crc32, equalBytes, fill } from "../fixtures/blob.js";
import { collect } from "./helpers.js";

export interface Pair {
  a: Port;
  b: Port;
  /** Where `a` sends to reach `b`. */
  toB: Endpoint;
  close(): Promise<void>;
}

type Shape = { name: string; make: (a: Port) => { msg: Blob; lent: RefBuffer[] } };

/** Message shapes: scalars only, small fields, large fields in plain or registered memory, many segments, the largest allowed. */
function shapes(a: Port): Shape[] {
  const thr = a.policy.copyThreshold;
  const max = a.caps.maxMessageBytes;
  const plain = (n: number, seed: number): Uint8Array => fill(new Uint8Array(n), seed);
  const reg = (n: number, seed: number, lent: RefBuffer[]): Uint8Array => {
    const rb = a.allocate(n);
    lent.push(rb);
    return fill(rb.bytes, seed);
  };
  const out: Shape[] = [
    { name: "empty message", make: () => ({ msg: Blob.create(), lent: [] }) },
    { name: "scalars only", make: () => ({ msg: Blob.create({ id: 300, crc: 0xdeadbeef }), lent: [] }) },
    { name: "small key below threshold", make: () => ({ msg: Blob.create({ id: 1, key: plain(Math.min(thr - 1, 100), 1) }), lent: [] }) },
    {
      name: "one registered field at the threshold",
      make: () => {
        const lent: RefBuffer[] = [];
        return { msg: Blob.create({ id: 2, chunks: [reg(thr, 2, lent)] }), lent };
      },
    },
    {
      name: "plain-memory large field",
      make: () => ({ msg: Blob.create({ id: 3, key: plain(Math.min(4 * thr, max - 64), 3) }), lent: [] }),
    },
    {
      name: "mixed small and registered fields",
      make: () => {
        const lent: RefBuffer[] = [];
        const big = Math.min(thr + 77, Math.floor((max - 200) / 3));
        return {
          msg: Blob.create({ id: 4, key: plain(10, 4), chunks: [reg(big, 5, lent), plain(7, 6), reg(big, 7, lent)], crc: 7 }),
          lent,
        };
      },
    },
  ];
  // as many referenced segments as the port allows (bounded to keep the test quick)
  const refs = Math.min(Math.floor((a.caps.maxSegments - 1) / 2), 15);
  const each = Math.floor((max - 16 - refs * 4) / refs);
  if (refs >= 2 && each >= thr) {
    out.push({
      name: `${refs} registered fields (maxSegments ${a.caps.maxSegments})`,
      make: () => {
        const lent: RefBuffer[] = [];
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < refs; i++) chunks.push(reg(thr + i, 10 + i, lent));
        return { msg: Blob.create({ id: 5, chunks }), lent };
      },
    });
  }
  // exactly the largest message the port takes
  out.push({
    name: `largest message (${max} bytes)`,
    make: () => {
      const lent: RefBuffer[] = [];
      const hdr = 1 + 3 + 1; // tag + len varint (<=3 bytes for < 2 MiB) + id tag... computed below
      void hdr;
      // tag(1) + varint(len) + len = max, with id 6 (2 bytes)
      let len = max - 2 - 1 - 1;
      while (2 + 1 + varintLen(len) + len > max) len--;
      return { msg: Blob.create({ id: 6, key: reg(len, 8, lent) }), lent };
    },
  });
  return out;
}

function varintLen(n: number): number {
  let k = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

export function backendSuite(name: string, open: () => Promise<Pair>): void {
  describe(`backend suite: ${name}`, function () {
    let pair: Pair;
    before(async function () {
      pair = await open();
    });
    after(async function () {
      await pair?.close();
    });

    it("delivers messages of every shape byte-identical; sgwire and protobufjs decode them", async function () {
      const { a, b, toB } = pair;
      for (const s of shapes(a)) {
        const { msg, lent } = s.make(a);
        const expected = Blob.toBinary(msg);
        const list = Blob.encode(msg, a.policy);
        assert.ok(list.segments.length <= a.caps.maxSegments, `${s.name}: encoder respected maxSegments`);
        const got = collect(b, 1);
        a.send(list, toB);
        const [m] = await got;
        assert.ok(equalBytes(m!.bytes, expected), `${s.name}: ${m!.bytes.length} bytes received, ${expected.length} expected, identical`);
        const d = m!.decode(Blob);
        assert.equal(d.id, msg.id, s.name);
        assert.equal(d.chunks.length, msg.chunks.length, s.name);
        for (let i = 0; i < d.chunks.length; i++) assert.ok(equalBytes(d.chunks[i]!, msg.chunks[i]!), `${s.name}: chunk ${i}`);
        assert.ok(equalBytes(d.key, msg.key), `${s.name}: key`);
        const pb = PbBlob.decode(m!.bytes) as unknown as { id: number; chunks: Uint8Array[]; crc: number };
        assert.equal(pb.id, msg.id, `${s.name}: protobufjs id`);
        assert.equal(pb.crc, msg.crc, `${s.name}: protobufjs crc`);
        assert.equal(pb.chunks.length, msg.chunks.length);
        m!.release();
        assert.throws(() => m!.release(), /already released/);
        await a.completions();
        for (const rb of lent) {
          assert.equal(rb.refCount, 1, `${s.name}: the port gave back every lent buffer`);
          rb.release();
        }
      }
    });

    it("sends { codec, message } with the port's policy and counts copied and referenced bytes", async function () {
      const { a, b, toB } = pair;
      const rb = a.allocate(Math.max(a.policy.copyThreshold, 64));
      fill(rb.bytes, 99);
      const before = a.stats;
      const got = collect(b, 1);
      const message = Blob.create({ id: 9, chunks: [rb.bytes], crc: crc32([rb.bytes]) });
      a.send({ codec: Blob, message }, toB);
      const [m] = await got;
      const d = m!.decode(Blob);
      assert.equal(crc32(d.chunks), d.crc);
      m!.release();
      await a.completions();
      const after = a.stats;
      // the whole message went out, however it was encoded, and the driver's copies say so
      const sent = after.bytesSent - before.bytesSent;
      assert.ok(sent >= Blob.toBinary(message).length, `bytesSent ${sent} counts the whole message`);
      assert.equal(after.copies.driver - before.copies.driver, a.caps.driverCopies === "all" ? sent : 0, "driver copies");
      if (a.caps.maxSegments >= 3) {
        assert.equal(after.bytesReferenced - before.bytesReferenced, rb.bytes.length, "the registered chunk went by reference");
        // the encoder wrote tags and scalars; the port copied them again, or (kernel ports) had
        // the encoder write them into its send memory and copied nothing
        const written = after.copies.encoder - before.copies.encoder;
        assert.ok(written > 0 && written < 32, `tags and scalars were written (${written} B), nothing else`);
        assert.ok(after.bytesCopied - before.bytesCopied < 32, "the port copied no more than them");
        // every port has the encoder write them into its own send memory: kernel ports copy nothing
        // more (but TCP's length prefix), DPDK copies them once, from its staging buffer into the mbuf
        assert.equal(after.copies.port - before.copies.port, after.bytesCopied - before.bytesCopied, "the port's copies, each counted once");
      } else {
        // a one-segment transport: everything is copied, and the stats say so
        assert.equal(after.bytesReferenced - before.bytesReferenced, 0);
        assert.ok(after.bytesCopied - before.bytesCopied > rb.bytes.length);
      }
      assert.equal(after.completionsPending, 0);
      assert.equal(rb.refCount, 1);
      rb.release();
    });

    it("counts every copy in stats.copies: what the encoder wrote, what the port copied, what the driver copies", async function () {
      const { a, b, toB } = pair;
      const rb = a.allocate(Math.max(a.policy.copyThreshold, 64));
      fill(rb.bytes, 42);
      const list = Blob.encode(Blob.create({ id: 11, key: fill(new Uint8Array(9), 3), chunks: [rb.bytes], crc: 5 }), a.policy);
      const before = a.stats;
      const got = collect(b, 1);
      a.send(list, toB);
      (await got)[0]!.release();
      await a.completions();
      const after = a.stats;
      const d = (k: "encoder" | "port" | "driver") => after.copies[k] - before.copies[k];
      assert.equal(d("encoder"), list.bytesCopied, "the encoder's scratch, as the list counts it");
      const portOnce = after.bytesCopied - before.bytesCopied;
      assert.ok(portOnce > 0);
      // DPDK copies what it copies twice: into its staging buffer, then into the mbuf
      assert.equal(d("port"), a.caps.backend === "dpdk" ? 2 * portOnce : portOnce, "the port's copies");
      const sent = after.bytesSent - before.bytesSent;
      assert.ok(sent >= list.byteLength);
      assert.equal(d("driver"), a.caps.driverCopies === "all" ? sent : 0, `driver copies (${a.caps.driver}: ${a.caps.driverCopies})`);
      assert.equal(rb.refCount, 1);
      rb.release();
    });

    it("holds lent buffers until completion, then releases them", async function () {
      const { a, b, toB } = pair;
      const rb = a.allocate(a.policy.copyThreshold + 1);
      fill(rb.bytes, 5);
      const got = collect(b, 1);
      a.send(Blob.encode(Blob.create({ chunks: [rb.bytes] }), a.policy), toB);
      // retained by the send until it completes (the completion cannot have run synchronously);
      // a one-segment transport copied it instead and holds nothing
      assert.equal(rb.refCount, a.caps.maxSegments >= 3 ? 2 : 1);
      assert.ok(a.stats.completionsPending >= 1);
      (await got)[0]!.release();
      await a.completions();
      assert.equal(rb.refCount, 1);
      rb.release();
    });

    it("rejects oversize messages and too many segments with RangeError, and keeps working", async function () {
      const { a, b, toB } = pair;
      const big = new SgList();
      big.segments.push(new Uint8Array(a.caps.maxMessageBytes + 1));
      big.byteLength = a.caps.maxMessageBytes + 1;
      assert.throws(() => a.send(big, toB), (e: Error) => e instanceof RangeError && /exceeds maxMessageBytes/.test(e.message));
      const many = new SgList();
      for (let i = 0; i <= a.caps.maxSegments; i++) many.segments.push(new Uint8Array([0x08, 1]));
      many.byteLength = 2 * many.segments.length;
      if (many.byteLength <= a.caps.maxMessageBytes) {
        assert.throws(() => a.send(many, toB), (e: Error) => e instanceof RangeError && /more than maxSegments/.test(e.message));
      }
      assert.throws(() => a.send({} as SgList, toB), TypeError);
      assert.throws(() => a.send(Blob.encode(Blob.create({ id: 1 })), { address: "", port: 0 }), /address|port/);
      // a destination sent to, then changed in place to something invalid, is checked again
      const dest = { ...toB };
      const first = collect(b, 1);
      a.send(Blob.encode(Blob.create({ id: 76 })), dest);
      (await first)[0]!.release();
      dest.port = 70000;
      assert.throws(() => a.send(Blob.encode(Blob.create({ id: 1 })), dest), (e: Error) => e instanceof RangeError && /port must be an integer 1\.\.65535, got 70000/.test(e.message));
      const got = collect(b, 1);
      a.send(Blob.encode(Blob.create({ id: 77 })), toB);
      const [m] = await got;
      assert.equal(m!.decode(Blob).id, 77);
      m!.release();
    });

    it("a send refused before any side effect (a referenced buffer detached after encode) leaves the port as it was", async function () {
      const { a, b, toB } = pair;
      await a.completions();
      const plain = fill(new Uint8Array(Math.max(a.policy.copyThreshold, 64) + 1), 3);
      const list = Blob.encode(Blob.create({ id: 41, chunks: [plain] }), a.policy);
      structuredClone(plain.buffer, { transfer: [plain.buffer] });
      // where plain memory is not eligible for reference (DPDK), encode copied it and nothing is refused
      if (list.referenceCount > 0) {
        const before = a.stats;
        assert.throws(() => a.send(list, toB), (e: Error) => e instanceof TypeError && /detached or resized after encode/.test(e.message));
        assert.deepEqual(a.stats, before);
      }
      const got = collect(b, 1);
      assert.equal(a.send(Blob.encode(Blob.create({ id: 42 })), toB), true);
      const [m] = await got;
      assert.equal(m!.decode(Blob).id, 42);
      m!.release();
      await a.completions();
    });

    it("an exception thrown by the onMessage handler is rethrown outside the port and receiving goes on", async function () {
      const { a, b, toB } = pair;
      const saved = process.listeners("uncaughtException");
      process.removeAllListeners("uncaughtException");
      const seen: unknown[] = [];
      process.on("uncaughtException", (e) => seen.push(e));
      try {
        const ids: number[] = [];
        let done!: () => void;
        const all = new Promise<void>((r) => (done = r));
        b.onMessage((m) => {
          const id = m.decode(Blob).id;
          m.release();
          ids.push(id);
          if (ids.length === 3) done();
          if (id === 51) throw new Error("handler bug");
        });
        for (let i = 51; i <= 53; i++) a.send(Blob.encode(Blob.create({ id: i })), toB);
        const timer = setTimeout(done, 10000);
        await all;
        clearTimeout(timer);
        b.onMessage(null);
        await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(ids, [51, 52, 53], "the messages after the throw arrived");
        assert.equal(seen.length, 1);
        assert.match((seen[0] as Error).message, /handler bug/);
      } finally {
        process.removeAllListeners("uncaughtException");
        for (const l of saved) process.on("uncaughtException", l);
      }
      await a.completions();
    });

    it("hands received bytes as a plain Uint8Array, and stats carry every fault kind and rxHeldBytes", async function () {
      const { a, b, toB } = pair;
      const got = collect(b, 1);
      a.send(Blob.encode(Blob.create({ id: 61, key: fill(new Uint8Array(100), 1) }), a.policy), toB);
      const [m] = await got;
      assert.equal(m!.bytes.constructor, Uint8Array, "not a Buffer or any subclass");
      assert.ok(b.stats.rxHeldBytes >= m!.bytes.length);
      m!.release();
      assert.equal(b.stats.rxHeldBytes, 0);
      assert.equal(b.stats.rxHeld, 0);
      for (const k of FAULT_KINDS) assert.equal(typeof a.stats.faults[k], "number", k);
      await a.completions();
    });

    it("delivers bursts in order with nothing lost, honouring back-pressure", async function () {
      const { a, b, toB } = pair;
      // rounds of 100 so a datagram receiver in this same process keeps up (UDP drops what overflows its socket buffer)
      const rounds = 20;
      const per = 100;
      const list = new SgList(64);
      const ids: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const got = collect(b, per, 30000);
        for (let i = 1; i <= per; i++) {
          if (!a.send(Blob.encode(Blob.create({ id: r * per + i }), { ...a.policy, into: list }), toB)) await a.drained();
        }
        for (const m of await got) {
          ids.push(m.decode(Blob).id);
          m.release();
        }
      }
      assert.deepEqual(ids, Array.from({ length: rounds * per }, (_, i) => i + 1));
      await a.completions();
      assert.equal(a.stats.queued, 0);
      assert.equal(b.stats.rxHeld, 0);
    });
  });
}
