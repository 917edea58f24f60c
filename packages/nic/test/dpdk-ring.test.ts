/**
 * DPDK in this process on virtual devices: net_ring (a loopback: what the port transmits comes
 * back on its receive queue, still as our mbuf chain, so transmit completions happen only when
 * the receiver is done) and net_null (transmit only).
 */
import assert from "node:assert/strict";
import { SgList } from "@sgwire/core";
import { openPort, nicInfo, type Port } from "../src/index.js";
import type { DpdkPort } from "../src/dpdk/dpdk-port.js";
import { checkDpdk, type NativeAddon } from "../src/dpdk/native.js";
import { Blob, crc32, fill } from "./fixtures/blob.js";
import { backendSuite } from "./suite/backend-suite.js";
import { collect } from "./suite/helpers.js";
import { describeWith, required } from "./suite/requirements.js";

const dpdk = nicInfo().backends.find((b) => b.name === "dpdk")!;
const SELF = "198.18.0.1";
const SELF_MAC = "02:53:47:00:00:01";

/** A net_ring loopback port that can send to itself. */
export async function ringPort(n: number): Promise<DpdkPort> {
  return (await openPort({ backend: "dpdk", vdev: `net_ring${n}`, bind: { address: SELF, port: 9000 }, peers: { [SELF]: SELF_MAC } })) as DpdkPort;
}

describe("dpdk availability", function () {
  it("an addon built without DPDK makes openPort name the package to install", function () {
    assert.throws(() => checkDpdk({ hasDpdk: false, dpdkVersion: "" } as NativeAddon), /apt-get install -y libdpdk-dev pkg-config/);
    assert.throws(() => checkDpdk(new Error("@sgwire/nic: the native addon is not built")), /not built/);
  });

  it("is built with DPDK here (CI installs libdpdk-dev), or says which package is missing", async function () {
    if (dpdk.available) {
      assert.match(dpdk.version!, /DPDK \d+\.\d+/);
      assert.ok(dpdk.devices!.includes("net_null") && dpdk.devices!.includes("net_ring"));
      return;
    }
    await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null0" }), /libdpdk-dev/);
    if (required("dpdk")) assert.fail(`CI must run the DPDK tests, but: ${dpdk.reason}`);
  });
});

