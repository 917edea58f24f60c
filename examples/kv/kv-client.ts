/**
 * A kv client over any @sgwire/nic port: issues requests, matches responses by id, puts split
 * responses back together, splits large PUTs, and times out requests whose answer was lost
 * (UDP and DPDK may drop packets under load).
 */
import { SgList } from "@sgwire/core";
import type { Endpoint, Port, ReceivedMessage } from "@sgwire/nic";
import { Op, Status, type Request, type Response } from "../gen/kv.sg.js";
import type { KvCodec } from "./codecs/codec.js";
import { ResponseAssembly, splitPut } from "./packets.js";

/**
 * Called once per request: with the response, or with null when it timed out. Values in the
 * response are views of the receive buffer, valid only during the call (copy what you keep).
 */
export type Done = (r: Response | null) => void;

interface Pending {
  done: Done;
  sentAt: number;
  assembly: ResponseAssembly | null;
}

export interface KvClientOptions {
  /** A request unanswered for this long is given up (done(null)). Default 5 s for tcp; 250 ms otherwise: on loopback a
   * later answer is a lost datagram, and a closed loop with few requests outstanding stalls until then. */
  timeoutMs?: number;
  /** Largest packet to send (default: the port's maxMessageBytes); a DPDK server's MTU may be smaller. */
  maxPacket?: number;
}

export class KvClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly list = new SgList(4096);
  private readonly timeoutMs: number;
  private readonly budget: number;
  private readonly sweeper: NodeJS.Timeout;
  /** Requests given up after timeoutMs, and responses that came too late or matched nothing. */
  timeouts = 0;
  strays = 0;
  badResponses = 0;

  constructor(
    readonly port: Port,
    readonly codec: KvCodec,
    readonly server: Endpoint,
    o: KvClientOptions = {},
  ) {
    // TCP loses nothing: a late answer is only late, so wait long; datagrams may be dropped
    this.timeoutMs = o.timeoutMs ?? (port.caps.backend === "tcp" ? 5000 : 250);
    this.budget = Math.min(o.maxPacket ?? Infinity, port.caps.maxMessageBytes);
    port.onMessage(this.onMessage);
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, this.timeoutMs / 4));
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends one request; `done` runs when its response (all parts) arrived or it timed out. */
  issue(op: Op, keys: string[], value: Uint8Array | null, done: Done): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    const req: Request = { id, op, keys, value: value ?? EMPTY, valueSize: 0, valueOffset: 0 };
    this.pending.set(id, { done, sentAt: performance.now(), assembly: null });
    const pieces = op === Op.PUT && value !== null ? splitPut(req, this.budget) : [req];
    for (const p of pieces) this.port.send(this.codec.encodeRequest(p, this.port.policy, this.list), this.server);
    return id;
  }

  /** Promise form of issue(): the response's values are copied, so they outlive the receive buffer. */
  call(op: Op, keys: string[], value: Uint8Array | null = null): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.issue(op, keys, value, (r) => {
        if (r === null) reject(new Error(`kv: ${Op[op]} ${keys.join(",")}: no response within ${this.timeoutMs} ms`));
        // new Uint8Array(v) copies; v.slice() would not when the decoder returned a Buffer (Buffer#slice is a view)
        else resolve({ ...r, values: r.values.map((v) => new Uint8Array(v)), missing: [...r.missing] });
      });
    });
  }

  /** The server's counters (its STATS request). */
  async serverStats(): Promise<Record<string, unknown>> {
    const r = await this.call(Op.STATS, []);
    return JSON.parse(new TextDecoder().decode(r.values[0]));
  }

  private readonly onMessage = (m: ReceivedMessage): void => {
    try {
      let r: Response;
      try {
        r = this.codec.decodeResponse(m.bytes);
      } catch {
        this.badResponses++;
        return;
      }
      const p = this.pending.get(r.id);
      if (p === undefined) {
        this.strays++;
        return;
      }
      if (r.parts > 1) {
        const whole = (p.assembly ??= new ResponseAssembly()).add(r);
        if (whole === null) return;
        r = whole;
      }
      this.pending.delete(r.id);
      p.done(r);
    } finally {
      m.release();
    }
  };

  private sweep(): void {
    const old = performance.now() - this.timeoutMs;
    for (const [id, p] of this.pending) {
      if (p.sentAt > old) break; // insertion order is send order
      this.pending.delete(id);
      this.timeouts++;
      p.done(null);
    }
  }

  /** Stops the timeout sweeper; pending requests are given up. The port stays open (the caller owns it). */
  close(): void {
    clearInterval(this.sweeper);
    this.port.onMessage(null);
    const ps = [...this.pending.values()];
    this.pending.clear();
    for (const p of ps) p.done(null);
  }
}

const EMPTY = new Uint8Array(0);
export { Op, Status };
