// GrpcServer (src/server.ts) against real peers: raw node:http2 clients made here (to send exactly
// the frames a test needs, malformed ones included) and @grpc/grpc-js's client (with
// @grpc/proto-loader, i.e. protobufjs codecs: an existing grpc-js client pointed at the server).
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  GrpcError, GrpcServer, Metadata, MessageReader, Status, messagePrefix, type ServerContext, type ServiceImplementation,
} from "../src/index.js";
import { Echo, EchoRequest, EchoResponse } from "./gen/client-echo.sg.js";
import { describeWith } from "../../nic/test/suite/requirements.js";
import { pattern as patternBytes } from "./interop/scenarios.js";
import { makeCert, opensslMissing, type TestCert } from "./interop/tls.js";


const { NGHTTP2_CANCEL } = http2.constants;

/** The suite's payloads: interop's pattern (a prime period, so a dropped, repeated or reordered chunk shows), as a Buffer. */
function pattern(n: number, seed: number): Buffer {
  const b = patternBytes(n, seed);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The server's stored data: responses with response_size reference slices of it. */
const STORED = pattern(5 << 20, 77);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** What the handlers saw, for the tests to check. */
interface Seen {
  contexts: ServerContext[];
  aborted: unknown[];
  finished: string[];
}

function echoImpl(seen: Seen): ServiceImplementation<typeof Echo> {
  const respond = (req: EchoRequest, index: number, total: bigint): EchoResponse => ({
    text: req.text,
    payload: req.responseSize > 0 ? STORED.subarray(0, req.responseSize) : req.payload,
    index,
    total,
  });
  const watch = (ctx: ServerContext) => {
    seen.contexts.push(ctx);
    ctx.signal.addEventListener("abort", () => seen.aborted.push(ctx.signal.reason), { once: true });
    // echo request metadata back: x-echo* as response headers, and as trailers with -t appended
    for (const [k, v] of ctx.metadata) {
      if (k.startsWith("x-echo")) {
        ctx.responseHeader.add(k, v);
        ctx.responseTrailer.add(k.endsWith("-bin") ? k.slice(0, -4) + "-t-bin" : k + "-t", v);
      }
    }
  };
  const fail = (req: EchoRequest) => {
    if (req.failCode === 999) throw new Error("secret internal detail");
    if (req.failCode !== 0) throw new GrpcError(req.failCode, `failed as asked: ${req.text}`, new Metadata({ "x-why": "asked", "x-why-bin": new Uint8Array([1, 2, 3]) }));
  };
  return {
    async unary(req, ctx) {
      watch(ctx);
      if (req.delayMs > 0) await sleep(req.delayMs, ctx.signal);
      fail(req);
      seen.finished.push("unary");
      return respond(req, 0, BigInt(req.payload.length));
    },
    async *serverStream(req, ctx) {
      watch(ctx);
      if (req.text === "early-headers") ctx.sendHeader(new Metadata({ "x-early": "yes" }));
      for (let i = 0; i < req.repeat; i++) {
        if (req.delayMs > 0) await sleep(req.delayMs, ctx.signal);
        yield respond(req, i, BigInt(i));
      }
      fail(req);
      seen.finished.push("serverStream");
    },
    async clientStream(requests, ctx) {
      watch(ctx);
      const texts: string[] = [];
      let bytes = 0;
      let last: EchoRequest | undefined;
      for await (const r of requests) {
        if (r.delayMs > 0) await sleep(r.delayMs, ctx.signal);
        texts.push(r.text);
        bytes += r.payload.length;
        last = r;
        fail(r);
      }
      seen.finished.push("clientStream");
      return { text: texts.join(","), payload: last !== undefined && last.responseSize > 0 ? STORED.subarray(0, last.responseSize) : new Uint8Array(0), index: texts.length, total: BigInt(bytes) };
    },
    async *bidi(requests, ctx) {
      watch(ctx);
      let i = 0;
      for await (const r of requests) {
        fail(r);
        if (r.delayMs > 0) await sleep(r.delayMs, ctx.signal);
        for (let k = 0; k < Math.max(1, r.repeat); k++) yield respond(r, i++, BigInt(r.payload.length));
      }
      seen.finished.push("bidi");
    },
  };
}

// ---- a raw HTTP/2 gRPC client -------------------------------------------------------------

interface RawResult {
  httpStatus: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  /** whether the response was trailers-only (the status in the one HEADERS frame) */
  trailersOnly: boolean;
  messages: Uint8Array[];
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  rstCode: number;
}

interface RawOptions {
  /** the request's DATA, written in these pieces (default: none) */
  body?: Uint8Array[];
  /** extra or replaced request headers */
  headers?: http2.OutgoingHttpHeaders;
  /** end the request after the body (default true) */
  end?: boolean;
  /** gets the request stream once it is made */
  onStream?: (req: http2.ClientHttp2Stream) => void;
}

function grpcFrame(type: typeof EchoRequest, msg: Partial<EchoRequest>): Buffer {
  const body = type.toBinary(EchoRequest.create(msg));
  return Buffer.concat([messagePrefix(body.length), body]);
}

function rawCall(session: http2.ClientHttp2Session, path: string, opts: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...opts.headers,
    });
    const messages: Uint8Array[] = [];
    const reader = new MessageReader(64 << 20, (b) => messages.push(Buffer.from(b)));
    const out: RawResult = { httpStatus: 0, headers: {}, trailers: undefined, trailersOnly: false, messages, grpcStatus: undefined, grpcMessage: undefined, rstCode: 0 };
    req.on("response", (h, flags) => {
      out.httpStatus = Number(h[":status"]);
      out.headers = h;
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) out.trailersOnly = true;
    });
    req.on("trailers", (t) => (out.trailers = t));
    req.on("data", (chunk: Buffer) => reader.push(chunk));
    req.on("error", () => {}); // RST codes are reported through rstCode
    req.on("close", () => {
      out.rstCode = req.rstCode ?? 0;
      const st = (out.trailers ?? out.headers)["grpc-status"];
      out.grpcStatus = st === undefined ? undefined : Number(st);
      const m = (out.trailers ?? out.headers)["grpc-message"];
      out.grpcMessage = m === undefined ? undefined : String(m);
      try {
        reader.end();
      } catch (err) {
        reject(err);
        return;
      }
      resolve(out);
    });
    opts.onStream?.(req);
    for (const piece of opts.body ?? []) req.write(piece);
    if (opts.end !== false) req.end();
  });
}

/** An HTTP/2 frame: length, type, flags, stream id, payload. */
function h2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK literal header fields without indexing, no Huffman coding (names and values < 127 bytes). */
function hpack(headers: [string, string][]): Buffer {
  return Buffer.concat(headers.flatMap(([k, v]) => [Buffer.from([0, k.length]), Buffer.from(k), Buffer.from([v.length]), Buffer.from(v)]));
}

/**
 * A peer that writes HTTP/2 frames itself: the preface, SETTINGS, a request's HEADERS on stream 1
 * (flags END_HEADERS, or as given) and `data` in one DATA frame without END_STREAM. Returns the
 * socket to write more frames to.
 */
