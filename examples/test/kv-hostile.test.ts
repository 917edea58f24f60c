/**
 * The kv server exposed to hostile clients: plain dgram/net sockets send raw frames (value_size
 * claims of up to 2^32-1, pieces that never complete, truncated messages, garbage, resets in the
 * middle of a frame). Every bad request must be answered with an error status and counted by
 * kind, nothing may be reserved beyond the server's limits, and valid clients must keep being
 * served, every value byte checked.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { openPort, type Port } from "@sgwire/nic";
import { Op, Status } from "../gen/kv.sg.js";
import { loadCodec, type KvCodec } from "../kv/codecs/codec.js";
import { DEFAULT_MAX_VALUE_BYTES, KvServer, tcpMaxMessageBytes, type KvServerOptions } from "../kv/server.js";
import { KvClient } from "../kv/kv-client.js";
import { makeValue } from "../kv/workloads.js";
import { RawTcpPeer, RawUdpPeer, frame, requestBytes, varint, waitUntil } from "./raw-peers.js";

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
const MiB = 1024 * 1024;

/** A valid client on its own port: PUTs then GETs `n` values of `size` bytes, each checked byte for byte. */
async function servesValidClient(server: KvServer, codec: KvCodec, tag: number, n = 5, size = 20_000): Promise<void> {
  const port = await openPort(server.port.caps.backend === "tcp" ? { backend: "tcp" } : { backend: "udp" });
  const client = new KvClient(port, codec, server.port.localAddress, { timeoutMs: 3000 });
  try {
    for (let i = 0; i < n; i++) {
      const v = makeValue(tag + i, 1, size + i);
      const put = await client.call(Op.PUT, [`valid:${tag + i}`], v);
      assert.equal(put.status, Status.OK, `valid PUT ${i} answered ${Status[put.status]}`);
      const got = await client.call(Op.GET, [`valid:${tag + i}`]);
      assert.equal(got.status, Status.OK);
      assert.ok(same(got.values[0]!, v), `valid value ${i} (${v.length} bytes) differs`);
    }
  } finally {
    client.close();
    await port.close();
  }
}

async function udpServer(codecName: string, o: KvServerOptions = {}): Promise<KvServer> {
  const server = new KvServer(await openPort({ backend: "udp", highWaterMark: 1024 }), await loadCodec(codecName), o);
  server.start();
  return server;
}

