/**
 * Plain `node:dgram` / `node:net` peers for the hostile-client tests: they send raw bytes (any
 * frame, valid or not) to a kv server and collect what comes back, with no sgwire port involved.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { Request, type Response } from "../gen/kv.sg.js";
import type { KvCodec } from "../kv/codecs/codec.js";

/** The protobuf bytes of a request (the wire format of the sgwire and protobufjs codecs). */
export function requestBytes(r: Partial<Request>): Uint8Array {
  return Request.encode({ id: 0, op: 0, keys: [], value: new Uint8Array(0), valueSize: 0, valueOffset: 0, ...r }).toBinary();
}

/** The varint length prefix of the tcp port's framing. */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

export function frame(body: Uint8Array): Buffer {
  return Buffer.concat([varint(body.length), body]);
}

function waitUntil(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(what()));
      setTimeout(tick, 5);
    };
    tick();
  });
}

/** A UDP socket that sends raw datagrams and decodes every datagram it receives as a Response. */
export class RawUdpPeer {
  readonly responses: Response[] = [];
  undecodable = 0;
  /** Datagrams the socket reported sent. */
  sent = 0;
  private constructor(
    readonly sock: dgram.Socket,
    private readonly codec: KvCodec,
  ) {
    sock.on("message", (b) => {
      try {
        const r = codec.decodeResponse(new Uint8Array(b.buffer, b.byteOffset, b.length));
        this.responses.push({ ...r, values: r.values.map((v) => new Uint8Array(v)) });
      } catch {
        this.undecodable++;
      }
    });
  }

  static async open(codec: KvCodec): Promise<RawUdpPeer> {
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
    return new RawUdpPeer(sock, codec);
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** Sends one datagram; `sent` counts those the socket reported sent. */
  send(bytes: Uint8Array, to: { address: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(bytes, to.port, to.address, (err) => {
        if (err) return reject(err);
        this.sent++;
        resolve();
      }),
    );
  }

  /** Waits until `n` responses arrived in all (those already in count). */
  waitFor(n: number, ms = 3000): Promise<void> {
    return waitUntil(() => this.responses.length >= n, ms, () => `udp peer: ${this.responses.length} of ${n} responses within ${ms} ms`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

/** A TCP connection that writes raw bytes and decodes the length-delimited frames it reads. */
export class RawTcpPeer {
  readonly responses: Response[] = [];
  closed = false;
  error: Error | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private constructor(
    readonly sock: net.Socket,
    private readonly codec: KvCodec,
  ) {
    sock.on("data", (chunk: Buffer) => this.read(chunk));
    sock.on("error", (err) => (this.error = err));
    sock.on("close", () => (this.closed = true));
  }

  static async connect(to: { address: string; port: number }, codec: KvCodec): Promise<RawTcpPeer> {
    const sock = net.connect({ host: to.address, port: to.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", () => resolve());
      sock.once("error", reject);
    });
    return new RawTcpPeer(sock, codec);
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = 0;
      for (; i < 5 && i < this.pending.length; i++) {
        const b = this.pending[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) break;
      }
      if (i >= this.pending.length || this.pending.length < i + 1 + len) return;
      const body = this.pending.subarray(i + 1, i + 1 + len);
      const r = this.codec.decodeResponse(new Uint8Array(body.buffer, body.byteOffset, body.length));
      this.responses.push({ ...r, values: r.values.map((v) => new Uint8Array(v)) });
      this.pending = this.pending.subarray(i + 1 + len);
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  waitFor(n: number, ms = 3000): Promise<void> {
    return waitUntil(() => this.responses.length >= n, ms, () => `tcp peer: ${this.responses.length} of ${n} responses within ${ms} ms`);
  }

  /** Ends the connection with a RST (SO_LINGER 0): the server sees ECONNRESET. */
  reset(): void {
    this.sock.resetAndDestroy();
  }

  end(): void {
    this.sock.destroy();
  }
}

export { waitUntil };
