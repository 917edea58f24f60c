/**
 * The kv server: GET, PUT, GETM, DELETE (and STATS) over any @sgwire/nic port, with the codec
 * chosen at start.
 *
 *   tsx kv/server.ts [--backend udp|tcp|dpdk] [--codec sgwire|protobufjs|flatbuffers]
 *                    [--bind ADDRESS:PORT]                      (udp, tcp; default 127.0.0.1:7000)
 *                    [--engine native|uring|dgram|net] [--gso on|off] (udp, tcp: the kernel engine; udp native: GSO)
 *                    [--vdev net_af_packet0,iface=sgw0 --address 198.18.0.1 --port 7700
 *                     --peer 198.18.0.2=MAC ...]                (dpdk)
 *                    [--max-value-bytes N] [--max-key-bytes N]
 *                    [--max-pending-put-bytes N] [--max-pending-puts N]   (see KvServerOptions)
 *
 * Prints one JSON line {"listening": {...}} when ready; stops on SIGINT/SIGTERM.
 *
 * Exposed to untrusted clients: what a request may make the server reserve is capped (a PUT's
 * value_size by maxValueBytes, all PUTs whose pieces are still arriving by maxPendingPutBytes and
 * maxPendingPuts); a request that cannot be served is answered with an error status (BAD_REQUEST,
 * TOO_LARGE, MALFORMED, BUSY) and counted by kind in `counters.rejected`; faults of one peer that
 * the port reports (a reset connection, a bad frame) are counted in `counters.portFaults`. Nothing
 * a client sends stops the server.
 *
 * With sgwire a GET response references the stored value (registered memory) and only the
 * scratch (tags, lengths, id) is copied; the baselines copy the value into their output buffer.
 */
import { SgList } from "@sgwire/core";
import type { Endpoint, FaultKind, Port, PortFault, ReceivedMessage } from "@sgwire/nic";
import { Op, Status, type Request, type Response } from "../gen/kv.sg.js";
import type { KvCodec } from "./codecs/codec.js";
import { splitResponse } from "./packets.js";
import { Store } from "./store.js";
import { isMain, openKvPort, parseArgs, portArgs, type Args } from "./cli-args.js";

/** Most keys a GETM may name. */
export const MAX_GETM = 32;
/** How long the pieces of a split PUT may take to arrive before they are dropped. */
const PUT_ASSEMBLY_MS = 2000;
const EMPTY = new Uint8Array(0);

/** What a request may make the server hold. Every limit is an integer >= 1. */
export interface KvServerOptions {
  /**
   * Largest value a PUT may store, in bytes: a PUT whose value_size (or value) is larger is
   * answered TOO_LARGE and nothing is reserved. Default 1 MiB (DEFAULT_MAX_VALUE_BYTES).
   */
  maxValueBytes?: number;
  /** Longest key, in UTF-8 bytes; a request naming a longer one is answered TOO_LARGE. Default 1024. */
  maxKeyBytes?: number;
  /**
   * Most bytes reserved at once for PUTs whose pieces are still arriving (a PUT larger than one
   * packet reserves its whole value_size at its first piece). A PUT that would go over is answered
   * BUSY. Default 64 MiB. Unfinished PUTs are dropped after 2 to 4 s (putAssembliesExpired).
   */
  maxPendingPutBytes?: number;
  /** Most PUTs assembling at once (a claim of a few bytes still costs a map entry). Default 1024. */
  maxPendingPuts?: number;
}

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_KEY_BYTES = 1024;
export const DEFAULT_MAX_PENDING_PUT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_PUTS = 1024;
const OPTION_KEYS = ["maxValueBytes", "maxKeyBytes", "maxPendingPutBytes", "maxPendingPuts"] as const;

/** Requests refused, by kind; each was answered with the status named (none of them stops the server). */
export interface RejectedCounters {
  /** MALFORMED: the bytes did not decode (garbage, a truncated message). */
  undecodable: number;
  /** BAD_REQUEST: an op the server does not know. */
  unknownOp: number;
  /** BAD_REQUEST: GET, PUT or DELETE without a key. */
  missingKey: number;
  /** BAD_REQUEST: GETM of no key or of more than MAX_GETM. */
  badKeyCount: number;
  /** TOO_LARGE: a key over maxKeyBytes. */
  keyTooLarge: number;
  /** TOO_LARGE: a PUT whose value_size or value is over maxValueBytes. */
  valueTooLarge: number;
  /** BAD_REQUEST: a PUT piece that does not fit its value_size or disagrees with the PUT's earlier pieces. */
  badPiece: number;
  /** BUSY: a PUT in pieces that found maxPendingPutBytes or maxPendingPuts reached. */
  busy: number;
  /** Not answered: handling the request threw (a bug, or a send the port refused); the server goes on. */
  internal: number;
}

