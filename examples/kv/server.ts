/**
 * The kv server: GET, PUT, GETM, DELETE (and STATS) over any @sgwire/nic port, with the codec
 * chosen at start.
 *
 *   tsx kv/server.ts [--backend udp|tcp|dpdk] [--codec sgwire|protobufjs|flatbuffers]
 *                    [--bind ADDRESS:PORT]                      (udp, tcp; default 127.0.0.1:7000)
 *                    [--vdev net_af_packet0,iface=sgw0 --address 198.18.0.1 --port 7700
 *                     --peer 198.18.0.2=MAC ...]                (dpdk)
 *
 * Prints one JSON line {"listening": {...}} when ready; stops on SIGINT/SIGTERM.
 *
 * With sgwire a GET response references the stored value (registered memory) and only the
 * scratch (tags, lengths, id) is copied; the baselines copy the value into their output buffer.
 */
import { SgList } from "@sgwire/core";
import type { Endpoint, Port, ReceivedMessage } from "@sgwire/nic";
import { Op, Status, type Request, type Response } from "../gen/kv.sg.js";
import type { KvCodec } from "./codecs/codec.js";
import { splitResponse } from "./packets.js";
import { Store } from "./store.js";
import { isMain, openKvPort, parseArgs, portArgs } from "./cli-args.js";

/** Most keys a GETM may name. */
export const MAX_GETM = 32;
/** How long the pieces of a split PUT may take to arrive before they are dropped. */
const PUT_ASSEMBLY_MS = 2000;
const EMPTY = new Uint8Array(0);

export interface ServerCounters {
  requests: number;
  gets: number;
  puts: number;
  getms: number;
  deletes: number;
  badRequests: number;
  /** Logical responses (a split response counts once) and the packets they took. */
  responses: number;
  packets: number;
  /** Bytes the codec copied while encoding responses (scratch for sgwire; everything for the baselines). */
  encodeCopied: number;
  /** Bytes of codec-filled output buffers the port sent as one segment (the baselines'). */
  outputLent: number;
  /** Value bytes in responses. */
  valueBytes: number;
  putAssembliesExpired: number;
}

interface PutAssembly {
  rb: ReturnType<Store["reserve"]>;
  size: number;
  got: number;
  key: string;
  started: number;
}

/**
 * Serves the kv protocol on `port` with `codec`. The server owns the port from start() on and
 * closes it in stop(). Requests are handled as they arrive, synchronously: the request's views of
 * the receive buffer are used and the buffer released before the next one. Responses are sent
 * without waiting: under back-pressure the port queues them (and keeps the values they reference
 * alive until they are sent).
 */
export class KvServer {
  readonly store: Store;
  readonly counters: ServerCounters = {
    requests: 0, gets: 0, puts: 0, getms: 0, deletes: 0, badRequests: 0, responses: 0, packets: 0, encodeCopied: 0, outputLent: 0, valueBytes: 0, putAssembliesExpired: 0,
  };
  private readonly list = new SgList(4096);
  private readonly budget: number;
  private readonly assemblies = new Map<string, PutAssembly>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private statsCopied = 0;
  private statsReferenced = 0;

  constructor(
    readonly port: Port,
    readonly codec: KvCodec,
  ) {
    this.store = new Store(port);
    this.budget = port.caps.maxMessageBytes;
  }

  start(): void {
    this.port.onMessage(this.onMessage);
    this.sweepTimer = setInterval(() => this.sweep(), PUT_ASSEMBLY_MS).unref();
  }

  async stop(): Promise<void> {
    this.port.onMessage(null);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    await this.port.close();
    for (const a of this.assemblies.values()) a.rb.release();
    this.assemblies.clear();
    this.store.clear();
  }

  private readonly onMessage = (m: ReceivedMessage): void => {
    let req: Request;
    try {
      req = this.codec.decodeRequest(m.bytes);
    } catch {
      this.counters.badRequests++;
      m.release();
      return;
    }
    try {
      this.handle(req, m.source);
    } finally {
      // the request's key and value are views of the receive buffer: done with them now
      m.release();
    }
  };

