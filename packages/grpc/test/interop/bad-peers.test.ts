/**
 * Bad peers: HTTP/2 clients and servers that break the gRPC protocol on purpose, frame by frame
 * (raw-h2.ts; node:http2's client where its frames are the ones meant). Each bad call must end
 * with the status the gRPC spec gives it, the handler must learn of a call that went away, and the
 * sgwire server (or channel) must serve the next, normal call.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import * as net from "node:net";
import { GrpcServer, Status, createChannel, type Channel } from "../../src/index.js";
import { Interop, Request, Response } from "./gen/interop.sg.js";
import {
  FrameType, Flag, H2Error, dataFrame, goawayFrame, grpcFrame, headersFrame, rawConnect, rawServer, rstFrame, windowUpdateFrame,
  type RawConnection,
} from "./raw-h2.js";
import { EventLog, KiB, pattern } from "./scenarios.js";
import { sgwireClient, sgwireImplementation, type InteropClient } from "./sgwire-peer.js";

/** The receive limit of the server and channel under test. */
const LIMIT = 64 * KiB;
const UNARY = "/sgwire.interop.Interop/Unary";
const BIDI = "/sgwire.interop.Interop/Bidi";

function requestHeaders(path: string): Array<[string, string]> {
  return [[":method", "POST"], [":scheme", "http"], [":path", path], [":authority", "127.0.0.1"], ["content-type", "application/grpc"], ["te", "trailers"]];
}

/** The status of a call made with node:http2's client: from trailers-only headers or trailers. */
interface NodeCallResult {
  httpStatus: number;
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  headers: http2.IncomingHttpHeaders;
}

/** One call with node:http2's client; `send` writes (and maybe ends) the request body. */
async function nodeCall(port: number, path: string, extraHeaders: http2.OutgoingHttpHeaders, send: (req: http2.ClientHttp2Stream) => void): Promise<NodeCallResult> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => { /* the stream reports it */ });
  try {
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extraHeaders });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => { headers = h; });
    req.on("trailers", (t) => { trailers = t; });
    req.on("data", () => { /* drained */ });
    req.on("error", () => { /* status below */ });
    send(req);
    const t = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 10_000);
    await once(req, "close");
    clearTimeout(t);
    const status = headers["grpc-status"] ?? trailers["grpc-status"];
    const message = headers["grpc-message"] ?? trailers["grpc-message"];
    return {
      httpStatus: Number(headers[":status"]),
      grpcStatus: status === undefined ? undefined : Number(status),
      grpcMessage: message === undefined ? undefined : decodeURIComponent(String(message)),
      headers,
    };
  } finally {
    session.destroy();
  }
}