for (const codecName of ["sgwire", "protobufjs"] as const) {
  describe(`kv server (udp, ${codecName}) under hostile datagrams`, function () {
    this.timeout(30000);
    let codec: KvCodec;
    let peer: RawUdpPeer;
    let server: KvServer | null = null;

    before(async function () {
      codec = await loadCodec(codecName);
    });
    beforeEach(async function () {
      peer = await RawUdpPeer.open(codec);
    });
    afterEach(async function () {
      await peer.close();
      await server?.stop();
      server = null;
    });

    it("a 17-byte PUT claiming value_size 2^32-1, and eight claiming 2^31-1, are answered TOO_LARGE and reserve nothing", async function () {
      server = await udpServer(codecName);
      const to = server.port.localAddress;
      const huge = requestBytes({ id: 1, op: Op.PUT, keys: ["k"], value: Uint8Array.of(7), valueSize: 2 ** 32 - 1 });
      assert.ok(huge.length <= 17, `the claim is ${huge.length} bytes`);
      const before = process.memoryUsage().arrayBuffers;
      await peer.send(huge, to);
      for (let i = 0; i < 8; i++) await peer.send(requestBytes({ id: 2 + i, op: Op.PUT, keys: [`k${i}`], value: Uint8Array.of(1, 2), valueSize: 2 ** 31 - 1, valueOffset: 4 }), to);
      // one byte over the cap, and a whole value over it
      await peer.send(requestBytes({ id: 10, op: Op.PUT, keys: ["k"], value: Uint8Array.of(1), valueSize: DEFAULT_MAX_VALUE_BYTES + 1 }), to);
      await peer.waitFor(10);
      const grew = process.memoryUsage().arrayBuffers - before;
      assert.deepEqual(peer.responses.map((r) => r.id).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      for (const r of peer.responses) assert.equal(r.status, Status.TOO_LARGE, `response ${r.id}: ${Status[r.status]}`);
      const c = server.counters;
      assert.equal(c.rejected.valueTooLarge, 10);
      assert.equal(c.badRequests, 10);
      assert.equal(c.pendingPutBytes, 0);
      assert.equal(c.pendingPuts, 0);
      assert.ok(grew < 16 * MiB, `array buffers grew by ${grew} bytes`);
      await servesValidClient(server, codec, 1000);
      assert.equal(c.received, c.responses + c.statsResponses + c.piecesAbsorbed + c.rejected.internal);
    });

    it("PUTs in pieces hold at most maxPendingPutBytes and maxPendingPuts (the rest is BUSY) and expire when unfinished", async function () {
      server = await udpServer(codecName, { maxValueBytes: MiB, maxPendingPutBytes: 4 * MiB, maxPendingPuts: 6 });
      const to = server.port.localAddress;
      // ten first pieces claiming about 1 MiB each: four fit the byte budget
      const claim = MiB - 100;
      for (let i = 0; i < 10; i++) await peer.send(requestBytes({ id: 100 + i, op: Op.PUT, keys: [`big${i}`], value: makeValue(i, 0, 1000), valueSize: claim }), to);
      await peer.waitFor(6);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(peer.responses.length, 6, "the four absorbed pieces are not answered");
      assert.ok(peer.responses.every((r) => r.status === Status.BUSY && r.id >= 104));
      const c = server.counters;
      assert.equal(c.pendingPutBytes, 4 * claim);
      assert.equal(c.pendingPuts, 4);
      assert.equal(c.piecesAbsorbed, 4);
      assert.equal(c.rejected.busy, 6);
      // small claims: the count budget (6) stops them after two more
      for (let i = 0; i < 4; i++) await peer.send(requestBytes({ id: 200 + i, op: Op.PUT, keys: [`small${i}`], value: Uint8Array.of(1), valueSize: 10 }), to);
      await peer.waitFor(8);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(peer.responses.slice(6).map((r) => [r.id, r.status]), [[202, Status.BUSY], [203, Status.BUSY]]);
      assert.equal(c.pendingPuts, 6);
      // a valid client's large PUT (several datagrams) is BUSY while the budget is taken
      const port = await openPort({ backend: "udp" });
      const client = new KvClient(port, codec, to, { timeoutMs: 3000 });
      try {
        const v = makeValue(77, 3, 150_000);
        assert.equal((await client.call(Op.PUT, ["valid:big"], v)).status, Status.BUSY);
        // unfinished PUTs are dropped after 2 to 4 s: everything they reserved is given back
        await waitUntil(() => c.pendingPuts === 0, 6000, () => `${c.pendingPuts} PUTs still pending`);
        assert.equal(c.pendingPutBytes, 0);
        assert.equal(c.putAssembliesExpired, 6);
        assert.equal((await client.call(Op.PUT, ["valid:big"], v)).status, Status.OK);
        const got = await client.call(Op.GET, ["valid:big"]);
        assert.ok(same(got.values[0]!, v), "the large value came back byte for byte");
      } finally {
        client.close();
        await port.close();
      }
    });

    it("a piece outside its value_size, or disagreeing with the PUT's first piece, is BAD_REQUEST and frees the PUT", async function () {
      server = await udpServer(codecName);
      const to = server.port.localAddress;
      await peer.send(requestBytes({ id: 1, op: Op.PUT, keys: ["p"], value: new Uint8Array(10), valueSize: 50, valueOffset: 45 }), to);
      await peer.send(requestBytes({ id: 2, op: Op.PUT, keys: ["p"], value: new Uint8Array(10), valueSize: 1000 }), to);
      await waitUntil(() => server!.counters.pendingPuts === 1, 3000, () => "the first piece was not taken");
      await peer.send(requestBytes({ id: 2, op: Op.PUT, keys: ["p"], value: new Uint8Array(10), valueSize: 2000, valueOffset: 10 }), to);
      await peer.send(requestBytes({ id: 3, op: Op.PUT, keys: ["q"], value: new Uint8Array(10), valueSize: 1000 }), to);
      await peer.send(requestBytes({ id: 3, op: Op.PUT, keys: ["other"], value: new Uint8Array(10), valueSize: 1000, valueOffset: 10 }), to);
      await peer.waitFor(3);
      assert.deepEqual(peer.responses.map((r) => [r.id, r.status]).sort(), [[1, Status.BAD_REQUEST], [2, Status.BAD_REQUEST], [3, Status.BAD_REQUEST]].sort());
      const c = server.counters;
      assert.equal(c.rejected.badPiece, 3);
      assert.equal(c.pendingPuts, 0);
      assert.equal(c.pendingPutBytes, 0);
    });

    it("garbage and truncated datagrams are answered MALFORMED (id 0); unknown ops, missing keys, key counts and long keys by their status", async function () {
      server = await udpServer(codecName, { maxKeyBytes: 64 });
      const to = server.port.localAddress;
      const get = requestBytes({ id: 9, op: Op.GET, keys: ["a-key-of-some-length"] });
      const undecodable = [
        Uint8Array.of(0x00), // field number 0
        Uint8Array.of(0x0f, 0x01), // wire type 7
        get.subarray(0, get.length - 3), // truncated inside the key
        Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), // varint longer than 10 bytes
        Uint8Array.of(0x22, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 2, 3), // a value claiming 2 GiB
        Uint8Array.of(0x1a, 0x02, 0xc3, 0x28), // a key that is not UTF-8
        Uint8Array.from({ length: 3000 }, (_, i) => (i === 0 ? 0 : (i * 131) & 0xff)),
      ];
      for (const b of undecodable) await peer.send(b, to);
      await peer.waitFor(undecodable.length);
      const c = server.counters;
      if (codecName === "sgwire") {
        // the sgwire decoder checks UTF-8; protobufjs decodes a bad key with replacement characters
        assert.ok(peer.responses.every((r) => r.status === Status.MALFORMED && r.id === 0), JSON.stringify(peer.responses.map((r) => [r.id, r.status])));
        assert.equal(c.rejected.undecodable, undecodable.length);
      } else {
        assert.ok(c.rejected.undecodable >= undecodable.length - 1, `${c.rejected.undecodable} undecodable`);
      }
      const n0 = peer.responses.length;
      const bad: Array<[Uint8Array, number, Status]> = [
        [requestBytes({ id: 11, op: 99 as Op, keys: ["k"] }), 11, Status.BAD_REQUEST],
        [new Uint8Array(0), 0, Status.BAD_REQUEST], // op 0
        [requestBytes({ id: 12, op: Op.GET }), 12, Status.BAD_REQUEST],
        [requestBytes({ id: 13, op: Op.PUT, value: Uint8Array.of(1) }), 13, Status.BAD_REQUEST],
        [requestBytes({ id: 14, op: Op.GETM, keys: Array.from({ length: 33 }, (_, i) => `k${i}`) }), 14, Status.BAD_REQUEST],
        [requestBytes({ id: 15, op: Op.GETM }), 15, Status.BAD_REQUEST],
        [requestBytes({ id: 16, op: Op.GET, keys: ["x".repeat(65)] }), 16, Status.TOO_LARGE],
        [requestBytes({ id: 17, op: Op.PUT, keys: ["é".repeat(33)], value: Uint8Array.of(1) }), 17, Status.TOO_LARGE],
      ];
      for (const [b] of bad) await peer.send(b, to);
      await peer.waitFor(n0 + bad.length);
      const got = new Map(peer.responses.slice(n0).map((r) => [r.id, r.status]));
      for (const [, id, status] of bad) assert.equal(got.get(id), status, `request ${id}: ${Status[got.get(id) ?? -1]}`);
      assert.equal(c.rejected.unknownOp, 2);
      assert.equal(c.rejected.missingKey, 2);
      assert.equal(c.rejected.badKeyCount, 2);
      assert.equal(c.rejected.keyTooLarge, 2);
      assert.equal(c.rejected.internal, 0);
      const stats = await (async () => {
        const port = await openPort({ backend: "udp" });
        const client = new KvClient(port, codec, to, { timeoutMs: 3000 });
        try {
          return await client.serverStats();
        } finally {
          client.close();
          await port.close();
        }
      })();
      assert.deepEqual(stats.rejected, { ...c.rejected }, "STATS reports the counters by kind");
      await servesValidClient(server, codec, 2000);
    });
  });
}