  private handle(req: Request, from: Endpoint): void {
    const c = this.counters;
    c.requests++;
    const key = req.keys[0];
    switch (req.op) {
      case Op.GET: {
        c.gets++;
        const v = key === undefined ? undefined : this.store.get(key);
        if (v === undefined) return this.reply(from, req.id, key === undefined ? Status.BAD_REQUEST : Status.NOT_FOUND, [], []);
        return this.reply(from, req.id, Status.OK, [v], []);
      }
      case Op.GETM: {
        c.getms++;
        const n = req.keys.length;
        if (n === 0 || n > MAX_GETM) return this.reply(from, req.id, Status.BAD_REQUEST, [], []);
        const values = new Array<Uint8Array>(n);
        const missing: number[] = [];
        for (let i = 0; i < n; i++) {
          const v = this.store.get(req.keys[i]!);
          if (v === undefined) {
            values[i] = EMPTY;
            missing.push(i);
          } else values[i] = v;
        }
        return this.reply(from, req.id, missing.length === n ? Status.NOT_FOUND : Status.OK, values, missing);
      }
      case Op.PUT: {
        if (key === undefined) return this.reply(from, req.id, Status.BAD_REQUEST, [], []);
        if (req.valueSize === 0 || (req.valueOffset === 0 && req.value.length === req.valueSize)) {
          c.puts++;
          this.store.put(key, req.value);
          return this.reply(from, req.id, Status.OK, [], []);
        }
        return this.putPiece(req, key, from);
      }
      case Op.DELETE: {
        c.deletes++;
        if (key === undefined) return this.reply(from, req.id, Status.BAD_REQUEST, [], []);
        return this.reply(from, req.id, this.store.delete(key) ? Status.OK : Status.NOT_FOUND, [], []);
      }
      case Op.STATS: {
        const body = new TextEncoder().encode(JSON.stringify(this.snapshot()));
        // not a kv response: keep its copies out of the port's figures that STATS reports
        const before = this.port.stats;
        this.reply(from, req.id, Status.OK, [body], [], false);
        const after = this.port.stats;
        this.statsCopied += after.bytesCopied - before.bytesCopied;
        this.statsReferenced += after.bytesReferenced - before.bytesReferenced;
        return;
      }
      default:
        c.badRequests++;
        return this.reply(from, req.id, Status.BAD_REQUEST, [], []);
    }
  }

  /** One piece of a PUT too large for a packet: copied into a reserved buffer, committed when complete. */
  private putPiece(req: Request, key: string, from: Endpoint): void {
    const id = `${from.address}:${from.port}/${req.id}`;
    let a = this.assemblies.get(id);
    if (a === undefined) {
      a = { rb: this.store.reserve(req.valueSize), size: req.valueSize, got: 0, key, started: Date.now() };
      this.assemblies.set(id, a);
    }
    if (req.valueSize !== a.size || req.valueOffset + req.value.length > a.size) {
      this.assemblies.delete(id);
      a.rb.release();
      return this.reply(from, req.id, Status.BAD_REQUEST, [], []);
    }
    a.rb.bytes.set(req.value, req.valueOffset);
    a.got += req.value.length;
    if (a.got < a.size) return;
    this.assemblies.delete(id);
    this.counters.puts++;
    this.store.commit(key, a.rb, a.size);
    this.reply(from, req.id, Status.OK, [], []);
  }

  private sweep(): void {
    const old = Date.now() - PUT_ASSEMBLY_MS;
    for (const [id, a] of this.assemblies) {
      if (a.started >= old) continue;
      this.assemblies.delete(id);
      a.rb.release();
      this.counters.putAssembliesExpired++;
    }
  }

  private reply(to: Endpoint, id: number, status: Status, values: Uint8Array[], missing: number[], count = true): void {
    const r: Response = { id, status, values, missing, part: 0, parts: 0, firstIndex: 0, firstOffset: 0, sizes: [] };
    const c = this.counters;
    const parts = splitResponse(r, this.budget);
    for (const p of parts) {
      // the port copies the list's scratch before send returns, so one list serves every packet
      const list = this.codec.encodeResponse(p, this.port.policy, this.list);
      if (count) {
        c.encodeCopied += this.codec.copied(list);
        if (this.codec.ownsOutput) c.outputLent += list.byteLength;
      }
      this.port.send(list, to);
    }
    if (!count) return;
    c.responses++;
    c.packets += parts.length;
    for (const v of values) c.valueBytes += v.length;
  }

  /** Counters, the port's and the store's, as STATS reports them. */
  snapshot(): Record<string, unknown> {
    const p = this.port.stats;
    const cpu = process.cpuUsage();
    return {
      // the whole server process's CPU time (user + system, microseconds): with DPDK this
      // includes polling while idle
      cpuMicros: cpu.user + cpu.system,
      codec: this.codec.name,
      backend: this.port.caps.backend,
      driver: this.port.caps.driver,
      ...this.counters,
      portBytesCopied: p.bytesCopied - this.statsCopied,
      portBytesReferenced: p.bytesReferenced - this.statsReferenced,
      portMessagesSent: p.messagesSent,
      portDrops: p.drops,
      store: this.store.stats,
    };
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { loadCodec } = await import("./codecs/codec.js");
  const codec = await loadCodec(args.str("codec", "sgwire"));
  const port = await openKvPort(portArgs(args, "server"));
  const server = new KvServer(port, codec);
  server.start();
  process.stdout.write(JSON.stringify({ listening: { ...port.localAddress, backend: port.caps.backend, driver: port.caps.driver, codec: codec.name, maxMessageBytes: port.caps.maxMessageBytes, copyThreshold: port.policy.copyThreshold } }) + "\n");
  const stop = (): void => {
    server.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (isMain(import.meta.url)) await main();
