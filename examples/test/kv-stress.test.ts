/**
 * A kv server (kernel UDP and TCP on loopback, in a process of its own: test/stress-server.ts)
 * for about a minute under a mixed load: valid clients checking every value byte for byte, and
 * hostile ones sending 2^32-1 and 2^31-1 value_size claims, PUT pieces that never complete,
 * garbage, truncated frames and unknown ops, and resetting TCP connections mid-frame and with
 * responses in flight. Asserted: the server never exits; every request it received is answered
 * or counted; every valid request is answered (UDP: or its loss is explained by counted socket
 * drops); every hostile request got the status its kind calls for; the memory of the server
 * process after garbage collection is back to its baseline, and while under load it never held
 * more than its pending-put budget beyond it.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { openPort, type Port } from "@sgwire/nic";
import { Op, Status } from "../gen/kv.sg.js";
import { loadCodec, type KvCodec } from "../kv/codecs/codec.js";
import { KvClient } from "../kv/kv-client.js";
import { Expected, preload, runLoad, type LoadSummary } from "../kv/load.js";
import { makeValue, makeWorkload } from "../kv/workloads.js";
import type { KvServerOptions } from "../kv/server.js";
import { RawTcpPeer, RawUdpPeer, frame, requestBytes, varint, waitUntil } from "./raw-peers.js";
import type { Memory, Snapshot } from "./stress-server.js";

type Addr = { address: string; port: number };
const MiB = 1024 * 1024;
const LOAD_SECONDS = 30;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** Datagrams the kernel dropped on the UDP socket bound to `port` (receive buffer full), from /proc/net/udp. */
function udpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(hex)) return Number(f[f.length - 1]);
  }
  return 0;
}

class StressServer {
  private waiters: Array<(s: Snapshot) => void> = [];
  stderr = "";
  exit: { code: number | null; signal: string | null } | null = null;
  private constructor(readonly child: ChildProcess) {
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    child.on("message", (m: { measure?: Snapshot }) => {
      if (m.measure !== undefined) this.waiters.shift()?.(m.measure);
    });
    child.on("exit", (code, signal) => (this.exit = { code, signal }));
  }

  static async start(engine: "portable" | "native"): Promise<{ server: StressServer; udp: Addr; tcp: Addr; limits: Required<KvServerOptions> }> {
    const child = fork(new URL("./stress-server.ts", import.meta.url).pathname, [engine], {
      execArgv: ["--expose-gc", "--import", "tsx"],
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    const server = new StressServer(child);
    const ready = await new Promise<{ udp: Addr; tcp: Addr; limits: Required<KvServerOptions> }>((resolve, reject) => {
      child.once("message", (m: { ready: { udp: Addr; tcp: Addr; limits: Required<KvServerOptions> } }) => resolve(m.ready));
      child.once("exit", (code) => reject(new Error(`stress server exited (${code}) before it was ready: ${server.stderr}`)));
    });
    return { server, ...ready };
  }

  measure(): Promise<Snapshot> {
    this.assertAlive();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.child.send("measure");
    });
  }

  assertAlive(): void {
    assert.equal(this.exit, null, `the kv server process exited: ${JSON.stringify(this.exit)} ${this.stderr}`);
  }

  async stop(): Promise<number | null> {
    if (this.exit !== null) return this.exit.code;
    this.child.send("stop");
    await waitUntil(() => this.exit !== null, 10000, () => "the kv server process did not stop");
    return this.exit!.code;
  }
}

/** A hostile UDP client: batches of bad requests; ids encode the kind, so each answer can be checked against it. */
class UdpHostile {
  /** id → the status its request must get (null: a claim within the limits, absorbed or BUSY). */
  private readonly expect = new Map<number, Status | null>();
  private nextId = 1;
  sentByKind: Record<string, number> = {};
  wrong: string[] = [];
  private constructor(
    readonly peer: RawUdpPeer,
    private readonly to: Addr,
    private readonly limits: Required<KvServerOptions>,
  ) {}

  static async open(codec: KvCodec, to: Addr, limits: Required<KvServerOptions>): Promise<UdpHostile> {
    return new UdpHostile(await RawUdpPeer.open(codec), to, limits);
  }

  private send(kind: string, bytes: Uint8Array, id: number, status: Status | null): void {
    if (id !== 0) this.expect.set(id, status);
    this.sentByKind[kind] = (this.sentByKind[kind] ?? 0) + 1;
    this.peer.send(bytes, this.to).catch((e: Error) => this.wrong.push(`send ${kind}: ${e.message}`));
  }