describe("kv server (udp, flatbuffers) under hostile datagrams", function () {
  it("answers MALFORMED to buffers whose offsets or lengths point outside them (no verifier in flatbuffers' JS)", async function () {
    const codec = await loadCodec("flatbuffers");
    const server = await udpServer("flatbuffers");
    const peer = await RawUdpPeer.open(codec);
    try {
      const to = server.port.localAddress;
      // a root table whose keys vector claims 2^31-1 strings (unchecked, a loop of 2^31 iterations)
      const b = new Uint8Array(28);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, 16, true); // root table at 16
      dv.setUint16(4, 10, true); // vtable at 4: 10 bytes
      dv.setUint16(6, 8, true); // table of 8 bytes
      dv.setUint16(12, 4, true); // slot 2 (keys) at table + 4
      dv.setInt32(16, 12, true); // table -> vtable at 16 - 12
      dv.setUint32(20, 4, true); // keys vector at 24
      dv.setUint32(24, 0x7fffffff, true);
      const hostile = [b, Uint8Array.of(0xff, 0xff, 0xff, 0x7f), Uint8Array.of(1, 2), Uint8Array.from({ length: 500 }, (_, i) => (i * 37) & 0xff)];
      for (const h of hostile) await peer.send(h, to);
      await peer.waitFor(hostile.length);
      assert.ok(peer.responses.every((r) => r.status === Status.MALFORMED), JSON.stringify(peer.responses.map((r) => r.status)));
      assert.equal(server.counters.rejected.undecodable, hostile.length);
      await servesValidClient(server, codec, 3000);
    } finally {
      await peer.close();
      await server.stop();
    }
  });
});