export interface ServerCounters {
  /** Messages the port delivered to the server (each is counted once more below: answered, absorbed or rejected.internal). */
  received: number;
  /** Requests that decoded. */
  requests: number;
  gets: number;
  puts: number;
  getms: number;
  deletes: number;
  /** Requests refused (the sum of `rejected`). */
  badRequests: number;
  rejected: RejectedCounters;
  /** PUT pieces taken into an assembly without an answer (the piece that completes the value is answered). */
  piecesAbsorbed: number;
  /** Bytes reserved right now for PUTs whose pieces are still arriving, and how many such PUTs. */
  pendingPutBytes: number;
  pendingPuts: number;
  /**
   * The port's 'fault' events by kind, summed over their counts: what one peer or one message did
   * wrong below the kv protocol (a reset connection, a truncated or oversize frame, datagrams the
   * kernel dropped: see @sgwire/nic's FaultKind). Counted; the server goes on.
   */
  portFaults: Partial<Record<FaultKind, number>>;
  /** The port's 'error' events: the port itself failed and no longer serves (the CLI exits on one). */
  portErrors: number;
  /** Logical responses of any status (a split response counts once) and the packets they took; STATS answers not included. */
  responses: number;
  packets: number;
  /** Answers to STATS requests. */
  statsResponses: number;
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
    received: 0, requests: 0, gets: 0, puts: 0, getms: 0, deletes: 0, badRequests: 0,
    rejected: { undecodable: 0, unknownOp: 0, missingKey: 0, badKeyCount: 0, keyTooLarge: 0, valueTooLarge: 0, badPiece: 0, busy: 0, internal: 0 },
    piecesAbsorbed: 0, pendingPutBytes: 0, pendingPuts: 0, portFaults: {}, portErrors: 0,
    responses: 0, packets: 0, statsResponses: 0, encodeCopied: 0, outputLent: 0, valueBytes: 0, putAssembliesExpired: 0,
  };
  /** The last port 'error' (the port itself failed), for the CLI to report. */
  lastPortError: Error | null = null;
  readonly maxValueBytes: number;
  readonly maxKeyBytes: number;
  readonly maxPendingPutBytes: number;
  readonly maxPendingPuts: number;
  private readonly list = new SgList(4096);
  private readonly budget: number;
  private readonly assemblies = new Map<string, PutAssembly>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private statsCopied = 0;
  private statsReferenced = 0;
  /** The encoder's bytes of STATS replies (kept out of encodeCopied, as their port copies are). */
  private statsEncoded = 0;

  constructor(
    readonly port: Port,
    readonly codec: KvCodec,
    o: KvServerOptions = {},
  ) {
    for (const k of Object.keys(o)) {
      if (!(OPTION_KEYS as readonly string[]).includes(k)) throw new TypeError(`KvServer: unknown option ${k} (known: ${OPTION_KEYS.join(", ")})`);
    }
    this.maxValueBytes = limit(o.maxValueBytes, DEFAULT_MAX_VALUE_BYTES, "maxValueBytes");
    this.maxKeyBytes = limit(o.maxKeyBytes, DEFAULT_MAX_KEY_BYTES, "maxKeyBytes");
    this.maxPendingPutBytes = limit(o.maxPendingPutBytes, DEFAULT_MAX_PENDING_PUT_BYTES, "maxPendingPutBytes");
    this.maxPendingPuts = limit(o.maxPendingPuts, DEFAULT_MAX_PENDING_PUTS, "maxPendingPuts");
    this.store = new Store(port);
    this.budget = port.caps.maxMessageBytes;
  }

  start(): void {
    this.port.on("fault", this.onFault);
    this.port.on("error", this.onError);
    this.port.onMessage(this.onMessage);
    this.sweepTimer = setInterval(() => this.sweep(), PUT_ASSEMBLY_MS).unref();
  }

  async stop(): Promise<void> {
    this.port.onMessage(null);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    await this.port.close();
    this.port.off("fault", this.onFault);
    this.port.off("error", this.onError);
    for (const a of this.assemblies.values()) a.rb.release();
    this.assemblies.clear();
    this.counters.pendingPutBytes = 0;
    this.counters.pendingPuts = 0;
    this.store.clear();
  }

  /** A fault of one peer or one message, reported by the port (see @sgwire/nic's PortFault): counted, nothing stops. */
  private readonly onFault = (f: PortFault): void => {
    const pf = this.counters.portFaults;
    pf[f.kind] = (pf[f.kind] ?? 0) + f.count;
  };

  /** The port itself failed: counted and kept (lastPortError), never thrown; whoever runs the server decides. */
  private readonly onError = (err: Error): void => {
    this.counters.portErrors++;
    this.lastPortError = err;
  };

  private readonly onMessage = (m: ReceivedMessage): void => {
    const c = this.counters;
    c.received++;
    try {
      let req: Request;
      try {
        req = this.codec.decodeRequest(m.bytes);
      } catch {
        // nothing of it can be trusted, not even its id
        return this.reject(m.source, 0, "undecodable", Status.MALFORMED);
      }
      this.handle(req, m.source);
    } catch {
      // a request must never stop the server: count it (it got no answer) and go on
      c.rejected.internal++;
      c.badRequests++;
    } finally {
      // the request's key and value are views of the receive buffer: done with them now
      m.release();
    }
  };

  /** Answers `id` with an error status and counts it under `kind`. */
  private reject(from: Endpoint, id: number, kind: keyof RejectedCounters, status: Status): void {
    this.counters.rejected[kind]++;
    this.counters.badRequests++;
    this.reply(from, id, status, [], []);
  }

  private keyTooLarge(k: string): boolean {
    // a UTF-16 unit is at most 3 UTF-8 bytes: count exactly only when it could matter
    return k.length * 3 > this.maxKeyBytes && Buffer.byteLength(k, "utf8") > this.maxKeyBytes;
  }

  private handle(req: Request, from: Endpoint): void {
    const c = this.counters;
    c.requests++;
    const key = req.keys[0];
    for (const k of req.keys) if (this.keyTooLarge(k)) return this.reject(from, req.id, "keyTooLarge", Status.TOO_LARGE);
    switch (req.op) {
      case Op.GET: {
        c.gets++;
        if (key === undefined) return this.reject(from, req.id, "missingKey", Status.BAD_REQUEST);
        const v = this.store.get(key);
        if (v === undefined) return this.reply(from, req.id, Status.NOT_FOUND, [], []);
        return this.reply(from, req.id, Status.OK, [v], []);
      }
      case Op.GETM: {
        c.getms++;
        const n = req.keys.length;
        if (n === 0 || n > MAX_GETM) return this.reject(from, req.id, "badKeyCount", Status.BAD_REQUEST);
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
        if (key === undefined) return this.reject(from, req.id, "missingKey", Status.BAD_REQUEST);
        if (req.valueSize > this.maxValueBytes || req.value.length > this.maxValueBytes) {
          return this.reject(from, req.id, "valueTooLarge", Status.TOO_LARGE);
        }
        if (req.valueSize === 0 || (req.valueOffset === 0 && req.value.length === req.valueSize)) {
          c.puts++;
          this.store.put(key, req.value);
          return this.reply(from, req.id, Status.OK, [], []);
        }
        return this.putPiece(req, key, from);
      }
      case Op.DELETE: {
        c.deletes++;
        if (key === undefined) return this.reject(from, req.id, "missingKey", Status.BAD_REQUEST);
        return this.reply(from, req.id, this.store.delete(key) ? Status.OK : Status.NOT_FOUND, [], []);
      }
      case Op.STATS: {
        const body = new TextEncoder().encode(JSON.stringify(this.snapshot()));
        // not a kv response: keep its copies out of the port's figures that STATS reports
        const before = this.port.stats;
        this.reply(from, req.id, Status.OK, [body], [], false);
        this.counters.statsResponses++;
        const after = this.port.stats;
        this.statsCopied += after.bytesCopied - before.bytesCopied;
        this.statsReferenced += after.bytesReferenced - before.bytesReferenced;
        this.statsEncoded += after.copies.encoder - before.copies.encoder;
        return;
      }
      default:
        return this.reject(from, req.id, "unknownOp", Status.BAD_REQUEST);
    }
  }

  /**
   * One piece of a PUT too large for a packet: copied into a buffer reserved at the first piece
   * (value_size bytes, within maxValueBytes and the pending-put budget), committed when complete.
   */
  private putPiece(req: Request, key: string, from: Endpoint): void {
    const c = this.counters;
    const id = `${from.address}:${from.port}/${req.id}`;
    const end = req.valueOffset + req.value.length;
    let a = this.assemblies.get(id);
    if (a !== undefined && (req.valueSize !== a.size || key !== a.key || end > a.size)) {
      this.dropAssembly(id, a);
      return this.reject(from, req.id, "badPiece", Status.BAD_REQUEST);
    }
    if (end > req.valueSize) return this.reject(from, req.id, "badPiece", Status.BAD_REQUEST);
    if (a === undefined) {
      if (c.pendingPuts >= this.maxPendingPuts || c.pendingPutBytes + req.valueSize > this.maxPendingPutBytes) {
        return this.reject(from, req.id, "busy", Status.BUSY);
      }
      a = { rb: this.store.reserve(req.valueSize), size: req.valueSize, got: 0, key, started: Date.now() };
      this.assemblies.set(id, a);
      c.pendingPuts++;
      c.pendingPutBytes += a.size;
    }
    a.rb.bytes.set(req.value, req.valueOffset);
    a.got += req.value.length;
    if (a.got < a.size) {
      c.piecesAbsorbed++;
      return;
    }
    this.assemblies.delete(id);
    c.pendingPuts--;
    c.pendingPutBytes -= a.size;
    c.puts++;
    this.store.commit(key, a.rb, a.size);
    this.reply(from, req.id, Status.OK, [], []);
  }

  private dropAssembly(id: string, a: PutAssembly): void {
    this.assemblies.delete(id);
    this.counters.pendingPuts--;
    this.counters.pendingPutBytes -= a.size;
    a.rb.release();
  }

  private sweep(): void {
    const old = Date.now() - PUT_ASSEMBLY_MS;
    for (const [id, a] of this.assemblies) {
      if (a.started >= old) continue;
      this.dropAssembly(id, a);
      this.counters.putAssembliesExpired++;
    }
  }

  private reply(to: Endpoint, id: number, status: Status, values: Uint8Array[], missing: number[], count = true): void {
    const r: Response = { id, status, values, missing, part: 0, parts: 0, firstIndex: 0, firstOffset: 0, sizes: [] };
    const c = this.counters;
    const parts = splitResponse(r, this.budget);
    const send = this.codec.sendResponse;
    for (const p of parts) {
      if (send !== undefined) {
        // the port encodes into its own send memory; what the encoder wrote is in its ledger
        send(this.port, p, to);
        continue;
      }
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
      // responses sent with sendResponse: the encoder's bytes are the port's ledger (STATS replies excluded)
      encodeCopied: this.counters.encodeCopied + (this.codec.sendResponse !== undefined ? p.copies.encoder - this.statsEncoded : 0),
      rejected: { ...this.counters.rejected },
      portFaults: { ...this.counters.portFaults },
      limits: { maxValueBytes: this.maxValueBytes, maxKeyBytes: this.maxKeyBytes, maxPendingPutBytes: this.maxPendingPutBytes, maxPendingPuts: this.maxPendingPuts },
      portBytesCopied: p.bytesCopied - this.statsCopied,
      portBytesReferenced: p.bytesReferenced - this.statsReferenced,
      portMessagesSent: p.messagesSent,
      portDrops: p.drops,
      store: this.store.stats,
    };
  }
}