async function rawH2(port: number, path: string, data: Buffer, headersFlags = 4): Promise<import("node:net").Socket> {
  const net = await import("node:net");
  const sock = net.connect(port, "127.0.0.1");
  sock.on("error", () => {});
  sock.resume();
  await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
  sock.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  sock.write(h2Frame(4, 0, 0, Buffer.alloc(0)));
  const block = hpack([[":method", "POST"], [":scheme", "http"], [":path", path], [":authority", "localhost"], ["content-type", "application/grpc"], ["te", "trailers"]]);
  sock.write(h2Frame(1, headersFlags, 1, block)); // HEADERS, END_HEADERS (and END_STREAM if flags say so)
  sock.write(h2Frame(0, 0, 1, data)); // DATA
  return sock;
}

function decodeAll(r: RawResult): EchoResponse[] {
  return r.messages.map((m) => EchoResponse.fromBinary(m));
}

// ---- grpc-js client (proto-loader: protobufjs codecs, as an existing grpc-js user has) -----

const PROTO = fileURLToPath(new URL("./client.proto", import.meta.url));
const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { longs: String, defaults: true })) as unknown as {
  sgtest: { client: { Echo: grpc.ServiceClientConstructor } };
};
const LoaderEcho = loaded.sgtest.client.Echo;
type LoaderMsg = { text: string; payload: Buffer; index: number; total: string };
const clientOptions = { "grpc.max_receive_message_length": 16 << 20, "grpc.max_send_message_length": 16 << 20 };

function jsUnary(client: grpc.Client, req: object, md = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<{ res: LoaderMsg; headers: grpc.Metadata | undefined; status: grpc.StatusObject | undefined }> {
  return new Promise((resolve, reject) => {
    let headers: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    const call = (client as unknown as { Unary: (...a: unknown[]) => grpc.ClientUnaryCall }).Unary(req, md, options, (err: grpc.ServiceError | null, res: LoaderMsg) => {
      if (err) reject(err);
      else setImmediate(() => resolve({ res, headers, status }));
    });
    call.on("metadata", (m: grpc.Metadata) => (headers = m));
    call.on("status", (s: grpc.StatusObject) => (status = s));
  });
}

function jsCollect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on("data", (m: T) => out.push(m));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });
}