  batch(): void {
    const L = this.limits;
    const id = (): number => this.nextId++;
    let i: number;
    i = id();
    this.send("claim 2^32-1", requestBytes({ id: i, op: Op.PUT, keys: ["h"], value: Uint8Array.of(1), valueSize: 2 ** 32 - 1 }), i, Status.TOO_LARGE);
    i = id();
    this.send("claim 2^31-1", requestBytes({ id: i, op: Op.PUT, keys: ["h"], value: Uint8Array.of(1, 2), valueSize: 2 ** 31 - 1, valueOffset: 9 }), i, Status.TOO_LARGE);
    i = id();
    this.send("claim maxValueBytes, never finished", requestBytes({ id: i, op: Op.PUT, keys: [`h${i}`], value: new Uint8Array(512), valueSize: L.maxValueBytes }), i, null);
    i = id();
    this.send("piece outside value_size", requestBytes({ id: i, op: Op.PUT, keys: ["h"], value: new Uint8Array(64), valueSize: 100, valueOffset: 50 }), i, Status.BAD_REQUEST);
    this.send("garbage", Uint8Array.from({ length: 1 + (this.nextId % 900) }, (_, k) => (k === 0 ? 0 : (k * 97 + this.nextId) & 0xff)), 0, Status.MALFORMED);
    const get = requestBytes({ id: 0, op: Op.GET, keys: ["a-key-that-is-cut-short"] });
    this.send("truncated", get.subarray(0, get.length - 5), 0, Status.MALFORMED);
    i = id();
    this.send("unknown op", requestBytes({ id: i, op: 42 as Op, keys: ["h"] }), i, Status.BAD_REQUEST);
    i = id();
    this.send("no key", requestBytes({ id: i, op: Op.GET }), i, Status.BAD_REQUEST);
    i = id();
    this.send("key too long", requestBytes({ id: i, op: Op.GET, keys: ["k".repeat(L.maxKeyBytes + 1)] }), i, Status.TOO_LARGE);
  }

  /** Checks every answer against its request's kind; returns the answers by status name. */
  check(): Record<string, number> {
    const byStatus: Record<string, number> = {};
    for (const r of this.peer.responses) {
      byStatus[Status[r.status] ?? String(r.status)] = (byStatus[Status[r.status] ?? String(r.status)] ?? 0) + 1;
      if (r.id === 0) {
        if (r.status !== Status.MALFORMED) this.wrong.push(`id 0 answered ${Status[r.status]}`);
        continue;
      }
      const want = this.expect.get(r.id);
      if (want === undefined) this.wrong.push(`answer to unknown id ${r.id}`);
      else if (want === null ? r.status !== Status.BUSY : r.status !== want) this.wrong.push(`id ${r.id} answered ${Status[r.status]}, want ${want === null ? "BUSY" : Status[want]}`);
      this.expect.delete(r.id); // a second answer to the same id is then "unknown"
    }
    return byStatus;
  }
}

/** A hostile TCP client: one round of bad connections (two of them reset, one over the port's frame limit). */
async function tcpHostileRound(to: Addr, codec: KvCodec, wrong: string[]): Promise<void> {
  // a claim and garbage in well-formed frames: answered TOO_LARGE and MALFORMED on the connection
  const a = await RawTcpPeer.connect(to, codec);
  await a.write(Buffer.concat([frame(requestBytes({ id: 7, op: Op.PUT, keys: ["h"], value: Uint8Array.of(1), valueSize: 2 ** 32 - 1 })), frame(Uint8Array.of(0x00, 0x13, 0x37))]));
  await a.waitFor(2, 5000).catch((e: Error) => wrong.push(e.message));
  const got = a.responses.map((r) => `${r.id}:${Status[r.status]}`).join(",");
  if (got !== "7:TOO_LARGE,0:MALFORMED") wrong.push(`tcp claim and garbage answered ${got}`);
  a.end();
  // half a frame, then a reset
  const b = await RawTcpPeer.connect(to, codec);
  await b.write(Buffer.concat([varint(5000), Buffer.alloc(100, 1)]));
  await sleep(5);
  b.reset();
  // a frame longer than the port takes: the port closes the connection
  const c = await RawTcpPeer.connect(to, codec);
  await c.write(varint(2 ** 30));
  await waitUntil(() => c.closed, 5000, () => "").catch(() => wrong.push("tcp: an oversize frame did not close its connection"));
  c.end();
  // GETs of a 200 KB value, reset as soon as the first answer arrives: the rest is written into a reset connection
  const d = await RawTcpPeer.connect(to, codec);
  d.sock.write(Buffer.concat(Array.from({ length: 40 }, (_, k) => frame(requestBytes({ id: k + 1, op: Op.GET, keys: ["hostile:big"] })))));
  await d.waitFor(1, 5000).catch((e: Error) => wrong.push(e.message));
  d.reset();
}

