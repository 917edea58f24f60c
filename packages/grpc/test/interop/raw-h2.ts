/**
 * A minimal HTTP/2 endpoint over a TCP socket, frame by frame, for the bad-peer tests: node:http2
 * decides some frames itself (its stream.close(code) ends the stream with an empty DATA
 * END_STREAM before the RST_STREAM), a bad peer must send exactly the frames the test means.
 *
 * It speaks enough HTTP/2 to be a real peer: the connection preface, SETTINGS and their
 * acknowledgement, PING replies, HEADERS whose block is HPACK literals without indexing (no
 * Huffman coding, nothing in the dynamic table: valid for any decoder), DATA, RST_STREAM, GOAWAY.
 * It does not decode the header blocks it receives (the tests know what they sent and asked for).
 */
import { once } from "node:events";
import * as net from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
/** HTTP/2 error codes (RFC 9113 7). */
export const H2Error = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, REFUSED_STREAM: 7, CANCEL: 8 } as const;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 5.1), first byte's high bits from `high`. */
function hpackInt(value: number, n: number, high = 0): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [high | value];
  const out = [high | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out.push(v);
  return out;
}

/** A header block of literal fields without indexing, new names, no Huffman (RFC 7541 6.2.2). */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  const parts: number[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    parts.push(0x00, ...hpackInt(n.length, 7), ...n, ...hpackInt(v.length, 7), ...v);
  }
  return Buffer.from(parts);
}

export function headersFrame(streamId: number, headers: Array<[string, string]>, endStream: boolean): Buffer {
  return frame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), streamId, headerBlock(headers));
}

export function dataFrame(streamId: number, data: Uint8Array, endStream = false): Buffer {
  return frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data);
}

export function rstFrame(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
}

/** WINDOW_UPDATE: `increment` more bytes for stream `streamId` (0: the connection). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment & 0x7fffffff);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

export function goawayFrame(lastStreamId: number, code: number, debug = ""): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(code, 4);
  return frame(FrameType.GOAWAY, 0, 0, Buffer.concat([p, Buffer.from(debug)]));
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, then `body` (which may be shorter than `length`). */
export function grpcFrame(body: Uint8Array, opts: { compressed?: boolean; length?: number } = {}): Buffer {
  const p = Buffer.alloc(5);
  p[0] = opts.compressed ? 1 : 0;
  p.writeUInt32BE(opts.length ?? body.length, 1);
  return Buffer.concat([p, body]);
}

/**
 * One HTTP/2 connection, either side: parses frames as they arrive, answers SETTINGS and PING,
 * and hands every other frame to `onFrame` and to `waitFrame` waiters.
 */
export class RawConnection {
  readonly frames: Frame[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #prefaceLeft: number;
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  closed = false;
  onFrame?: (f: Frame) => void;

  constructor(readonly socket: net.Socket, isServer: boolean) {
    this.#prefaceLeft = isServer ? PREFACE.length : 0;
    socket.on("data", (d: Buffer) => this.#onData(d));
    socket.on("error", () => { /* the peer went away: closed below */ });
    socket.on("close", () => { this.closed = true; });
    if (!isServer) socket.write(PREFACE);
    socket.write(frame(FrameType.SETTINGS, 0, 0));
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    if (this.#prefaceLeft > 0) {
      if (this.#buf.length < this.#prefaceLeft) return;
      if (!this.#buf.subarray(0, PREFACE.length).equals(PREFACE)) {
        this.socket.destroy();
        return;
      }
      this.#buf = this.#buf.subarray(this.#prefaceLeft);
      this.#prefaceLeft = 0;
    }
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) break;
      const f: Frame = { type: this.#buf[3]!, flags: this.#buf[4]!, streamId: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: this.#buf.subarray(9, 9 + len) };
      this.#buf = this.#buf.subarray(9 + len);
      this.#handle(f);
    }
  }

  #handle(f: Frame): void {
    if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) this.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    if (f.type === FrameType.PING && !(f.flags & Flag.ACK)) this.write(frame(FrameType.PING, Flag.ACK, 0, f.payload));
    this.frames.push(f);
    this.onFrame?.(f);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(f)) return true;
      w.resolve(f);
      return false;
    });
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /** The first frame (already received or coming) that `match` accepts; rejects after `timeoutMs`. */
  waitFrame(match: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    const got = this.frames.find(match);
    if (got !== undefined) return Promise.resolve(got);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms (frames: ${this.frames.map((x) => `${x.type}/${x.streamId}`).join(" ")})`)), timeoutMs);
      this.#waiters.push({ match, resolve: (f) => { clearTimeout(t); resolve(f); } });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A raw HTTP/2 client connection to 127.0.0.1:`port`. */
export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  return new RawConnection(socket, false);
}

/** A raw HTTP/2 server on 127.0.0.1, an ephemeral port; `onConnection` gets each connection. */
export async function rawServer(onConnection: (c: RawConnection) => void): Promise<{ port: number; connections: RawConnection[]; close(): Promise<void> }> {
  const connections: RawConnection[] = [];
  const server = net.createServer((socket) => {
    const c = new RawConnection(socket, true);
    connections.push(c);
    onConnection(c);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => {
      for (const c of connections) c.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