describeWith("dpdk", dpdk.available ? undefined : dpdk.reason ?? "DPDK unavailable")("dpdk in this process (net_ring, net_null)", function () {
  backendSuite("dpdk net_ring (loopback, in process)", async () => {
    const p = await ringPort(0);
    return { a: p, b: p, toB: p.localAddress, close: () => p.close() };
  });

  describe("dpdk port (net_ring, net_null)", function () {
    let ring: DpdkPort;
    before(async function () {
      ring = await ringPort(1);
    });
    after(async function () {
      await ring?.close();
    });

    it("reports device caps: a segment limit, the MTU as message limit, only registered memory eligible", function () {
      assert.equal(ring.caps.backend, "dpdk");
      assert.equal(ring.caps.driver, "net_ring");
      assert.equal(ring.caps.maxMessageBytes, ring.device.mtu - 28);
      assert.ok(ring.caps.maxSegments >= 2);
      assert.equal(ring.caps.referencesAnyMemory, false);
      const rb = ring.allocate(1000);
      assert.equal(ring.policy.isEligible(rb.bytes), true);
      assert.equal(ring.policy.isEligible(rb.bytes.subarray(10, 20)), true, "a view inside a registered block");
      assert.equal(ring.policy.isEligible(new Uint8Array(1000)), false, "plain memory must be copied");
      rb.release();
      assert.equal(ring.policy.isEligible(rb.bytes), false, "a freed block is no longer lendable");
    });

    it("copies unregistered memory above the threshold and says so in the stats", async function () {
      const plain = fill(new Uint8Array(600), 1);
      const before = ring.stats;
      const got = collect(ring, 1);
      // encoded with the default policy, the plain buffer is a referenced segment; the port copies it
      const list = Blob.encode(Blob.create({ id: 1, key: plain }), { copyThreshold: 256 });
      assert.equal(list.referenceCount, 1);
      ring.send(list, ring.localAddress);
      const [m] = await got;
      assert.equal(crc32([m!.decode(Blob).key]), crc32([plain]));
      m!.release();
      const after = ring.stats;
      assert.equal(after.bytesReferenced - before.bytesReferenced, 0);
      assert.equal(after.bytesCopied - before.bytesCopied, list.byteLength);
    });

    it("detaches a received view on release, so stale reads see nothing", async function () {
      const got = collect(ring, 1);
      ring.send(Blob.encode(Blob.create({ id: 42, key: new Uint8Array([1, 2, 3]) })), ring.localAddress);
      const [m] = await got;
      const view = m!.bytes;
      assert.ok(view.length > 0);
      assert.ok(view instanceof Uint8Array, "received as a view of the mbuf");
      assert.equal(m!.source.address, SELF);
      assert.equal(m!.source.port, 9000);
      m!.release();
      assert.throws(() => m!.decode(Blob), /released/);
      // a message with no references is one mbuf: received as a view of it, detached on release
      assert.equal(view.length, 0);
      assert.equal(view.buffer.byteLength, 0);
    });

    it("rejects a destination with no known MAC, oversize messages and bad options; keeps working", async function () {
      assert.throws(() => ring.send(Blob.encode(Blob.create({ id: 1 })), { address: "198.18.0.99", port: 9000 }), /no MAC address known for 198.18.0.99/);
      assert.throws(() => ring.send(Blob.encode(Blob.create({ id: 1 })), { address: "not-an-ip", port: 9000 }), /dotted IPv4/);
      // a destination object sent to, then changed in place, is looked up again (not sent to the old peer)
      const dest = { address: SELF, port: 9000 };
      const echoed = collect(ring, 1);
      ring.send(Blob.encode(Blob.create({ id: 2 })), dest);
      (await echoed)[0]!.release();
      dest.address = "198.18.0.98";
      assert.throws(() => ring.send(Blob.encode(Blob.create({ id: 3 })), dest), /no MAC address known for 198.18.0.98/);
      await ring.completions();
      assert.throws(() => ring.send(Blob.encode(Blob.create({ id: 1 })), undefined as never), /destination/);
      assert.throws(() => ring.allocate(0), RangeError);
      assert.throws(() => ring.allocate(64 << 20), /allocate size must be an integer 1\.\./);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_doesnotexist0" }), /cannot create DPDK device "net_doesnotexist0"/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_ring1" }), /"net_ring1" is already open in this process/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "eth0" }), /vdev must name a DPDK net driver/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", bind: { address: "300.1.1.1" } }), /dotted IPv4/);
      // one bind shape on every backend: { address, port }
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", address: "198.18.0.1" } as never), /unknown option "address"/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", bind: { port: 0 } }), /bind\.port must be/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", bind: "198.18.0.1:9000" as never }), /bind must be an object/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", peers: { "198.18.0.2": "zz" } }), /MAC address/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", mbufs: 0 }), /mbufs must be an integer/);
      // every option is checked before the device is opened: the same vdev opens afterwards
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null7", closeTimeoutMs: -1 }), /openPort\(dpdk\): closeTimeoutMs must be an integer/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null7", debugLentBuffers: "yes" as never }), /openPort\(dpdk\): debugLentBuffers must be a boolean/);
      await (await openPort({ backend: "dpdk", vdev: "net_null7" })).close();
      // the mempool cache is derived from the pool size: a pool of 1 opens (it was an opaque EINVAL)
      const tiny = await openPort({ backend: "dpdk", vdev: "net_null8", mbufs: 1 });
      await tiny.close();
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_null9", txRing: 5 } as never), /unknown option "txRing"/);
      await assert.rejects(openPort({ backend: "dpdk", vdev: "net_af_packet7,iface=sgwnone" }), /cannot create DPDK device/);
      const got = collect(ring, 1);
      ring.send(Blob.encode(Blob.create({ id: 3 })), ring.localAddress);
      assert.equal((await got)[0]!.decode(Blob).id, 3);
      (await got)[0]!.release();
    });

    it("keeps what a full ring and an empty mbuf pool refuse, reports back-pressure, and loses nothing", async function () {
      // nobody receives at first: the ring fills, then the backlog, then the pool runs dry
      const p = (await openPort({ backend: "dpdk", vdev: "net_ring5", bind: { address: SELF }, peers: { [SELF]: SELF_MAC }, mbufs: 2047 })) as DpdkPort;
      const rb = p.allocate(300);
      fill(rb.bytes, 11);
      const n = 6000;
      const list = new SgList(64);
      let refused = 0;
      for (let i = 1; i <= n; i++) {
        if (!p.send(Blob.encode(Blob.create({ id: i, chunks: [rb.bytes] }), { ...p.policy, into: list }), p.localAddress)) refused++;
      }
      // the port hands what send() staged to the driver in a microtask
      await new Promise<void>((r) => queueMicrotask(r));
      const s = p.stats;
      assert.ok(refused > 0, "send reported back-pressure");
      assert.ok(s.txRingFull > 0);
      assert.ok(s.queued > 0, "messages the device could not take are kept");
      assert.ok(rb.refCount > 1, "and they still hold their buffer");
      const drained = new Promise<void>((r) => p.once("drain", () => r()));
      const ids: number[] = [];
      const all = new Promise<void>((resolve) =>
        p.onMessage((m) => {
          ids.push(m.decode(Blob).id);
          m.release();
          if (ids.length === n) resolve();
        }),
      );
      await all;
      await drained;
      await p.completions();
      assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i + 1), "every message arrived, in order");
      assert.equal(p.stats.queued, 0);
      assert.equal(rb.refCount, 1);
      rb.release();
      await p.close();
    });

    it("debugLentBuffers: a registered buffer rewritten while the receiver still holds it is reported", async function () {
      const p = (await openPort({ backend: "dpdk", vdev: "net_ring6", bind: { address: SELF }, peers: { [SELF]: SELF_MAC }, debugLentBuffers: true })) as DpdkPort;
      const errors: Error[] = [];
      p.on("error", (e) => errors.push(e));
      const rb = p.allocate(500);
      fill(rb.bytes, 3);
      const got = collect(p, 2);
      p.send(Blob.encode(Blob.create({ id: 1, chunks: [rb.bytes] }), p.policy), p.localAddress);
      await p.completions();
      assert.equal(errors.length, 0);
      p.send(Blob.encode(Blob.create({ id: 2, chunks: [rb.bytes] }), p.policy), p.localAddress);
      rb.bytes[0]! ^= 1; // the chain is in the ring: too early
      for (const m of await got) m.release();
      await p.completions();
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /dpdk port: a lent buffer of 500 bytes changed/);
      rb.release();
      await p.close();
    });

    it("send({ codec, message }) in bursts past the encoder's staging slots: every message arrives as sent", async function () {
      // 300 messages in one tick: more than the 64 slots the encoder writes into (the rest are
      // encoded into the port's own list and copied), keys of 0 to 1200 bytes
      const rb = ring.allocate(600);
      fill(rb.bytes, 13);
      const sent = new Map<number, Uint8Array>();
      const got = collect(ring, 300);
      const before = ring.stats;
      for (let i = 0; i < 300; i++) {
        const big = i % 50 === 7;
        const key = fill(new Uint8Array(big ? 1100 + (i % 97) : (i * 37) % 200), i);
        sent.set(i + 1, key);
        ring.send({ codec: Blob, message: Blob.create({ id: i + 1, key, chunks: i % 3 === 0 && !big ? [rb.bytes] : [], crc: i }) }, ring.localAddress);
      }
      const ms = await got;
      assert.equal(ms.length, 300);
      for (const m of ms) {
        const d = m.decode(Blob);
        const key = sent.get(d.id);
        assert.ok(key !== undefined, `id ${d.id} was sent`);
        assert.equal(d.crc, d.id - 1);
        assert.deepEqual(d.key, key, `message ${d.id}: the key as sent`);
        if ((d.id - 1) % 3 === 0 && (d.id - 1) % 50 !== 7) assert.deepEqual(d.chunks[0], rb.bytes);
        else assert.equal(d.chunks.length, 0);
        sent.delete(d.id);
        m.release();
      }
      assert.equal(sent.size, 0, "every message arrived once");
      await ring.completions();
      const after = ring.stats;
      const once = after.bytesCopied - before.bytesCopied;
      const port = after.copies.port - before.copies.port;
      // what the encoder wrote into a slot is copied once (into the mbuf), anything else twice
      // (every 32 messages a burst leaves and frees its slots, so here most or all fit a slot)
      assert.ok(port >= once && port < 2 * once, `port copies ${port} B for ${once} B copied: most once`);
      assert.equal(rb.refCount, 1);
      rb.release();
    });

    it("net_null: transmits 2-segment messages, completes them and returns every mbuf", async function () {
      const p = (await openPort({ backend: "dpdk", vdev: "net_null0", peers: { "198.18.0.2": "02:53:47:00:00:02" } })) as DpdkPort;
      const start = p.poolCounts();
      const rb = p.allocate(1024);
      fill(rb.bytes, 7);
      const list = new SgList(64);
      const dest = { address: "198.18.0.2", port: 9000 };
      for (let i = 0; i < 50_000; i++) {
        Blob.encode(Blob.create({ id: i + 1, chunks: [rb.bytes] }), { ...p.policy, into: list });
        assert.equal(list.segments.length, 2);
        if (!p.send(list, dest)) await p.drained();
      }
      await p.completions();
      const s = p.stats;
      assert.equal(s.messagesSent, 50_000);
      assert.equal(s.completionsPending, 0);
      assert.equal(s.bytesReferenced, 50_000 * 1024);
      assert.equal(rb.refCount, 1, "every send gave its reference back");
      rb.release();
      assert.deepEqual(p.poolCounts(), start, "every mbuf is back in its pool");
      await p.close();
      assert.throws(() => p.send(list, dest), /after close/);
    });
  });
});