describe("kv server (tcp) under hostile connections", function () {
  this.timeout(30000);

  it("peers that reset (mid-frame, with responses in flight), send oversize or bad frames, or claim 2^32-1 bytes do not stop it", async function () {
    const codec = await loadCodec("sgwire");
    const o: KvServerOptions = { maxValueBytes: 256 * 1024 };
    const port: Port = await openPort({ backend: "tcp", maxMessageBytes: tcpMaxMessageBytes(o) });
    const server = new KvServer(port, codec, o);
    server.start();
    const to = port.localAddress;
    try {
      // a claim inside a well-formed frame: answered on the connection
      const a = await RawTcpPeer.connect(to, codec);
      await a.write(frame(requestBytes({ id: 5, op: Op.PUT, keys: ["k"], value: Uint8Array.of(1), valueSize: 2 ** 32 - 1 })));
      await a.write(frame(Uint8Array.of(0x00, 0x01)));
      await a.waitFor(2);
      assert.deepEqual(a.responses.map((r) => [r.id, r.status]), [[5, Status.TOO_LARGE], [0, Status.MALFORMED]]);
      a.end();

      // half a frame, then a reset
      const b = await RawTcpPeer.connect(to, codec);
      await b.write(Buffer.concat([varint(1000), Buffer.alloc(10)]));
      await new Promise((r) => setTimeout(r, 50));
      b.reset();

      // a frame longer than the port accepts, and a length prefix of more than 5 bytes
      const c = await RawTcpPeer.connect(to, codec);
      await c.write(varint(2 ** 30));
      const d = await RawTcpPeer.connect(to, codec);
      await d.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
      await waitUntil(() => c.closed && d.closed, 3000, () => "the port did not close connections with bad frames");

      // many GETs of a large value, then a reset while the responses are being written
      const big = makeValue(5, 0, 200_000);
      const setup = await RawTcpPeer.connect(to, codec);
      await setup.write(frame(requestBytes({ id: 1, op: Op.PUT, keys: ["big"], value: big })));
      await setup.waitFor(1);
      assert.equal(setup.responses[0]!.status, Status.OK);
      setup.end();
      for (let k = 0; k < 3; k++) {
        const e = await RawTcpPeer.connect(to, codec);
        const gets = Buffer.concat(Array.from({ length: 200 }, (_, i) => frame(requestBytes({ id: i + 1, op: Op.GET, keys: ["big"] }))));
        e.sock.write(gets);
        await waitUntil(() => e.responses.length > 0, 3000, () => "no GET answered");
        e.reset();
      }
      await new Promise((r) => setTimeout(r, 300));

      const sc = server.counters;
      const f = sc.portFaults;
      // each is a fault of one peer (counted by the port, reported by its 'fault' event), never an 'error'
      assert.equal(sc.portErrors, 0);
      assert.equal(f.oversize, 1, JSON.stringify(f));
      assert.equal(f["bad-frame"], 1, JSON.stringify(f));
      assert.ok((f["peer-reset"] ?? 0) >= 1 && (f["peer-reset"] ?? 0) + (f.truncated ?? 0) >= 4, `four resets: ${JSON.stringify(f)}`);
      assert.deepEqual(sc.portFaults, Object.fromEntries(Object.entries(port.stats.faults).filter(([, n]) => n > 0)), "the server counted every fault the port did");
      assert.equal(sc.rejected.valueTooLarge, 1);
      assert.equal(sc.rejected.undecodable, 1);
      assert.equal(sc.rejected.internal, 0);
      await servesValidClient(server, codec, 4000, 5, 100_000);
    } finally {
      await server.stop();
    }
  });
});