function expectGrpcJsError(p: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<grpc.ServiceError> {
  return p.then(
    () => assert.fail(`expected ${grpc.status[code]}, the call succeeded`),
    (err: grpc.ServiceError) => {
      assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
      if (details) assert.match(err.details, details);
      return err;
    },
  );
}

// ---- the tests ------------------------------------------------------------------------------

describe("GrpcServer", function () {
  this.timeout(30000);
  const seen: Seen = { contexts: [], aborted: [], finished: [] };
  const handlerErrors: unknown[] = [];
  let server: GrpcServer;
  let port: number;
  let session: http2.ClientHttp2Session;
  const sessions: http2.ClientHttp2Session[] = [];
  const jsClients: grpc.Client[] = [];
  const servers: GrpcServer[] = [];

  function connect(p = port): http2.ClientHttp2Session {
    const s = http2.connect(`http://127.0.0.1:${p}`);
    s.on("error", () => {});
    sessions.push(s);
    return s;
  }

  function jsClient(p = port): grpc.Client {
    const c = new LoaderEcho(`127.0.0.1:${p}`, grpc.credentials.createInsecure(), clientOptions);
    jsClients.push(c);
    return c;
  }

  async function startServer(options: ConstructorParameters<typeof GrpcServer>[0] = {}, s: Seen = seen): Promise<{ server: GrpcServer; port: number }> {
    const srv = new GrpcServer({ onError: (e) => handlerErrors.push(e), ...options }).addService(Echo, echoImpl(s));
    servers.push(srv);
    const addr = await srv.listen({ port: 0 });
    return { server: srv, port: addr.port };
  }

  before(async () => {
    ({ server, port } = await startServer());
    session = connect();
  });

  beforeEach(() => {
    seen.contexts.length = 0;
    seen.aborted.length = 0;
    seen.finished.length = 0;
    handlerErrors.length = 0;
  });

  after(async () => {
    for (const c of jsClients) c.close();
    for (const s of sessions) s.destroy();
    for (const s of servers) s.forceClose();
    await Promise.all(servers.map((s) => s.close()));
  });

  describe("the four method kinds (raw HTTP/2 client)", () => {
    it("unary: one request, one response, headers and trailers in the protocol's shape", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "hi", payload: pattern(100, 1) })] });
      assert.equal(r.httpStatus, 200);
      assert.equal(r.headers["content-type"], "application/grpc");
      assert.equal(r.headers.date, undefined, "no date header");
      assert.equal(r.trailersOnly, false);
      assert.equal(r.grpcStatus, Status.OK);
      const [res, ...rest] = decodeAll(r);
      assert.equal(rest.length, 0);
      assert.equal(res!.text, "hi");
      assert.deepEqual(Buffer.from(res!.payload), pattern(100, 1));
      assert.equal(res!.total, 100n);
      assert.deepEqual(seen.finished, ["unary"]);
    });

    it("unary: a 4 MiB response referencing stored memory, and a request split over many DATA frames", async () => {
      const payload = pattern(3 << 20, 5);
      const frame = grpcFrame(EchoRequest, { text: "big", payload, responseSize: 4 << 20 });
      const pieces: Buffer[] = [];
      for (let off = 0; off < frame.length; off += 7777) pieces.push(frame.subarray(off, off + 7777));
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: pieces });
      assert.equal(r.grpcStatus, Status.OK, r.grpcMessage);
      const [res] = decodeAll(r);
      assert.ok(Buffer.from(res!.payload).equals(STORED.subarray(0, 4 << 20)));
      assert.equal(res!.total, BigInt(payload.length));
    });

    it("unary: a request split over many DATA frames is reassembled byte for byte (echoed back)", async () => {
      const payload = pattern(1 << 20, 6);
      const frame = grpcFrame(EchoRequest, { text: "split", payload });
      const pieces: Buffer[] = [];
      for (let off = 0; off < frame.length; off += 7777) pieces.push(frame.subarray(off, off + 7777));
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: pieces });
      assert.equal(r.grpcStatus, Status.OK, r.grpcMessage);
      const [res] = decodeAll(r);
      assert.ok(Buffer.from(res!.payload).equals(payload), "the echoed payload differs from what was sent");
    });

    it("server streaming: every response in order, then the status", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/ServerStream", { body: [grpcFrame(EchoRequest, { text: "s", repeat: 5, responseSize: 70000 })] });
      assert.equal(r.grpcStatus, Status.OK, r.grpcMessage);
      const res = decodeAll(r);
      assert.deepEqual(res.map((x) => x.index), [0, 1, 2, 3, 4]);
      for (const x of res) assert.ok(Buffer.from(x.payload).equals(STORED.subarray(0, 70000)));
    });

    it("server streaming: zero responses is headers-less trailers-only OK", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/ServerStream", { body: [grpcFrame(EchoRequest, { repeat: 0 })] });
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(r.trailersOnly, true);
      assert.equal(r.messages.length, 0);
    });

    it("client streaming: many requests, including several in one DATA frame and one split across frames", async () => {
      const frames = Array.from({ length: 20 }, (_, i) => grpcFrame(EchoRequest, { text: `m${i}`, payload: pattern(i * 100, i) }));
      const all = Buffer.concat(frames);
      // pieces of odd sizes, so messages share frames and straddle them
      const pieces: Buffer[] = [];
      for (let off = 0, n = 1; off < all.length; off += n, n = (n * 7 + 3) % 5000 + 1) pieces.push(all.subarray(off, off + n));
      const r = await rawCall(session, "/sgtest.client.Echo/ClientStream", { body: pieces });
      assert.equal(r.grpcStatus, Status.OK, r.grpcMessage);
      const [res] = decodeAll(r);
      assert.equal(res!.index, 20);
      assert.equal(res!.text, Array.from({ length: 20 }, (_, i) => `m${i}`).join(","));
      assert.equal(res!.total, BigInt(Array.from({ length: 20 }, (_, i) => i * 100).reduce((a, b) => a + b)));
    });

    it("client streaming: no request at all is a valid call", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/ClientStream", {});
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(decodeAll(r)[0]!.index, 0);
    });

    it("bidi: each request answered before the next is sent", async () => {
      const got: number[] = [];
      let req!: http2.ClientHttp2Stream;
      const done = rawCall(session, "/sgtest.client.Echo/Bidi", { end: false, onStream: (s) => (req = s) });
      const reader = new MessageReader(1 << 20, (b) => got.push(EchoResponse.fromBinary(b).index));
      req.on("data", (c: Buffer) => reader.push(c));
      for (let i = 0; i < 5; i++) {
        req.write(grpcFrame(EchoRequest, { text: `b${i}`, payload: pattern(10, i) }));
        const before = got.length;
        while (got.length === before) await sleep(2);
        assert.deepEqual(got, Array.from({ length: i + 1 }, (_, k) => k), "response to request " + i + " arrived before the next request");
      }
      req.end();
      const r = await done;
      assert.equal(r.grpcStatus, Status.OK);
      assert.deepEqual(seen.finished, ["bidi"]);
    });
  });

  describe("handler shapes", () => {
    it("synchronous handlers: a plain value, a sync iterable; a streaming handler that returns no iterable is UNKNOWN via onError", async () => {
      const errors: unknown[] = [];
      const views: { offset: number; bufferBytes: number; length: number }[] = [];
      const srv = new GrpcServer({ onError: (e) => errors.push(e) }).addService(Echo, {
        ...echoImpl(seen),
        unary: (req) => {
          views.push({ offset: req.payload.byteOffset, bufferBytes: req.payload.buffer.byteLength, length: req.payload.length });
          return { text: req.text.toUpperCase(), payload: new Uint8Array(0), index: 0, total: 0n };
        },
        serverStream: (req) => (req.repeat === 99 ? (42 as unknown as EchoResponse[]) : [1, 2, 3].map((i) => ({ text: req.text, payload: new Uint8Array(0), index: i, total: 0n }))),
      });
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0 });
      const s = connect(p);
      const u = await rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "sync", payload: pattern(3000, 1) })] });
      assert.equal(decodeAll(u)[0]!.text, "SYNC");
      // the request's bytes field is a view of the received DATA chunk: past the prefix and the
      // fields before it, inside a buffer holding more than it
      assert.equal(views[0]!.length, 3000);
      assert.ok(views[0]!.offset >= 5 + 6 + 3 && views[0]!.bufferBytes >= 3000 + 14, JSON.stringify(views[0]));
      const ss = await rawCall(s, "/sgtest.client.Echo/ServerStream", { body: [grpcFrame(EchoRequest, { text: "it" })] });
      assert.deepEqual(decodeAll(ss).map((m) => m.index), [1, 2, 3]);
      const bad = await rawCall(s, "/sgtest.client.Echo/ServerStream", { body: [grpcFrame(EchoRequest, { repeat: 99 })] });
      assert.equal(bad.grpcStatus, Status.UNKNOWN);
      assert.match(String(errors[0]), /returned number, not an iterable of responses/);
      assert.deepEqual({ ...srv.stats }, { calls: 3, active: 0, ok: 2, failed: 1, cancelled: 0, badRequests: 0, droppedWrites: 0 });
    });
  });

  describe("metadata", () => {
    it("passes request metadata to the handler, -bin values decoded; sends response headers and trailers, -bin encoded", async () => {
      const bin = new Uint8Array([0, 1, 254, 255, 10]);
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", {
        body: [grpcFrame(EchoRequest, { text: "md" })],
        headers: { "x-echo-a": ["one", "two"], "x-echo-bin": Buffer.from(bin).toString("base64").replace(/=+$/, ""), "x-other": "kept" },
      });
      assert.equal(r.grpcStatus, Status.OK);
      const ctx = seen.contexts[0]!;
      assert.deepEqual(ctx.metadata.getAll("x-echo-a"), ["one", "two"]);
      assert.deepEqual(ctx.metadata.get("x-echo-bin"), Buffer.from(bin));
      assert.equal(ctx.metadata.get("x-other"), "kept");
      assert.equal(ctx.metadata.get("content-type"), undefined, "reserved headers are not metadata");
      assert.equal(ctx.metadata.get(":path"), undefined);
      assert.equal(ctx.method, Echo.methods.unary);
      assert.match(ctx.peer, /^127\.0\.0\.1:\d+$/);
      assert.equal(ctx.deadline, undefined);
      // node:http2 joins repeated response headers with ", "
      assert.equal(r.headers["x-echo-a"], "one, two");
      assert.deepEqual(Buffer.from(String(r.headers["x-echo-bin"]), "base64"), Buffer.from(bin));
      assert.equal(r.trailers!["x-echo-a-t"], "one, two");
      assert.deepEqual(Buffer.from(String(r.trailers!["x-echo-t-bin"]), "base64"), Buffer.from(bin));
    });

    it("listens on IPv6 and names an IPv6 peer in brackets", async function () {
      const srv = new GrpcServer().addService(Echo, echoImpl(seen));
      servers.push(srv);
      let addr: { host: string; port: number };
      try {
        addr = await srv.listen({ host: "::1", port: 0 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EADDRNOTAVAIL" || (err as NodeJS.ErrnoException).code === "EAFNOSUPPORT") this.skip();
        throw err;
      }
      assert.equal(addr.host, "::1");
      assert.deepEqual(srv.address, addr);
      const s = http2.connect(`http://[::1]:${addr.port}`);
      s.on("error", () => {});
      sessions.push(s);
      const r = await rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "v6" })] });
      assert.equal(r.grpcStatus, Status.OK);
      assert.match(seen.contexts[0]!.peer, /^\[::1\]:\d+$/);
    });

    it("sendHeader sends the response headers before the first message", async () => {
      let req!: http2.ClientHttp2Stream;
      let headersAt = -1;
      let messagesAtHeaders = -1;
      const done = rawCall(session, "/sgtest.client.Echo/ServerStream", {
        body: [grpcFrame(EchoRequest, { text: "early-headers", repeat: 1, delayMs: 300 })],
        onStream: (s) => (req = s),
      });
      const t0 = Date.now();
      let dataAt = -1;
      req.on("response", () => {
        headersAt = Date.now() - t0;
        messagesAtHeaders = req.readableLength;
      });
      req.once("data", () => (dataAt = Date.now() - t0));
      const r = await done;
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(r.headers["x-early"], "yes");
      assert.ok(headersAt >= 0 && dataAt - headersAt >= 200, `headers came at ${headersAt} ms, the message at ${dataAt} ms (300 ms later by the handler)`);
      assert.equal(messagesAtHeaders, 0);
      assert.equal(r.messages.length, 1);
    });
  });

  describe("deadlines, cancellation, errors", () => {
    it("ends a call whose grpc-timeout passes with DEADLINE_EXCEEDED and aborts the handler's signal", async () => {
      const t0 = Date.now();
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", {
        body: [grpcFrame(EchoRequest, { text: "slow", delayMs: 10000 })],
        headers: { "grpc-timeout": "150m" },
      });
      const took = Date.now() - t0;
      assert.equal(r.grpcStatus, Status.DEADLINE_EXCEEDED);
      assert.equal(r.grpcMessage, "deadline exceeded");
      assert.ok(took >= 140 && took < 5000, `took ${took} ms`);
      const ctx = seen.contexts[0]!;
      assert.ok(ctx.deadline instanceof Date);
      assert.ok(ctx.signal.aborted);
      assert.equal((seen.aborted[0] as GrpcError).code, Status.DEADLINE_EXCEEDED);
      assert.deepEqual(seen.finished, []);
    });

    it("a client's RST_STREAM cancels the call: signal aborted, later responses dropped and counted", async () => {
      const before = server.stats;
      let req!: http2.ClientHttp2Stream;
      const done = rawCall(session, "/sgtest.client.Echo/ServerStream", {
        body: [grpcFrame(EchoRequest, { text: "c", repeat: 100, delayMs: 20 })],
        onStream: (s) => (req = s),
      });
      req.once("data", () => req.close(NGHTTP2_CANCEL));
      const r = await done;
      assert.equal(r.rstCode, NGHTTP2_CANCEL);
      while (seen.aborted.length === 0) await sleep(5);
      assert.equal((seen.aborted[0] as GrpcError).code, Status.CANCELLED);
      await sleep(50);
      const after = server.stats;
      assert.equal(after.cancelled - before.cancelled, 1);
      assert.equal(after.active, 0);
      assert.deepEqual(seen.finished, [], "the handler's generator was stopped");
    });

    it("a cancelled unary handler's late response is dropped and counted", async () => {
      const before = server.stats.droppedWrites;
      let started = false;
      const impl = echoImpl(seen);
      const srv = new GrpcServer().addService(Echo, {
        ...impl,
        async unary(req) {
          started = true;
          await sleep(150); // ignores its signal
          return { text: req.text, payload: new Uint8Array(0), index: 0, total: 0n };
        },
      });
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0 });
      const s = connect(p);
      let req!: http2.ClientHttp2Stream;
      const done = rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "late" })], onStream: (x) => (req = x) });
      while (!started) await sleep(2);
      req.close(NGHTTP2_CANCEL);
      await done;
      const t0 = Date.now();
      while (srv.stats.droppedWrites === 0 && Date.now() - t0 < 5000) await sleep(10);
      assert.equal(srv.stats.droppedWrites, 1);
      assert.equal(srv.stats.cancelled, 1);
      assert.equal(server.stats.droppedWrites, before);
    });

    it("a handler's GrpcError ends the call with its status, percent-encoded message and trailers", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "ünïcode 100%\n", failCode: Status.NOT_FOUND })] });
      assert.equal(r.trailersOnly, true, "an error before any message is trailers-only");
      assert.equal(r.httpStatus, 200);
      assert.equal(r.grpcStatus, Status.NOT_FOUND);
      assert.equal(r.grpcMessage, "failed as asked: %C3%BCn%C3%AFcode 100%25%0A");
      assert.equal(r.headers["x-why"], "asked");
      assert.equal(r.headers["x-why-bin"], "AQID");
    });

    it("an error after messages were sent comes in the trailers", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/ServerStream", { body: [grpcFrame(EchoRequest, { text: "x", repeat: 2, failCode: Status.ABORTED })] });
      assert.equal(r.trailersOnly, false);
      assert.equal(r.messages.length, 2);
      assert.equal(r.grpcStatus, Status.ABORTED);
      assert.equal(r.trailers!["x-why"], "asked");
    });

    it("any other error is UNKNOWN with a generic message (its text is not sent) and goes to onError", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { failCode: 999 })] });
      assert.equal(r.grpcStatus, Status.UNKNOWN);
      assert.equal(r.grpcMessage, "the handler of /sgtest.client.Echo/Unary failed");
      assert.doesNotMatch(JSON.stringify(r), /secret/);
      assert.equal(handlerErrors.length, 1);
      assert.match(String(handlerErrors[0]), /secret internal detail/);
    });

    it("a response the codec cannot encode fails the call, not the server", async () => {
      const srv = new GrpcServer({ onError: (e) => handlerErrors.push(e) }).addService(Echo, {
        ...echoImpl(seen),
        unary: () => ({ text: 42 }) as unknown as EchoResponse,
      });
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0 });
      const r = await rawCall(connect(p), "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, {})] });
      assert.equal(r.grpcStatus, Status.UNKNOWN);
      assert.match(String(handlerErrors[0]), /text/);
    });
  });

  describe("refused requests", () => {
    it("an unknown method is UNIMPLEMENTED, naming it", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Nope", { body: [grpcFrame(EchoRequest, {})] });
      assert.equal(r.httpStatus, 200);
      assert.equal(r.trailersOnly, true);
      assert.equal(r.grpcStatus, Status.UNIMPLEMENTED);
      assert.match(r.grpcMessage!, /\/sgtest.client.Echo\/Nope/);
    });

    it("a content-type other than application/grpc(+proto) is HTTP 415 with a grpc-status", async () => {
      for (const ct of ["application/json", "application/grpc+json", "text/plain"]) {
        const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, {})], headers: { "content-type": ct } });
        assert.equal(r.httpStatus, 415, ct);
        assert.equal(r.grpcStatus, Status.INTERNAL);
        assert.match(decodeURIComponent(r.grpcMessage!), new RegExp(ct.replace("+", "\\+")));
      }
      for (const ct of ["application/grpc+proto", "Application/GRPC", "application/grpc; charset=utf-8"]) {
        const ok = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "p" })], headers: { "content-type": ct } });
        assert.equal(ok.grpcStatus, Status.OK, ct);
      }
      const none = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, {})], headers: { "content-type": undefined } });
      assert.equal(none.httpStatus, 415);
      assert.match(none.grpcMessage!, /content-type missing/);
    });

    it("a method other than POST is HTTP 405", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { headers: { ":method": "GET" } });
      assert.equal(r.httpStatus, 405);
      assert.equal(r.grpcStatus, Status.INTERNAL);
    });

    it("a grpc-encoding other than identity is UNIMPLEMENTED, naming it, with grpc-accept-encoding: identity", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, {})], headers: { "grpc-encoding": "gzip" } });
      assert.equal(r.grpcStatus, Status.UNIMPLEMENTED);
      assert.match(r.grpcMessage!, /gzip/);
      assert.equal(r.headers["grpc-accept-encoding"], "identity");
      const id = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "i" })], headers: { "grpc-encoding": "identity" } });
      assert.equal(id.grpcStatus, Status.OK);
    });

    it("a malformed grpc-timeout is INTERNAL", async () => {
      const r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, {})], headers: { "grpc-timeout": "soon" } });
      assert.equal(r.grpcStatus, Status.INTERNAL);
      assert.match(r.grpcMessage!, /grpc-timeout/);
    });

    it("addService names a method without a handler, and a path served twice", () => {
      const impl = echoImpl(seen) as Partial<ServiceImplementation<typeof Echo>>;
      delete impl.clientStream;
      assert.throws(() => new GrpcServer().addService(Echo, impl as ServiceImplementation<typeof Echo>), /no handler for method ClientStream \(implementation.clientStream is missing/);
      const s = new GrpcServer().addService(Echo, echoImpl(seen));
      assert.throws(() => s.addService(Echo, echoImpl(seen)), /\/sgtest.client.Echo\/Unary is already served/);
      assert.throws(() => new GrpcServer({ maxReceiveMessageBytes: -1 }), /maxReceiveMessageBytes must be an integer/);
      assert.throws(() => new GrpcServer({ keepalive: { idleMs: 0 } }), /keepalive.idleMs must be an integer from 1/);
      assert.throws(() => new GrpcServer({ settings: { initialWindowSize: -1 } }), /GrpcServer: settings: .*initialWindowSize/);
    });
  });

  describe("bad peers: that call ends with the right status, the server keeps serving", () => {
    let small: { server: GrpcServer; port: number };
    before(async () => {
      small = await startServer({ maxReceiveMessageBytes: 1024 });
    });

    async function stillServes(p: number): Promise<void> {
      const r = await rawCall(connect(p), "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "after" })] });
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(decodeAll(r)[0]!.text, "after");
    }

    it("a length prefix past the receive limit: RESOURCE_EXHAUSTED, without sending the body", async () => {
      const s = connect(small.port);
      for (const path of ["/sgtest.client.Echo/Unary", "/sgtest.client.Echo/ClientStream"]) {
        const r = await rawCall(s, path, { body: [messagePrefix(1025)], end: false });
        assert.equal(r.grpcStatus, Status.RESOURCE_EXHAUSTED, path);
        assert.match(r.grpcMessage!, /1025 bytes, larger than the limit of 1024/);
      }
      // exactly at the limit is fine
      const ok = await rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { payload: pattern(1024 - 4, 1) })] });
      assert.equal(ok.grpcStatus, Status.OK, ok.grpcMessage);
      await stillServes(small.port);
    });

    it("a compressed-flag message without negotiated compression: INTERNAL", async () => {
      const body = EchoRequest.toBinary(EchoRequest.create({ text: "z" }));
      const r = await rawCall(connect(small.port), "/sgtest.client.Echo/Unary", { body: [messagePrefix(body.length, true), body] });
      assert.equal(r.grpcStatus, Status.INTERNAL);
      assert.match(r.grpcMessage!, /compressed/);
      await stillServes(small.port);
    });

    it("a message truncated at END_STREAM: INTERNAL, for single and streamed requests", async () => {
      const f = grpcFrame(EchoRequest, { text: "truncated", payload: pattern(100, 1) });
      for (const path of ["/sgtest.client.Echo/Unary", "/sgtest.client.Echo/ClientStream", "/sgtest.client.Echo/Bidi"]) {
        const r = await rawCall(session, path, { body: [f.subarray(0, f.length - 10)] });
        assert.equal(r.grpcStatus, Status.INTERNAL, path);
        assert.match(r.grpcMessage!, /ended inside a message/);
      }
    });

    it("garbage: a body that is not protobuf, a flag byte of 7, two messages on a unary call, no message at all", async () => {
      const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      let r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [messagePrefix(garbage.length), garbage] });
      assert.equal(r.grpcStatus, Status.INTERNAL);
      assert.match(r.grpcMessage!, /cannot decode the request/);
      r = await rawCall(session, "/sgtest.client.Echo/Bidi", { body: [messagePrefix(garbage.length), garbage] });
      assert.equal(r.grpcStatus, Status.INTERNAL);
      r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [Buffer.from([7, 0, 0, 0, 0])] });
      assert.equal(r.grpcStatus, Status.INTERNAL);
      assert.match(r.grpcMessage!, /flag byte 7/);
      r = await rawCall(session, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, {}), grpcFrame(EchoRequest, {})] });
      assert.equal(r.grpcStatus, Status.INTERNAL);
      assert.match(r.grpcMessage!, /second request message/);
      r = await rawCall(session, "/sgtest.client.Echo/ServerStream", {});
      assert.equal(r.grpcStatus, Status.INTERNAL);
      assert.match(r.grpcMessage!, /no request message/);
      await stillServes(port);
    });

    it("RST_STREAM in the middle of a message (no END_STREAM): the call is cancelled, the handler's stream fails", async () => {
      // node:http2's client ends its side (END_STREAM) before any RST_STREAM it sends, so this
      // peer writes the frames itself: HEADERS, DATA with one whole message and half of the next, RST_STREAM
      const before = server.stats;
      const f = grpcFrame(EchoRequest, { text: "half", payload: pattern(5000, 1) });
      const sock = await rawH2(port, "/sgtest.client.Echo/ClientStream", Buffer.concat([grpcFrame(EchoRequest, { text: "whole" }), f.subarray(0, 2000)]));
      while (seen.contexts.length === 0) await sleep(2);
      await sleep(20);
      sock.write(h2Frame(3, 0, 1, Buffer.from([0, 0, 0, 2]))); // RST_STREAM INTERNAL_ERROR
      while (server.stats.active > 0) await sleep(2);
      sock.destroy();
      assert.equal(server.stats.cancelled - before.cancelled, 1);
      while (seen.aborted.length === 0) await sleep(2);
      assert.equal((seen.aborted[0] as GrpcError).code, Status.CANCELLED);
      assert.deepEqual(seen.finished, []);
      await stillServes(port);
    });

    it("a client that ends its side in the middle of a message and then resets: INTERNAL or CANCELLED, never a handler result", async () => {
      const f = grpcFrame(EchoRequest, { text: "half", payload: pattern(5000, 1) });
      let req!: http2.ClientHttp2Stream;
      const done = rawCall(session, "/sgtest.client.Echo/ClientStream", {
        body: [grpcFrame(EchoRequest, { text: "whole" }), f.subarray(0, 2000)],
        end: false,
        onStream: (s) => (req = s),
      });
      while (seen.contexts.length === 0) await sleep(2);
      req.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await done;
      while (server.stats.active > 0) await sleep(2);
      while (seen.aborted.length === 0) await sleep(2);
      assert.ok([Status.INTERNAL, Status.CANCELLED].includes((seen.aborted[0] as GrpcError).code));
      assert.deepEqual(seen.finished, []);
      await stillServes(port);
    });

    it("GOAWAY and a dropped connection mid-call: the call is cancelled, the server keeps serving", async () => {
      const before = server.stats;
      const s = connect();
      const done = rawCall(s, "/sgtest.client.Echo/Bidi", { body: [grpcFrame(EchoRequest, { text: "g" })], end: false });
      while (seen.contexts.length === 0) await sleep(2);
      s.goaway(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      s.destroy();
      await done.catch(() => {});
      while (server.stats.active > 0) await sleep(2);
      assert.equal(server.stats.cancelled - before.cancelled, 1);
      await stillServes(port);
    });

    it("keepalive probes every quiet period, not only the first: a live client answers each and keeps its connection", async () => {
      const { port: p } = await startServer({ keepalive: { idleMs: 100, timeoutMs: 200 } });
      const s = connect(p);
      let pings = 0;
      s.on("ping", () => pings++);
      await new Promise<void>((resolve) => s.once("remoteSettings", () => resolve()));
      await sleep(800);
      assert.ok(pings >= 3, `${pings} PINGs in 800 ms of quiet with idleMs 100`);
      assert.equal(s.destroyed || s.closed, false, "the answering client keeps its connection");
      await stillServes(p);
    });

    it("DATA after END_STREAM, then the peer goes: the dead connection is found by keepalive and its call ends", async () => {
      // node:http2 treats this as a connection error and stops reading the connection, so it
      // never sees the peer's TCP close: without a PING that goes unanswered, the call and the
      // session would stay forever
      const own: Seen = { contexts: [], aborted: [], finished: [] };
      const { server: srv, port: p } = await startServer({ keepalive: { idleMs: 200, timeoutMs: 200 } }, own);
      // HEADERS with END_STREAM, then DATA on that stream
      const sock = await rawH2(p, "/sgtest.client.Echo/Bidi", grpcFrame(EchoRequest, { text: "x" }), 5);
      while (own.contexts.length === 0) await sleep(2);
      await sleep(50);
      sock.destroy();
      const t0 = Date.now();
      while (srv.stats.active > 0 && Date.now() - t0 < 5000) await sleep(10);
      assert.equal(srv.stats.active, 0, "the call ended");
      // a live connection with a quiet call answers the PINGs and keeps its call
      const s = connect(p);
      let req!: http2.ClientHttp2Stream;
      const got: string[] = [];
      const done = rawCall(s, "/sgtest.client.Echo/Bidi", { end: false, onStream: (x) => (req = x) });
      const reader = new MessageReader(1 << 20, (b) => got.push(EchoResponse.fromBinary(b).text));
      req.on("data", (c: Buffer) => reader.push(c));
      req.write(grpcFrame(EchoRequest, { text: "before" }));
      await sleep(1000); // several idle periods
      req.write(grpcFrame(EchoRequest, { text: "after" }));
      req.end();
      const r = await done;
      assert.equal(r.grpcStatus, Status.OK);
      assert.deepEqual(got, ["before", "after"]);
    });

    it("fuzzed frames on 150 connections (seeded): nothing escapes, every call ends, the server keeps serving", async function () {
      this.timeout(60000);
      let seed = 17;
      const rnd = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const { server: srv, port: p } = await startServer({ maxReceiveMessageBytes: 2000, keepalive: { idleMs: 200, timeoutMs: 200 } });
      const paths = ["/sgtest.client.Echo/Unary", "/sgtest.client.Echo/ServerStream", "/sgtest.client.Echo/ClientStream", "/sgtest.client.Echo/Bidi", "/sgtest.client.Echo/Nope"];
      const net = await import("node:net");
      for (let conn = 0; conn < 150; conn++) {
        const sock = net.connect(p, "127.0.0.1");
        sock.on("error", () => {});
        sock.resume();
        await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
        sock.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        sock.write(h2Frame(4, 0, 0, Buffer.alloc(0)));
        for (let id = 1; id < 2 + rnd(6) * 2; id += 2) {
          const extra: [string, string][] = rnd(4) === 0 ? [["grpc-timeout", ["1m", "bad", "5n"][rnd(3)]!], ["x-a-bin", "!!"], ["grpc-encoding", ["gzip", "identity"][rnd(2)]!]] : [];
          const headers: [string, string][] = [[":method", rnd(15) ? "POST" : "GET"], [":scheme", "http"], [":path", paths[rnd(paths.length)]!], [":authority", "x"], ["content-type", rnd(10) ? "application/grpc" : "text/plain"], ["te", "trailers"], ...extra];
          sock.write(h2Frame(1, 4 | (rnd(6) === 0 ? 1 : 0), id, hpack(headers)));
          for (let k = rnd(4); k > 0; k--) {
            let data: Buffer;
            const kind = rnd(5);
            if (kind === 0) data = Buffer.from(Array.from({ length: rnd(50) }, () => rnd(256)));
            else if (kind === 1) data = messagePrefix(rnd(5000), rnd(5) === 0);
            else {
              data = grpcFrame(EchoRequest, { text: "t".repeat(rnd(100)), repeat: rnd(20), payload: pattern(rnd(3000), k) });
              if (rnd(3) === 0) data = data.subarray(0, rnd(data.length));
            }
            sock.write(h2Frame(0, rnd(4) === 0 ? 1 : 0, id, data));
          }
          if (rnd(4) === 0) sock.write(h2Frame(3, 0, id, Buffer.from([0, 0, 0, rnd(14)]))); // RST_STREAM
          if (rnd(8) === 0) sock.write(h2Frame(7, 0, 0, Buffer.from([0, 0, 0, id, 0, 0, 0, rnd(3)]))); // GOAWAY
          if (rnd(10) === 0) sock.write(h2Frame(8, 0, id, Buffer.from([0, 0, 0, 0]))); // WINDOW_UPDATE of 0
          if (rnd(20) === 0) sock.write(Buffer.from(Array.from({ length: rnd(40) }, () => rnd(256))));
        }
        await sleep(rnd(20));
        sock.destroy();
      }
      await stillServes(p);
      const t0 = Date.now();
      while (srv.stats.active > 0 && Date.now() - t0 < 10000) await sleep(20);
      assert.equal(srv.stats.active, 0, "every call ended");
      assert.ok(srv.stats.calls + srv.stats.badRequests > 100, `${srv.stats.calls} calls, ${srv.stats.badRequests} refused`);
    });

    it("a client's GOAWAY (NO_ERROR) with a call in flight: that call still completes", async () => {
      const s = connect();
      const done = rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "inflight", delayMs: 100 })] });
      while (seen.contexts.length === 0) await sleep(2);
      s.goaway(http2.constants.NGHTTP2_NO_ERROR);
      const r = await done;
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(decodeAll(r)[0]!.text, "inflight");
      await stillServes(port);
    });

    it("garbage instead of HTTP/2 on the connection: the server keeps serving", async () => {
      const net = await import("node:net");
      await new Promise<void>((resolve) => {
        const sock = net.connect(port, "127.0.0.1", () => sock.end("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + "\x00".repeat(100)));
        sock.on("error", () => {});
        sock.on("close", () => resolve());
        sock.resume();
      });
      await stillServes(port);
    });
  });

  describe("flow control", () => {
    it("a slow consumer of a client stream holds the peer back: the server buffers about a window", async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let consumed = 0;
      const srv = new GrpcServer().addService(Echo, {
        ...echoImpl(seen),
        async clientStream(requests) {
          let bytes = 0;
          for await (const r of requests) {
            if (consumed === 0) await gate;
            consumed++;
            bytes += r.payload.length;
          }
          return { text: "", payload: new Uint8Array(0), index: consumed, total: BigInt(bytes) };
        },
      });
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0 });
      const s = connect(p);
      const N = 256;
      const frames = Array.from({ length: N }, (_, i) => grpcFrame(EchoRequest, { payload: pattern(16 * 1024, i) }));
      const total = frames.reduce((a, f) => a + f.length, 0);
      let req!: http2.ClientHttp2Stream;
      const done = rawCall(s, "/sgtest.client.Echo/ClientStream", { body: frames, onStream: (x) => (req = x) });
      await sleep(500);
      // what left the client: what was written minus what still waits in its stream buffer
      const sent = total - req.writableLength;
      assert.equal(consumed, 0);
      assert.ok(sent < 512 * 1024, `the server let ${sent} of ${total} bytes in while its handler read nothing`);
      release();
      const r = await done;
      assert.equal(r.grpcStatus, Status.OK, r.grpcMessage);
      const [res] = decodeAll(r);
      assert.equal(res!.index, N);
      assert.equal(res!.total, BigInt(N * 16 * 1024));
    });

    it("a client that does not read a server stream: the handler waits for 'drain' instead of buffering", async () => {
      let yielded = 0;
      const srv = new GrpcServer().addService(Echo, {
        ...echoImpl(seen),
        async *serverStream(req) {
          for (let i = 0; i < req.repeat; i++) {
            yielded++;
            yield { text: "", payload: STORED.subarray(0, 64 * 1024), index: i, total: 0n };
          }
        },
      });
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0 });
      const s = connect(p);
      let req!: http2.ClientHttp2Stream;
      const got: number[] = [];
      const done = new Promise<void>((resolve) => {
        req = s.request({ ":method": "POST", ":path": "/sgtest.client.Echo/ServerStream", "content-type": "application/grpc", te: "trailers" });
        req.end(grpcFrame(EchoRequest, { repeat: 200 }));
        req.pause();
        const reader = new MessageReader(1 << 20, (b) => got.push(EchoResponse.fromBinary(b).index));
        req.on("data", (c: Buffer) => reader.push(c));
        req.on("close", () => resolve());
      });
      await sleep(500);
      assert.ok(yielded < 40, `the handler produced ${yielded} x 64 KiB while the client read nothing`);
      req.resume();
      await done;
      assert.equal(got.length, 200);
      assert.equal(yielded, 200);
    });
  });

  describe("status after flow-controlled data", () => {
    it("a handler that fails after many large responses, request side still open, client reading slowly: the status arrives (not a bare reset)", async () => {
      for (let round = 0; round < 3; round++) {
        const srv = new GrpcServer().addService(Echo, {
          ...echoImpl(seen),
          async *bidi(requests) {
            const it = requests[Symbol.asyncIterator]();
            await it.next();
            for (let i = 0; i < 40; i++) yield { text: "", payload: STORED.subarray(0, 256 * 1024), index: i, total: 0n };
            throw new GrpcError(Status.RESOURCE_EXHAUSTED, "enough");
          },
        });
        servers.push(srv);
        const { port: p } = await srv.listen({ port: 0 });
        let req!: http2.ClientHttp2Stream;
        const done = rawCall(connect(p), "/sgtest.client.Echo/Bidi", { body: [grpcFrame(EchoRequest, { text: "w" })], end: false, onStream: (x) => (req = x) });
        req.on("trailers", () => req.end()); // as gRPC clients do: the call is over
        req.pause();
        await sleep(100);
        // read slowly
        const timer = setInterval(() => {
          req.resume();
          setTimeout(() => req.pause(), 2);
        }, 10);
        const r = await done;
        clearInterval(timer);
        assert.equal(r.messages.length, 40, `round ${round}`);
        assert.equal(r.grpcStatus, Status.RESOURCE_EXHAUSTED, `round ${round}: status ${r.grpcStatus}, rst ${r.rstCode}`);
        while (srv.stats.active > 0) await sleep(2); // the server's side closes too
        await srv.close();
      }
    });
  });

  describeWith("openssl", opensslMissing())("TLS", () => {
    let tls: TestCert | undefined;
    before(() => {
      tls = makeCert();
    });
    after(() => tls?.remove());

    it("serves h2 over TLS to a raw client and to grpc-js", async () => {
      const { key, cert } = tls!;
      const srv = new GrpcServer().addService(Echo, echoImpl(seen));
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0, tls: { key, cert } });
      const s = http2.connect(`https://localhost:${p}`, { ca: cert });
      s.on("error", () => {});
      sessions.push(s);
      const r = await rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "tls" })] });
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(decodeAll(r)[0]!.text, "tls");
      assert.equal((s.socket as import("node:tls").TLSSocket).alpnProtocol, "h2");

      const c = new LoaderEcho(`localhost:${p}`, grpc.credentials.createSsl(cert), clientOptions);
      jsClients.push(c);
      const { res } = await jsUnary(c, { text: "tls-js", payload: pattern(1000, 2) });
      assert.equal(res.text, "tls-js");
      assert.deepEqual(res.payload, pattern(1000, 2));
    });
  });

  describe("an existing @grpc/grpc-js client (protobufjs codecs)", () => {
    it("unary with metadata both ways, -bin included", async () => {
      const c = jsClient();
      const md = new grpc.Metadata();
      md.add("x-echo-s", "v1");
      md.add("x-echo-bin", Buffer.from([9, 8, 7]));
      const { res, headers, status } = await jsUnary(c, { text: "js", payload: pattern(1024, 3) }, md);
      assert.equal(res.text, "js");
      assert.deepEqual(res.payload, pattern(1024, 3));
      assert.equal(res.total, "1024");
      assert.deepEqual(headers!.get("x-echo-s"), ["v1"]);
      assert.deepEqual(headers!.get("x-echo-bin"), [Buffer.from([9, 8, 7])]);
      assert.deepEqual(status!.metadata.get("x-echo-s-t"), ["v1"]);
      assert.deepEqual(status!.metadata.get("x-echo-t-bin"), [Buffer.from([9, 8, 7])]);
    });

    it("messages of 0 B, 1 KiB and 4 MiB each way; a request past the default 4 MiB limit is RESOURCE_EXHAUSTED", async () => {
      const c = jsClient();
      // a request message of exactly 4 MiB (the default limit), its other fields included
      const probe = (4 << 20) - 100;
      const overhead = EchoRequest.encodedSize(EchoRequest.create({ text: "n", payload: new Uint8Array(probe), responseSize: 4 << 20 })) - probe;
      for (const [n, request] of [[0, 0], [1024, 1024], [4 << 20, (4 << 20) - overhead]]) {
        const { res } = await jsUnary(c, { text: "n", payload: pattern(request!, n! & 0xff), responseSize: n });
        assert.equal(res.total, String(request));
        assert.ok(res.payload.equals(STORED.subarray(0, n)), `${n} bytes back`);
      }
      await expectGrpcJsError(jsUnary(c, { payload: pattern(4 << 20, 1) }), grpc.status.RESOURCE_EXHAUSTED, /larger than the limit of 4194304 bytes/);
    });

    it("server streaming, client streaming and bidi", async () => {
      const c = jsClient() as unknown as Record<string, (...a: unknown[]) => grpc.ClientDuplexStream<object, LoaderMsg>>;
      const ss = await jsCollect<LoaderMsg>(c.ServerStream!({ text: "ss", repeat: 4, responseSize: 3000 }) as unknown as NodeJS.ReadableStream);
      assert.deepEqual(ss.map((m) => m.index), [0, 1, 2, 3]);
      assert.ok(ss.every((m) => m.payload.equals(STORED.subarray(0, 3000))));

      const cs = await new Promise<LoaderMsg>((resolve, reject) => {
        const call = c.ClientStream!((err: Error | null, res: LoaderMsg) => (err ? reject(err) : resolve(res))) as unknown as grpc.ClientWritableStream<object>;
        for (let i = 0; i < 10; i++) call.write({ text: `c${i}`, payload: pattern(i * 1000, i) });
        call.end();
      });
      assert.equal(cs.index, 10);
      assert.equal(cs.text, "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9");
      assert.equal(cs.total, String(45 * 1000));

      const bidi = c.Bidi!();
      const results = jsCollect<LoaderMsg>(bidi as unknown as NodeJS.ReadableStream);
      for (let i = 0; i < 5; i++) bidi.write({ text: `b${i}`, payload: pattern(i, i), repeat: 2 });
      bidi.end();
      const got = await results;
      assert.deepEqual(got.map((m) => m.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(got.map((m) => m.text), ["b0", "b0", "b1", "b1", "b2", "b2", "b3", "b3", "b4", "b4"]);
    });

    it("bidi that the server ends while the client's side is open: the client gets the status, the stream closes", async () => {
      const srv = new GrpcServer().addService(Echo, {
        ...echoImpl(seen),
        async *bidi(requests) {
          for await (const r of requests) {
            yield { text: r.text, payload: new Uint8Array(0), index: 0, total: 0n };
            return; // done after the first request, the client's side still open
          }
        },
      });
      servers.push(srv);
      const { port: p } = await srv.listen({ port: 0 });
      const c = jsClient(p) as unknown as Record<string, () => grpc.ClientDuplexStream<object, LoaderMsg>>;
      const call = c.Bidi!();
      const got: LoaderMsg[] = [];
      call.on("data", (m: LoaderMsg) => got.push(m));
      const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
      call.on("error", () => {});
      call.write({ text: "first" });
      assert.equal((await status).code, grpc.status.OK);
      assert.deepEqual(got.map((m) => m.text), ["first"]);
      const t0 = Date.now();
      while (srv.stats.active > 0 && Date.now() - t0 < 5000) await sleep(5);
      assert.equal(srv.stats.active, 0, "the call's stream closed");
      call.end();
    });

    it("errors with status, message and trailers; deadlines; cancellation", async () => {
      const c = jsClient();
      const err = await expectGrpcJsError(jsUnary(c, { text: "oops ✓", failCode: Status.PERMISSION_DENIED }), grpc.status.PERMISSION_DENIED);
      assert.equal(err.details, "failed as asked: oops ✓");
      assert.deepEqual(err.metadata.get("x-why"), ["asked"]);

      await expectGrpcJsError(jsUnary(c, { text: "slow", delayMs: 5000 }, new grpc.Metadata(), { deadline: Date.now() + 200 }), grpc.status.DEADLINE_EXCEEDED);
      while (seen.aborted.length === 0) await sleep(5);
      assert.ok([Status.DEADLINE_EXCEEDED, Status.CANCELLED].includes((seen.aborted[0] as GrpcError).code));

      seen.aborted.length = 0;
      const before = server.stats.cancelled;
      const call = (c as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<LoaderMsg>>).ServerStream!({ text: "x", repeat: 1000, delayMs: 10 });
      const errs = new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
      call.once("data", () => call.cancel());
      assert.equal((await errs).code, grpc.status.CANCELLED);
      while (seen.aborted.length === 0) await sleep(5);
      assert.equal((seen.aborted[0] as GrpcError).code, Status.CANCELLED);
      assert.equal(server.stats.cancelled - before, 1);

      await expectGrpcJsError(
        new Promise((resolve, reject) => {
          const generic = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
          jsClients.push(generic);
          generic.makeUnaryRequest("/sgtest.client.Echo/Missing", (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (e, v) => (e ? reject(e) : resolve(v)));
        }),
        grpc.status.UNIMPLEMENTED,
        /Missing/,
      );
    });
  });

  describe("shutdown", () => {
    it("close(grace) refuses new calls, lets running ones finish, then resolves", async () => {
      const { server: srv, port: p } = await startServer();
      const s = connect(p);
      const running = rawCall(s, "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { text: "finishing", delayMs: 300 })] });
      await sleep(50);
      const t0 = Date.now();
      const closed = srv.close(5000);
      const r = await running;
      assert.equal(r.grpcStatus, Status.OK);
      assert.equal(decodeAll(r)[0]!.text, "finishing");
      await closed;
      assert.ok(Date.now() - t0 >= 200, "close waited for the call");
      assert.equal(srv.address, undefined);
      assert.equal(srv.stats.ok, 1);
      // nothing listens any more
      const s2 = http2.connect(`http://127.0.0.1:${p}`);
      const refused = await new Promise<string>((resolve) => {
        s2.on("error", (e: NodeJS.ErrnoException) => resolve(String(e.code)));
        s2.on("connect", () => resolve("connected"));
      });
      s2.destroy();
      assert.equal(refused, "ECONNREFUSED");
    });

    it("close(grace) cancels calls still running when the grace ends", async () => {
      const own: Seen = { contexts: [], aborted: [], finished: [] };
      const { server: srv, port: p } = await startServer({}, own);
      const running = rawCall(connect(p), "/sgtest.client.Echo/Unary", { body: [grpcFrame(EchoRequest, { delayMs: 20000 })] }).catch((e) => e);
      while (own.contexts.length === 0) await sleep(2);
      const t0 = Date.now();
      await srv.close(100);
      assert.ok(Date.now() - t0 < 5000);
      await running;
      assert.equal((own.aborted[0] as GrpcError).code, Status.UNAVAILABLE);
      assert.equal(srv.stats.cancelled, 1);
      assert.equal(srv.stats.active, 0);
    });

    it("forceClose cancels every call now; the clients see the call fail", async () => {
      const own: Seen = { contexts: [], aborted: [], finished: [] };
      const { server: srv, port: p } = await startServer({}, own);
      const c = jsClient(p);
      const pending = jsUnary(c, { delayMs: 20000 }).then(
        () => assert.fail("the call succeeded"),
        (e: grpc.ServiceError) => e,
      );
      const raw = rawCall(connect(p), "/sgtest.client.Echo/Bidi", { end: false }).catch((e) => e);
      while (own.contexts.length < 2) await sleep(2);
      srv.forceClose();
      await srv.close();
      await raw;
      const outcome = await pending;
      // grpc-js reports the RST_STREAM CANCEL it sees first as CANCELLED, a connection lost mid-call as UNAVAILABLE
      assert.ok([grpc.status.CANCELLED, grpc.status.UNAVAILABLE].includes(outcome.code), `${grpc.status[outcome.code]}: ${outcome.details}`);
      assert.equal(own.aborted.length, 2);
      assert.equal(srv.stats.cancelled, 2);
      assert.deepEqual(own.finished, []);
    });
  });
});