function limit(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`KvServer: ${name} must be an integer >= 1, got ${String(v)}`);
  return v;
}

/** KvServerOptions from --max-value-bytes, --max-key-bytes, --max-pending-put-bytes, --max-pending-puts. */
export function serverArgs(a: Args): KvServerOptions {
  const o: KvServerOptions = {};
  if (a.has("max-value-bytes")) o.maxValueBytes = a.num("max-value-bytes", DEFAULT_MAX_VALUE_BYTES);
  if (a.has("max-key-bytes")) o.maxKeyBytes = a.num("max-key-bytes", DEFAULT_MAX_KEY_BYTES);
  if (a.has("max-pending-put-bytes")) o.maxPendingPutBytes = a.num("max-pending-put-bytes", DEFAULT_MAX_PENDING_PUT_BYTES);
  if (a.has("max-pending-puts")) o.maxPendingPuts = a.num("max-pending-puts", DEFAULT_MAX_PENDING_PUTS);
  return o;
}

/**
 * The largest message a kv server's TCP port should accept: a whole PUT of maxValueBytes, its key
 * and the fields around them. A longer frame is the port's to refuse (it never reaches the server).
 */
export function tcpMaxMessageBytes(o: KvServerOptions): number {
  return (o.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES) + (o.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES) + 1024;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { loadCodec } = await import("./codecs/codec.js");
  const codec = await loadCodec(args.str("codec", "sgwire"));
  const options = serverArgs(args);
  const po = portArgs(args, "server");
  if (po.backend === "tcp") po.maxMessageBytes = tcpMaxMessageBytes(options);
  const port = await openKvPort(po);
  const server = new KvServer(port, codec, options);
  server.start();
  // the port itself failed (its socket or device): nothing more can be served
  port.on("error", (err: Error) => {
    process.stderr.write(`kv server: the port failed: ${err.message}\n`);
    process.exit(1);
  });
  process.stdout.write(JSON.stringify({ listening: { ...port.localAddress, backend: port.caps.backend, driver: port.caps.driver, codec: codec.name, maxMessageBytes: port.caps.maxMessageBytes, copyThreshold: port.policy.copyThreshold } }) + "\n");
  const stop = (): void => {
    server.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (isMain(import.meta.url)) await main();