describe("kv server program (what scripts/main.sh runs) under hostile clients", function () {
  this.timeout(30000);

  for (const backend of ["udp", "tcp"] as const) {
    it(`over ${backend}: a 2^32-1 claim, garbage and ${backend === "tcp" ? "a reset" : "a burst"} leave it serving, and SIGTERM stops it cleanly`, async function () {
      const codec = await loadCodec("sgwire");
      const child = spawn(process.execPath, ["--import", "tsx", "kv/server.ts", "--backend", backend, "--bind", "127.0.0.1:0"], {
        cwd: new URL("..", import.meta.url).pathname,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      try {
        const [line] = (await once(child.stdout, "data")) as [Buffer];
        const { listening } = JSON.parse(line.toString().split("\n")[0]!) as { listening: { address: string; port: number } };
        const huge = requestBytes({ id: 1, op: Op.PUT, keys: ["k"], value: Uint8Array.of(7), valueSize: 2 ** 32 - 1 });
        if (backend === "udp") {
          const peer = await RawUdpPeer.open(codec);
          await peer.send(huge, listening);
          for (let i = 0; i < 50; i++) await peer.send(Uint8Array.of(0, i), listening);
          await peer.waitFor(51);
          assert.equal(peer.responses.filter((r) => r.status === Status.TOO_LARGE).length, 1);
          assert.equal(peer.responses.filter((r) => r.status === Status.MALFORMED).length, 50);
          await peer.close();
        } else {
          const peer = await RawTcpPeer.connect(listening, codec);
          await peer.write(frame(huge));
          await peer.write(Buffer.concat([varint(500), Buffer.alloc(20)]));
          await peer.waitFor(1);
          assert.equal(peer.responses[0]!.status, Status.TOO_LARGE);
          peer.reset();
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(child.exitCode, null, `the server exited: ${stderr}`);
        const port = await openPort(backend === "tcp" ? { backend: "tcp" } : { backend: "udp" });
        const client = new KvClient(port, codec, listening, { timeoutMs: 3000 });
        try {
          const v = makeValue(1, 1, 90_000);
          assert.equal((await client.call(Op.PUT, ["v"], v)).status, Status.OK);
          assert.ok(same((await client.call(Op.GET, ["v"])).values[0]!, v));
          const st = await client.serverStats();
          assert.equal((st.rejected as Record<string, number>).valueTooLarge, 1);
        } finally {
          client.close();
          await port.close();
        }
        child.kill("SIGTERM");
        const [code] = await once(child, "exit");
        assert.equal(code, 0, `exit code ${code}: ${stderr}`);
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    });
  }
});