async function settle(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("bad peers against an sgwire server", function () {
  const log = new EventLog();
  let server: GrpcServer | undefined;
  let port = 0;
  let channel: Channel | undefined;
  let client: InteropClient;
  const raws: RawConnection[] = [];

  before(async function () {
    server = new GrpcServer({ maxReceiveMessageBytes: LIMIT });
    server.addService(Interop, sgwireImplementation(log));
    ({ port } = await server.listen({ host: "127.0.0.1", port: 0 }));
    channel = createChannel(`http://127.0.0.1:${port}`);
    client = sgwireClient(channel);
  });
  after(async function () {
    for (const r of raws) r.destroy();
    channel?.close();
    await server?.close(500);
  });

  /** A normal call still works, and nothing is left running on the server. */
  async function stillServes(): Promise<void> {
    const payload = pattern(1000, 3);
    const res = await client.unary(Request.create({ id: "normal", payload, seq: 5n }), { deadline: 10_000 });
    assert.deepEqual(res.payload, payload);
    assert.equal(res.seq, 5n);
    await settle(() => server!.stats.active === 0, "the server's active calls to drop to 0");
  }

  it("a length prefix past the receive limit: RESOURCE_EXHAUSTED, without waiting for the message", async function () {
    const r = await nodeCall(port, UNARY, {}, (req) => req.write(grpcFrame(new Uint8Array(16), { length: LIMIT + 1 })));
    assert.equal(r.grpcStatus, Status.RESOURCE_EXHAUSTED, `status ${r.grpcStatus} (${r.grpcMessage})`);
    await stillServes();
  });

  it("a message at the limit exactly is accepted", async function () {
    const req = Request.create({ id: "at-limit", payload: new Uint8Array(LIMIT - 16) });
    const body = Request.toBinary(req);
    const padded = Request.toBinary({ ...req, payload: new Uint8Array(LIMIT - 16 + (LIMIT - body.length)) });
    assert.equal(padded.length, LIMIT);
    const res = await client.unary(Request.fromBinary(padded));
    assert.equal(res.payload.length, padded.length - (body.length - req.payload.length));
  });

  it("the compressed flag without grpc-encoding: INTERNAL", async function () {
    const body = Request.toBinary(Request.create({ id: "compressed" }));
    const r = await nodeCall(port, UNARY, {}, (req) => req.end(grpcFrame(body, { compressed: true })));
    assert.equal(r.grpcStatus, Status.INTERNAL, `status ${r.grpcStatus} (${r.grpcMessage})`);
    await stillServes();
  });

  it("a compression it does not implement (grpc-encoding: gzip): UNIMPLEMENTED, saying what it accepts", async function () {
    const body = Request.toBinary(Request.create({ id: "gzip" }));
    const r = await nodeCall(port, UNARY, { "grpc-encoding": "gzip" }, (req) => req.end(grpcFrame(body, { compressed: true })));
    assert.equal(r.grpcStatus, Status.UNIMPLEMENTED, `status ${r.grpcStatus} (${r.grpcMessage})`);
    assert.match(String(r.headers["grpc-accept-encoding"]), /identity/);
    await stillServes();
  });

  it("a message truncated at END_STREAM: INTERNAL", async function () {
    const r = await nodeCall(port, UNARY, {}, (req) => req.end(grpcFrame(new Uint8Array(10), { length: 100 })));
    assert.equal(r.grpcStatus, Status.INTERNAL, `status ${r.grpcStatus} (${r.grpcMessage})`);
    // a prefix cut short too
    const r2 = await nodeCall(port, UNARY, {}, (req) => req.end(Buffer.from([0, 0, 0])));
    assert.equal(r2.grpcStatus, Status.INTERNAL, `status ${r2.grpcStatus} (${r2.grpcMessage})`);
    await stillServes();
  });

  /** A bidi call reset by its client (RST_STREAM CANCEL) after one request and part of a second. */
  async function resetMidMessage(id: string): Promise<void> {
    const c = await rawConnect(port);
    raws.push(c);
    c.write(headersFrame(1, requestHeaders(BIDI), false));
    c.write(dataFrame(1, grpcFrame(Request.toBinary(Request.create({ id, payload: pattern(10, 1) })))));
    // the handler is running: its echo comes back
    await c.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1 && f.payload.length > 0, "the echo of the first request");
    c.write(dataFrame(1, grpcFrame(pattern(10, 2), { length: 100 })));
    c.write(rstFrame(1, H2Error.CANCEL));
    await log.waitFor(id, "cancelled");
    c.destroy();
  }

  it("RST_STREAM in the middle of a request message: the handler sees the call cancelled", async function () {
    const failedBefore = server!.stats.failed;
    await resetMidMessage("rst-mid");
    await settle(() => server!.stats.failed === failedBefore + 1, "the server to count the call as failed");
    await stillServes();
  });

  it("counts a call its client reset mid-message as cancelled (stats.cancelled), not as a truncated message", async function () {
    const before = server!.stats.cancelled;
    await resetMidMessage("rst-mid-2");
    await settle(() => server!.stats.active === 0, "the call to end");
    // node:http2 ends the readable side ('end', stream.aborted true) before 'close' on a reset
    assert.equal(server!.stats.cancelled, before + 1, `stats after the reset: ${JSON.stringify(server!.stats)}`);
  });

  it("GOAWAY and the connection closed mid-call: the handler sees the call cancelled", async function () {
    const c = await rawConnect(port);
    raws.push(c);
    c.write(headersFrame(1, requestHeaders(BIDI), false));
    c.write(dataFrame(1, grpcFrame(Request.toBinary(Request.create({ id: "goaway-mid" })))));
    await c.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1 && f.payload.length > 0, "the echo of the first request");
    c.write(goawayFrame(0, H2Error.NO_ERROR, "bye"));
    c.socket.end();
    await log.waitFor("goaway-mid", "cancelled");
    c.destroy();
    await stillServes();
  });

  it("the connection destroyed mid-message, no GOAWAY: the handler sees the call cancelled", async function () {
    const c = await rawConnect(port);
    raws.push(c);
    c.write(headersFrame(1, requestHeaders(BIDI), false));
    c.write(dataFrame(1, grpcFrame(Request.toBinary(Request.create({ id: "destroy-mid" })))));
    await c.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1 && f.payload.length > 0, "the echo of the first request");
    c.write(dataFrame(1, grpcFrame(new Uint8Array(3), { length: 50 })));
    c.destroy();
    await log.waitFor("destroy-mid", "cancelled");
    await stillServes();
  });

  it("a client that never grants flow-control window holds the handler back, and its disconnect ends the handler", async function () {
    // a server of its own, whose server-streaming handler counts what it produced
    const block = pattern(64 * KiB, 1);
    let produced = 0;
    let ended = false;
    let abortedAtEnd = false;
    const impl = sgwireImplementation(log);
    impl.serverStream = async function* (req, ctx) {
      try {
        for (let i = 0; i < 1000; i++) {
          produced++;
          yield { id: req.id, payload: block, seq: BigInt(i), tags: [], count: 0n, totalBytes: 0n, deadlineMs: -1n };
        }
      } finally {
        ended = true;
        abortedAtEnd = ctx.signal.aborted;
      }
    };
    const slow = new GrpcServer();
    slow.addService(Interop, impl);
    const { port: slowPort } = await slow.listen({ host: "127.0.0.1", port: 0 });
    try {
      const c = await rawConnect(slowPort);
      raws.push(c);
      // our SETTINGS leave HTTP/2's initial windows (65,535 bytes) and no WINDOW_UPDATE ever follows
      c.write(headersFrame(1, requestHeaders("/sgwire.interop.Interop/ServerStream"), false));
      c.write(dataFrame(1, grpcFrame(Request.toBinary(Request.create({ id: "never-reads" }))), true));
      await c.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1, "the first response bytes");
      await new Promise((r) => setTimeout(r, 500));
      const stalledAt = produced;
      await new Promise((r) => setTimeout(r, 500));
      const received = c.frames.filter((f) => f.type === FrameType.DATA && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
      assert.ok(received <= 65_535, `the server sent ${received} bytes into a 65,535-byte window`);
      assert.equal(produced, stalledAt, "the handler kept producing while nothing could be sent");
      assert.ok(produced < 32, `the handler produced ${produced} x 64 KiB for a client that reads nothing`);
      assert.ok(!ended);
      c.destroy();
      await settle(() => ended, "the handler to end after the client left");
      assert.ok(abortedAtEnd, "the handler's signal was aborted when its generator was closed");
    } finally {
      await slow.close(500);
    }
  });

  it("a connection that sends HTTP/1.1 instead of the HTTP/2 preface is dropped, and the server keeps serving", async function () {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => { /* closed below */ });
    socket.resume(); // read what the server sends (its SETTINGS, GOAWAY), or its FIN goes unseen
    await once(socket, "connect");
    socket.write("POST /sgwire.interop.Interop/Unary HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0");
    const closed = once(socket, "close");
    const t = setTimeout(() => socket.destroy(new Error("the server kept the connection open")), 5000);
    await closed;
    clearTimeout(t);
    assert.ok(!socket.errored || (socket.errored as Error).message !== "the server kept the connection open", "the server kept the connection open");
    await stillServes();
  });

  it("a frame larger than the server allows: GOAWAY with an error code, and the server keeps serving", async function () {
    const c = await rawConnect(port);
    raws.push(c);
    // a frame header announcing 4.6 MB, past SETTINGS_MAX_FRAME_SIZE (16 KiB)
    c.socket.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const goaway = await c.waitFrame((f) => f.type === FrameType.GOAWAY, "the server's GOAWAY");
    assert.notEqual(goaway.payload.readUInt32BE(4), H2Error.NO_ERROR, "GOAWAY's error code");
    c.destroy();
    await stillServes();
  });
});