for (const engine of ["portable", "native"] as const) {
  const engines = engine === "native" ? "the native engines" : "Node's dgram and net";
  describe(`kv server stress: a minute of valid and hostile clients on kernel UDP and TCP (${engines})`, function () {
    this.timeout(150_000);
    let srv: StressServer | null = null;
    const ports: Port[] = [];
    const clients: KvClient[] = [];
    const peers: RawUdpPeer[] = [];

    after(async function () {
      for (const c of clients) c.close();
      for (const p of ports) await p.close();
      for (const p of peers) await p.close();
      if (srv !== null && srv.exit === null) srv.child.kill("SIGKILL");
    });

    it("never crashes, answers or counts every request, checks every value, and its memory returns to its baseline", async function () {
      const codec = await loadCodec("sgwire");
      const started = await StressServer.start(engine);
      srv = started.server;
      const { udp, tcp, limits } = started;

      const client = async (backend: "udp" | "tcp", to: Addr): Promise<KvClient> => {
        const port = await openPort(
          backend === "udp"
            ? { backend: "udp", engine: engine === "native" ? "native" : "dgram", highWaterMark: 1024 }
            : { backend: "tcp", engine: engine === "native" ? "native" : "net" },
        );
        ports.push(port);
        // a late UDP answer is not a lost one: wait long enough for a busy machine
        const c = new KvClient(port, codec, to, { timeoutMs: 3000 });
        clients.push(c);
        return c;
      };
      // valid load: twitter-like (90% GET, 10% PUT, 16 B..8 KiB) on each server, two clients each
      const w = makeWorkload("twitter", { keys: 500 });
      const expUdp = new Expected(w);
      const expTcp = new Expected(w);
      const udpClients = [await client("udp", udp), await client("udp", udp)];
      const tcpClients = [await client("tcp", tcp), await client("tcp", tcp)];
      await preload(udpClients[0]!, expUdp);
      await preload(tcpClients[0]!, expTcp);
      // and a client of large values (several datagrams each): PUT, then GET checked byte for byte; BUSY is a valid answer
      const large = await client("udp", udp);
      // (a lost datagram of a UDP request is a timeout, explained below by counted drops; anything else goes to `other`)
      const largeStats = { ok: 0, busy: 0, checked: 0, lost: 0, other: [] as string[] };
      const lost = (): null => (largeStats.lost++, null);
      let largeRun = true;
      const runLarge = async (n0: number): Promise<void> => {
        for (let n = n0; largeRun; n++) {
          const v = makeValue(n, n, 70_000 + ((n * 7919) % 130_000));
          const put = await large.call(Op.PUT, [`large:${n % 20}`], v).catch(lost);
          if (put === null) continue;
          if (put.status === Status.BUSY) {
            largeStats.busy++;
            await sleep(50);
            continue;
          }
          if (put.status !== Status.OK) largeStats.other.push(`PUT ${Status[put.status]}`);
          else largeStats.ok++;
          const got = await large.call(Op.GET, [`large:${n % 20}`]).catch(lost);
          if (got === null) continue;
          if (got.status === Status.OK && same(got.values[0]!, v)) largeStats.checked++;
          else largeStats.other.push(`GET large:${n % 20}: ${Status[got.status]}, ${got.values[0]?.length} bytes`);
        }
      };
      const largeLoop = runLarge(0);
      // the large keys, each rewritten with one size (a stored value's buffer is part of the memory measured)
      const settleLarge = async (): Promise<void> => {
        for (let k = 0; k < 20; k++) {
          for (let tries = 1; ; tries++) {
            const del = await large.call(Op.DELETE, [`large:${k}`]).catch(() => null);
            const put = del === null ? null : await large.call(Op.PUT, [`large:${k}`], makeValue(k, 0, 100_000)).catch(() => null);
            if (put?.status === Status.OK) break;
            if (tries === 5) throw new Error(`large:${k} could not be rewritten: ${put === null ? "no answer" : Status[put.status]}`);
          }
        }
      };
      // the value the hostile TCP readers ask for
      const setup = await RawTcpPeer.connect(tcp, codec);
      await setup.write(frame(requestBytes({ id: 1, op: Op.PUT, keys: ["hostile:big"], value: makeValue(9, 9, 200_000) })));
      await setup.waitFor(1);
      setup.end();

      const udpHostile = await UdpHostile.open(codec, udp, limits);
      peers.push(udpHostile.peer);
      const tcpWrong: string[] = [];
      let tcpRounds = 0;
      let hostileRun = true;
      const hostile = (): Array<Promise<void>> => [
        (async () => {
          while (hostileRun) {
            udpHostile.batch();
            await sleep(25);
          }
        })(),
        (async () => {
          while (hostileRun) {
            await tcpHostileRound(tcp, codec, tcpWrong);
            tcpRounds++;
            await sleep(100);
          }
        })(),
      ];
      const hostile1 = hostile();

      // warm-up: every path taken a few times; then the baseline (after gc, pending PUTs expired)
      const warm = [...udpClients.map((c) => runLoad(c, expUdp, { workload: w, mode: "closed", concurrency: 4, duration: 3, warmup: 0, seed: 1 })),
        ...tcpClients.map((c) => runLoad(c, expTcp, { workload: w, mode: "closed", concurrency: 4, duration: 3, warmup: 0, seed: 2 }))];
      await Promise.all(warm);
      hostileRun = false;
      largeRun = false;
      await Promise.all([...hostile1, largeLoop]);
      await sleep(4500); // unfinished PUTs expire within 4 s
      await settleLarge();
      const base = await srv.measure();
      assert.equal(base.udp.counters.pendingPuts, 0);

      // the load
      hostileRun = true;
      largeRun = true;
      const hostile2 = hostile();
      const largeLoop2 = runLarge(1000);
      const loads: LoadSummary[] = await Promise.all([
        ...udpClients.map((c, k) => runLoad(c, expUdp, { workload: w, mode: "closed", concurrency: 4, duration: LOAD_SECONDS, warmup: 0, seed: 10 + k })),
        ...tcpClients.map((c, k) => runLoad(c, expTcp, { workload: w, mode: "closed", concurrency: 4, duration: LOAD_SECONDS, warmup: 0, seed: 20 + k })),
      ]);
      const underLoad = await srv.measure();
      hostileRun = false;
      largeRun = false;
      await Promise.all([...hostile2, largeLoop2]);
      // every request answered or given up (timeouts are 3 s), unfinished PUTs expired (4 s)
      await waitUntil(() => clients.every((c) => c.outstanding === 0), 5000, () => "valid requests still outstanding");
      await sleep(4500);
      await settleLarge();
      const end = await srv.measure();
      srv.assertAlive();

      const report = {
        loads: loads.map((l) => ({ requests: l.requests, verified: l.verified, mismatches: l.mismatches, timeouts: l.timeouts })),
        large: { ...largeStats, other: largeStats.other.slice(0, 5) },
        hostileUdp: udpHostile.sentByKind,
        tcpRounds,
        udp: { ...end.udp.counters, port: end.udp.port },
        tcp: { ...end.tcp.counters, port: end.tcp.port },
        memory: { base: base.memory, underLoadPeak: underLoad.peak, end: end.memory },
      };
      const why = (): string => JSON.stringify(report, null, 1);

      // valid clients: every value byte-identical, every request answered
      for (const l of loads) {
        assert.equal(l.mismatches, 0, `values differ: ${why()}`);
        assert.ok(l.verified > 500, `too little valid traffic: ${why()}`);
      }
      assert.equal(largeStats.other.length, 0, `large values: ${why()}`);
      assert.ok(largeStats.checked > 5, `too few large values checked: ${why()}`);
      for (const c of clients) assert.equal(c.badResponses, 0);
      for (const c of tcpClients) assert.equal(c.timeouts, 0, `a TCP request went unanswered: ${why()}`);

      // UDP: every datagram sent reached the server or was dropped by the kernel (counted in /proc/net/udp)
      const serverDrops = udpDrops(udp.port);
      const clientDrops = [...udpClients, large].reduce((s, c) => s + udpDrops(c.port.localAddress.port), 0);
      const udpSent = [...udpClients, large].reduce((s, c) => s + c.port.stats.messagesSent, 0) + udpHostile.peer.sent;
      const received = end.udp.counters.received;
      assert.ok(received <= udpSent, `the UDP server received ${received} of ${udpSent} datagrams sent`);
      // (the port counts the kernel's drops of its socket as rx-overflow faults, with datagrams it refused itself)
      const rxOverflow = (end.udp.port.faults as Record<string, number>)["rx-overflow"] ?? 0;
      assert.ok(udpSent - received <= Math.max(serverDrops, rxOverflow),
        `${udpSent - received} datagrams neither received nor counted as dropped (${serverDrops} kernel drops): ${why()}`);
      // and every valid request that timed out is explained by a counted drop
      const udpTimeouts = [...udpClients, large].reduce((s, c) => s + c.timeouts, 0);
      const sendFailed = (end.udp.port.faults as Record<string, number>)["send-failed"] ?? 0;
      assert.ok(udpTimeouts <= serverDrops + clientDrops + sendFailed, `${udpTimeouts} UDP requests lost with ${serverDrops + clientDrops} drops counted: ${why()}`);

      // the servers: every message received is answered, absorbed (a piece of a larger PUT) or counted
      for (const s of [end.udp, end.tcp]) {
        const c = s.counters;
        assert.equal(c.received, s.port.messagesReceived, "the server saw every message its port delivered");
        assert.equal(c.received, c.responses + c.statsResponses + c.piecesAbsorbed + c.rejected.internal, `unaccounted requests: ${why()}`);
        assert.equal(c.rejected.internal, 0, `handling threw: ${why()}`);
        assert.equal(c.pendingPuts, 0);
        assert.equal(c.pendingPutBytes, 0);
        assert.ok(c.putAssembliesExpired > 0 || s === end.tcp);
      }
      // hostile clients: every answer is the status their request's kind calls for, and each kind was seen
      const udpStatuses = udpHostile.check();
      assert.deepEqual(udpHostile.wrong, [], why());
      assert.deepEqual(tcpWrong, [], why());
      for (const st of ["TOO_LARGE", "MALFORMED", "BAD_REQUEST", "BUSY"]) assert.ok((udpStatuses[st] ?? 0) > 10, `few ${st} answers: ${JSON.stringify(udpStatuses)}`);
      const r = end.udp.counters.rejected;
      assert.ok(r.valueTooLarge > 100 && r.undecodable > 100 && r.unknownOp > 10 && r.busy > 10 && r.badPiece > 10 && r.keyTooLarge > 10, why());
      // TCP resets and bad frames were counted as the port's faults, never as errors
      const tf = end.tcp.counters;
      assert.equal(tf.portErrors, 0);
      assert.equal(end.udp.counters.portErrors, 0);
      assert.ok((tf.portFaults.oversize ?? 0) >= tcpRounds, `${tcpRounds} oversize frames: ${why()}`);
      assert.ok((tf.portFaults["peer-reset"] ?? 0) + (tf.portFaults.truncated ?? 0) >= tcpRounds, `${2 * tcpRounds} resets: ${why()}`);

      // memory: while under attack never more than the pending-put budget (plus what the traffic
      // itself holds) above the baseline; after it, back to the baseline
      const over = (m: Memory, k: keyof Memory): number => m[k] - base.memory[k];
      assert.ok(over(underLoad.peak, "arrayBuffers") < limits.maxPendingPutBytes + 96 * MiB, `array buffers peaked ${over(underLoad.peak, "arrayBuffers")} bytes over the baseline: ${why()}`);
      assert.ok(over(end.memory, "arrayBuffers") < 4 * MiB, `array buffers ${over(end.memory, "arrayBuffers")} bytes over the baseline after the load: ${why()}`);
      assert.ok(over(end.memory, "heapUsed") < 8 * MiB, `heap ${over(end.memory, "heapUsed")} bytes over the baseline after the load: ${why()}`);
      assert.ok(over(end.memory, "rss") < 96 * MiB, `rss ${over(end.memory, "rss")} bytes over the baseline after the load: ${why()}`);

      const code = await srv.stop();
      assert.equal(code, 0, `the server process exited with ${code}: ${srv.stderr}`);
      if (process.env.KV_STRESS_REPORT) console.log(why());
    });
  });
}