describeWith("dpdk", dpdk.available ? undefined : dpdk.reason ?? "DPDK unavailable")("dpdk native side: descriptors are not trusted", function () {
  // The transmit descriptors JavaScript writes are checked in C++ before use. A wrong one (a bug,
  // simulated here by corrupting a staged descriptor before its flush) is refused, and the port
  // stops with an 'error' rather than reading or writing outside its memory.
  const corruptions: [number, string, (d: Uint32Array) => void][] = [
    [30, "a lent-buffer token past the token table", (d) => { d[3] = 0x7ffffff0; }],
    [31, "a scratch segment longer than the staging area", (d) => { d[MSG + 2] = 1 << 30; }],
    [32, "an arena that does not exist", (d) => { d[MSG + SEG] = 999; }],
    [33, "a referenced segment past its arena", (d) => { d[MSG + SEG + 2] = 1 << 30; }],
  ];
  const MSG = 4;
  const SEG = 3;
  for (const [n, what, corrupt] of corruptions) {
    it(`refuses ${what}: the port closes with an 'error'`, async function () {
      const p = await ringPort(n);
      const errors: Error[] = [];
      p.on("error", (e: Error) => errors.push(e));
      const rb = p.allocate(1000);
      p.send(Blob.encode(Blob.create({ id: 1, chunks: [rb.bytes] }), p.policy), p.localAddress);
      // staged, flushed in a microtask: corrupt it first
      corrupt((p as unknown as { desc: Uint32Array }).desc);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /dpdk port: internal error: the native side rejected a transmit descriptor; the port is closed/);
      assert.equal(p.closed, true);
      await p.completions();
      assert.equal(rb.refCount, 1, "what the refused message lent is given back");
      rb.release();
    });
  }
});

export type { Port };