/** What the raw server does with the next call. */
type Mode =
  | "good" | "over-limit" | "compressed" | "truncated" | "rst-cancel" | "rst-internal" | "goaway" | "drop"
  | "no-status" | "no-status-no-trailers" | "http-503" | "silent";

describe("bad peers against an sgwire client", function () {
  let mode: Mode = "good";
  let raw: Awaited<ReturnType<typeof rawServer>> | undefined;
  let channel: Channel | undefined;
  let client: InteropClient;
  const GOOD = Response.toBinary({ id: "good", payload: pattern(300, 9), seq: 9n, tags: ["t"], count: 0n, totalBytes: 0n, deadlineMs: -1n });
  const RESPONSE_HEADERS: Array<[string, string]> = [[":status", "200"], ["content-type", "application/grpc"]];

  /** Answers a request (once it ended) as `mode` says. */
  function answer(c: RawConnection, s: number): void {
    const headers = () => c.write(headersFrame(s, RESPONSE_HEADERS, false));
    const ok = () => c.write(headersFrame(s, [["grpc-status", "0"]], true));
    switch (mode) {
      case "good":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD)));
        ok();
        break;
      case "over-limit":
        headers();
        c.write(dataFrame(s, grpcFrame(new Uint8Array(16), { length: LIMIT + 1 })));
        break; // and nothing more: the client must not wait for it
      case "compressed":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD, { compressed: true })));
        ok();
        break;
      case "truncated":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD.subarray(0, 10), { length: GOOD.length })));
        ok();
        break;
      case "rst-cancel":
      case "rst-internal":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD.subarray(0, 10), { length: GOOD.length })));
        c.write(rstFrame(s, mode === "rst-cancel" ? H2Error.CANCEL : H2Error.INTERNAL_ERROR));
        break;
      case "goaway":
        // this stream was not processed (last stream id below it): the client may retry it elsewhere
        c.write(goawayFrame(s - 2 < 0 ? 0 : s - 2, H2Error.NO_ERROR, "going away"));
        c.socket.end();
        break;
      case "drop":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD.subarray(0, 10), { length: GOOD.length })));
        c.destroy();
        break;
      case "no-status":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD)));
        c.write(headersFrame(s, [["x-note", "no status here"]], true));
        break;
      case "no-status-no-trailers":
        headers();
        c.write(dataFrame(s, grpcFrame(GOOD), true));
        break;
      case "silent":
        break; // the test answers itself
      case "http-503":
        c.write(headersFrame(s, [[":status", "503"], ["content-type", "text/plain"]], false));
        c.write(dataFrame(s, Buffer.from("overloaded"), true));
        break;
    }
  }

  before(async function () {
    raw = await rawServer((c) => {
      c.onFrame = (f) => {
        if ((f.type === FrameType.DATA || f.type === FrameType.HEADERS) && f.streamId > 0 && (f.flags & Flag.END_STREAM)) answer(c, f.streamId);
      };
    });
    channel = createChannel(`http://127.0.0.1:${raw.port}`, { maxReceiveMessageBytes: LIMIT });
    client = sgwireClient(channel);
  });
  after(async function () {
    channel?.close();
    await raw?.close();
  });

  /** One unary call in `m`; resolves with its error (asserting it failed). */
  async function failing(m: Mode): Promise<{ code: Status; details: string }> {
    mode = m;
    try {
      const res = await client.unary(Request.create({ id: m }), { deadline: 10_000 });
      assert.fail(`${m}: the call succeeded (${JSON.stringify({ id: res.id })})`);
    } catch (err) {
      const e = err as { code?: Status; details?: string; name?: string };
      assert.equal(e.name, "GrpcError", `${m}: ${String(err)}`);
      return { code: e.code!, details: e.details! };
    } finally {
      mode = "good";
    }
  }

  /** The same channel makes a normal call. */
  async function channelWorks(): Promise<void> {
    const res = await client.unary(Request.create({ id: "after" }), { deadline: 10_000 });
    assert.equal(res.id, "good");
    assert.deepEqual(res.payload, pattern(300, 9));
    assert.equal(res.seq, 9n);
  }

  it("a good response from the raw server decodes (the peer itself is sound)", async function () {
    await channelWorks();
  });

  it("a length prefix past the receive limit: RESOURCE_EXHAUSTED, and the client resets the stream", async function () {
    const e = await failing("over-limit");
    assert.equal(e.code, Status.RESOURCE_EXHAUSTED, e.details);
    const c = raw!.connections.at(-1)!;
    await c.waitFrame((f) => f.type === FrameType.RST_STREAM, "the client's RST_STREAM of the over-limit call");
    await channelWorks();
  });

  it("the compressed flag without grpc-encoding: INTERNAL", async function () {
    const e = await failing("compressed");
    assert.equal(e.code, Status.INTERNAL, e.details);
    await channelWorks();
  });

  it("a message truncated at END_STREAM: INTERNAL", async function () {
    const e = await failing("truncated");
    assert.equal(e.code, Status.INTERNAL, e.details);
    await channelWorks();
  });

  it("RST_STREAM CANCEL mid-response: CANCELLED; RST_STREAM INTERNAL_ERROR: INTERNAL", async function () {
    const c1 = await failing("rst-cancel");
    assert.equal(c1.code, Status.CANCELLED, c1.details);
    const c2 = await failing("rst-internal");
    assert.equal(c2.code, Status.INTERNAL, c2.details);
    await channelWorks();
  });

  it("GOAWAY before the stream was processed: UNAVAILABLE, and the channel connects again", async function () {
    const before = raw!.connections.length;
    const e = await failing("goaway");
    assert.equal(e.code, Status.UNAVAILABLE, e.details);
    await channelWorks();
    assert.ok(raw!.connections.length > before, "the next call opened a new connection");
  });

  it("the connection dropped mid-response: UNAVAILABLE, and the channel connects again", async function () {
    const e = await failing("drop");
    assert.equal(e.code, Status.UNAVAILABLE, e.details);
    await channelWorks();
  });

  it("trailers without grpc-status: UNKNOWN; no trailers at all: a failure, though a whole response arrived", async function () {
    const e1 = await failing("no-status");
    assert.equal(e1.code, Status.UNKNOWN, e1.details);
    // The spec names no status for a stream that ends without trailers: C-core reports UNKNOWN,
    // grpc-go and grpc-js INTERNAL. What matters is that the response is not taken as a success.
    const e2 = await failing("no-status-no-trailers");
    assert.ok(e2.code === Status.UNKNOWN || e2.code === Status.INTERNAL, `no trailers: ${Status[e2.code]} (${e2.details})`);
    await channelWorks();
  });

  it("a server that never grants flow-control window holds the request stream back; its reset ends the call and closes the requests", async function () {
    await channelWorks(); // the channel is connected: the call below goes on this connection
    mode = "silent";
    const c = raw!.connections.at(-1)!;
    const seen = new Set(c.frames.filter((f) => f.type === FrameType.HEADERS).map((f) => f.streamId));
    const block = pattern(64 * KiB, 2);
    let pulled = 0;
    let closed = false;
    async function* requests() {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield Request.create({ id: "never-read", payload: block, seq: BigInt(i) });
        }
      } finally {
        closed = true;
      }
    }
    try {
      const call = client.clientStream(requests(), { deadline: 20_000 });
      const outcome = call.then(() => Status.OK, (e: { code?: Status }) => e.code);
      const h = await c.waitFrame((f) => f.type === FrameType.HEADERS && !seen.has(f.streamId), "the client-streaming call's HEADERS");
      await c.waitFrame((f) => f.type === FrameType.DATA && f.streamId === h.streamId, "its first request bytes");
      await new Promise((r) => setTimeout(r, 500));
      const stalledAt = pulled;
      await new Promise((r) => setTimeout(r, 500));
      const sent = c.frames.filter((f) => f.type === FrameType.DATA && f.streamId === h.streamId).reduce((n, f) => n + f.payload.length, 0);
      assert.ok(sent <= 65_535, `the client sent ${sent} bytes into a 65,535-byte window`);
      assert.equal(pulled, stalledAt, "the client kept pulling requests while nothing could be sent");
      assert.ok(pulled < 32, `the client pulled ${pulled} x 64 KiB requests for a server that reads nothing`);
      c.write(rstFrame(h.streamId, H2Error.CANCEL));
      // give the connection's window back, or the channel's next call could not send its request
      c.write(windowUpdateFrame(0, sent));
      assert.equal(await outcome, Status.CANCELLED);
      await settle(() => closed, "the request generator to be closed");
    } finally {
      mode = "good";
    }
    await channelWorks();
  });

  it("HTTP 503 instead of a gRPC response: UNAVAILABLE", async function () {
    const e = await failing("http-503");
    assert.equal(e.code, Status.UNAVAILABLE, e.details);
    await channelWorks();
  });
});
