// The sgwire gRPC client (createChannel, createClient) against real servers: @grpc/grpc-js servers
// built here with toGrpcJsService, and plain node:http2 servers for responses grpc-js would
// never send (a non-gRPC reply, zero or two messages on a unary call).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { defineService, type MethodType } from "@sgwire/core";
import { GrpcError, Metadata, Status, createChannel, createClient, messagePrefix, toGrpcJsService, type Channel } from "../src/index.js";
import { Echo, EchoRequest, EchoResponse } from "./gen/client-echo.sg.js";
import { describeWith } from "../../nic/test/suite/requirements.js";
import { makeCert, opensslMissing, type TestCert } from "./interop/tls.js";
// payloads with a prime period: a dropped, repeated or reordered chunk shows
import { pattern } from "./interop/scenarios.js";

const MiB = 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the grpc-js server saw, per request text. */
class ServerLog {
  readonly cancelled = new Set<string>();
  readonly written = new Map<string, number>();
  readonly metadata = new Map<string, grpc.Metadata>();
  #waiters = new Map<string, () => void>();
  markCancelled(text: string): void {
    this.cancelled.add(text);
    this.#waiters.get(text)?.();
  }
  /** Resolves when the server has seen the call `text` cancelled (fails the test after `ms`). */
  waitCancelled(text: string, ms = 5000): Promise<void> {
    if (this.cancelled.has(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the server did not see ${text} cancelled within ${ms} ms`)), ms);
      this.#waiters.set(text, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function reply(req: EchoRequest, index: number): EchoResponse {
  const payload = req.responseSize > 0 ? pattern(req.responseSize, index & 0xff) : req.payload;
  return { text: req.text, payload, index, total: BigInt(payload.length) };
}

function failure(req: EchoRequest): Partial<grpc.StatusObject> {
  const md = new grpc.Metadata();
  md.set("x-why", "asked to fail");
  md.set("x-detail-bin", Buffer.from([0, 1, 2, 255]));
  return { code: req.failCode, details: `failed as asked: ${req.text} ü %`, metadata: md };
}

/** Response headers echoing the request's metadata, so both directions are checked. */
function echoHeaders(md: grpc.Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const v of md.get("x-token")) out.add("x-token-echo", v);
  for (const v of md.get("x-raw-bin")) out.add("x-raw-echo-bin", v);
  return out;
}

function echoImpl(log: ServerLog): grpc.UntypedServiceImplementation {
  return {
    unary(call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>, cb: grpc.sendUnaryData<EchoResponse>) {
      const req = call.request;
      log.metadata.set(req.text, call.metadata);
      call.on("cancelled", () => log.markCancelled(req.text));
      if (call.metadata.get("x-token").length > 0) call.sendMetadata(echoHeaders(call.metadata));
      const respond = () => {
        if (call.cancelled) return;
        if (req.failCode !== 0) return cb(failure(req));
        const trailer = new grpc.Metadata();
        trailer.set("x-trailer", "done");
        trailer.set("x-sum-bin", Buffer.from([req.payload.length & 0xff, 7]));
        cb(null, reply(req, 0), trailer);
      };
      if (req.delayMs > 0) setTimeout(respond, req.delayMs);
      else respond();
    },
    async serverStream(call: grpc.ServerWritableStream<EchoRequest, EchoResponse>) {
      const req = call.request;
      let cancelled = false;
      call.on("cancelled", () => {
        cancelled = true;
        log.markCancelled(req.text);
      });
      let written = 0;
      for (let i = 0; i < req.repeat && !cancelled; i++) {
        if (req.delayMs > 0) await sleep(req.delayMs);
        if (cancelled) break;
        const ok = call.write(reply(req, i));
        log.written.set(req.text, ++written);
        if (!ok) await new Promise<void>((r) => {
          const done = () => { call.off("drain", done); call.off("cancelled", done); r(); };
          call.on("drain", done);
          call.on("cancelled", done);
        });
      }
      if (cancelled) return;
      if (req.failCode !== 0) call.emit("error", failure(req));
      else call.end();
    },
    clientStream(call: grpc.ServerReadableStream<EchoRequest, EchoResponse>, cb: grpc.sendUnaryData<EchoResponse>) {
      const texts: string[] = [];
      let bytes = 0;
      call.on("cancelled", () => log.markCancelled(texts[0] ?? "client-stream"));
      call.on("data", (m: EchoRequest) => {
        texts.push(m.text);
        bytes += m.payload.length;
      });
      call.on("end", () => cb(null, { text: texts.join(","), payload: new Uint8Array(0), index: texts.length, total: BigInt(bytes) }));
    },
    bidi(call: grpc.ServerDuplexStream<EchoRequest, EchoResponse>) {
      let i = 0;
      let first = "";
      call.on("cancelled", () => log.markCancelled(first));
      call.on("data", (m: EchoRequest) => {
        if (i === 0) first = m.text;
        call.write(reply(m, i++));
      });
      call.on("end", () => call.end());
    },
  };
}

const serverOptions = { "grpc.max_receive_message_length": 16 * MiB, "grpc.max_send_message_length": 16 * MiB };

async function startGrpcJs(impl: grpc.UntypedServiceImplementation, port = 0, creds = grpc.ServerCredentials.createInsecure(), def: grpc.ServiceDefinition = toGrpcJsService(Echo) as unknown as grpc.ServiceDefinition): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(serverOptions);
  server.addService(def, impl);
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port: bound };
}

function stopGrpcJs(server: grpc.Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  server.forceShutdown();
  return Promise.resolve();
}

/** Asserts that `p` rejects with a GrpcError of `code` whose details match `details`. */
async function rejectsWith(p: Promise<unknown>, code: Status, details?: RegExp): Promise<GrpcError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof GrpcError, `expected a GrpcError ${Status[code]}, got ${err === undefined ? "success" : String(err)}`);
  assert.equal(err.code, code, `expected ${Status[code]}, got ${Status[err.code]}: ${err.details}`);
  if (details !== undefined) assert.match(err.details, details);
  return err;
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of it) out.push(m);
  return out;
}

const req = (init: Partial<EchoRequest>): EchoRequest => EchoRequest.create(init);

describe("sgwire gRPC client against a grpc-js server", function () {
  const log = new ServerLog();
  let server: grpc.Server;
  let channel: Channel;
  let client: ReturnType<typeof createClient<typeof Echo>>;

  before(async () => {
    const s = await startGrpcJs(echoImpl(log));
    server = s.server;
    channel = createChannel(`http://127.0.0.1:${s.port}`, { maxReceiveMessageBytes: 16 * MiB });
    client = createClient(Echo, channel);
  });

  after(async () => {
    channel?.close();
    await stopGrpcJs(server);
  });

  for (const size of [0, 1024, 4 * MiB]) {
    it(`unary round trip with a ${size} B payload`, async () => {
      const payload = pattern(size, 3);
      const res = await client.unary(req({ text: `u${size}`, payload }));
      assert.equal(res.text, `u${size}`);
      assert.equal(res.total, BigInt(size));
      assert.equal(res.payload.length, size);
      assert.ok(Buffer.from(res.payload).equals(Buffer.from(payload)));
      if (size === 1024) {
        // a response that arrived in one DATA chunk is decoded into a view of it
        assert.ok(res.payload.buffer.byteLength > res.payload.length, "the payload is a view into the received chunk");
      }
    });
  }

  it("server streaming delivers every message in order", async () => {
    const got = await drain(client.serverStream(req({ text: "ss", repeat: 20, responseSize: 100 })));
    assert.deepEqual(got.map((m) => m.index), [...Array(20).keys()]);
    got.forEach((m, i) => assert.ok(Buffer.from(m.payload).equals(Buffer.from(pattern(100, i)))));
  });

  it("server streaming with zero messages ends at once", async () => {
    assert.deepEqual(await drain(client.serverStream(req({ text: "none", repeat: 0 }))), []);
  });

  it("client streaming from a sync iterable and from an async generator", async () => {
    const list = [0, 1, 2, 3].map((i) => req({ text: `c${i}`, payload: pattern(i * 1000, i) }));
    const a = await client.clientStream(list);
    assert.equal(a.text, "c0,c1,c2,c3");
    assert.equal(a.index, 4);
    assert.equal(a.total, 6000n);
    async function* gen() {
      for (let i = 0; i < 50; i++) {
        if (i % 10 === 0) await sleep(1);
        yield req({ text: `g${i}`, payload: pattern(64 * 1024, i) });
      }
    }
    const b = await client.clientStream(gen());
    assert.equal(b.index, 50);
    assert.equal(b.total, 50n * 65536n);
    const empty = await client.clientStream([]);
    assert.equal(empty.index, 0);
  });

  it("bidi streaming: each response arrives before the next request is sent (ping-pong)", async () => {
    let resolveNext: ((m: EchoResponse) => void) | null = null;
    const requests = (async function* () {
      for (let i = 0; i < 5; i++) {
        const got = new Promise<EchoResponse>((r) => (resolveNext = r));
        yield req({ text: `p${i}`, payload: pattern(10 * i, i) });
        const m = await got;
        assert.equal(m.text, `p${i}`);
      }
    })();
    const seen: string[] = [];
    for await (const m of client.bidi(requests)) {
      seen.push(`${m.text}#${m.index}`);
      resolveNext!(m);
    }
    assert.deepEqual(seen, ["p0#0", "p1#1", "p2#2", "p3#3", "p4#4"]);
  });

  it("sends metadata (text and -bin) and receives response headers and trailers", async () => {
    const md = new Metadata();
    md.add("x-token", "abc").add("x-token", "def");
    md.add("x-raw-bin", new Uint8Array([0, 255, 10, 13, 128]));
    let headers: Metadata | undefined;
    let trailers: Metadata | undefined;
    let status: Status | undefined;
    const res = await client.unary(req({ text: "md", payload: pattern(300, 1) }), {
      metadata: md,
      onHeader: (h) => (headers = h),
      onTrailer: (t, s) => {
        trailers = t;
        status = s;
      },
    });
    assert.equal(res.text, "md");
    const seen = log.metadata.get("md")!;
    // node joins the values of a header repeated in the request with ", ", and grpc-js keeps that
    assert.deepEqual(seen.get("x-token").join(", "), "abc, def");
    assert.deepEqual(seen.get("x-raw-bin"), [Buffer.from([0, 255, 10, 13, 128])]);
    assert.match(String(seen.get("user-agent")[0]), /^sgwire-grpc\/\d/);
    // grpc-js sends the values of a key as one field, joined with ", " (which HTTP/2 allows)
    assert.deepEqual(headers!.getAll("x-token-echo").join(", "), "abc, def");
    assert.deepEqual(headers!.getAll("x-raw-echo-bin").map((v) => [...(v as Uint8Array)]), [[0, 255, 10, 13, 128]]);
    assert.equal(status, Status.OK);
    assert.equal(trailers!.get("x-trailer"), "done");
    assert.deepEqual([...(trailers!.get("x-sum-bin") as Uint8Array)], [300 & 0xff, 7]);
  });

  it("an onHeader or onTrailer callback that throws fails the call with what it threw", async () => {
    const boom = new Error("callback broke");
    await assert.rejects(client.unary(req({ text: "cb-h", delayMs: 2000 }), { metadata: new Metadata({ "x-token": "t" }), onHeader: () => { throw boom; } }), (e) => e === boom);
    // the call was cancelled: the server sees it
    await log.waitCancelled("cb-h");
    await assert.rejects(client.unary(req({ text: "cb-t" }), { onTrailer: () => { throw boom; } }), (e) => e === boom);
  });

  it("fails with the server's status, message (percent-encoded on the wire) and trailers", async () => {
    const err = await rejectsWith(client.unary(req({ text: "nf", failCode: Status.NOT_FOUND })), Status.NOT_FOUND, /^failed as asked: nf ü %$/);
    assert.equal(err.metadata!.get("x-why"), "asked to fail");
    assert.deepEqual([...(err.metadata!.get("x-detail-bin") as Uint8Array)], [0, 1, 2, 255]);
    // the same from a server stream after some messages
    const got: number[] = [];
    const it = client.serverStream(req({ text: "ssfail", repeat: 3, failCode: Status.PERMISSION_DENIED }));
    await assert.rejects(
      (async () => {
        for await (const m of it) got.push(m.index);
      })(),
      (e: unknown) => e instanceof GrpcError && e.code === Status.PERMISSION_DENIED && /failed as asked/.test(e.details),
    );
    assert.deepEqual(got, [0, 1, 2]);
  });

  it("a deadline that expires fails DEADLINE_EXCEEDED and the server sees the call cancelled", async () => {
    const t0 = Date.now();
    await rejectsWith(client.unary(req({ text: "slow", delayMs: 3000 }), { deadline: 150 }), Status.DEADLINE_EXCEEDED, /deadline/);
    assert.ok(Date.now() - t0 < 2500, "failed at the deadline, not when the server answered");
    await log.waitCancelled("slow");
    // a Date deadline, and a deadline already past (never sent)
    await rejectsWith(client.unary(req({ text: "slow2", delayMs: 3000 }), { deadline: new Date(Date.now() + 100) }), Status.DEADLINE_EXCEEDED);
    await log.waitCancelled("slow2");
    await rejectsWith(client.unary(req({ text: "past" }), { deadline: new Date(Date.now() - 1) }), Status.DEADLINE_EXCEEDED, /before the call started/);
    assert.equal(log.metadata.has("past"), false);
    // a deadline that does not expire is sent as grpc-timeout
    await client.unary(req({ text: "timed" }), { deadline: 60_000 });
    assert.ok(log.metadata.has("timed"));
    // one past what a timer can wait (which would fire at once): left to the server
    await client.unary(req({ text: "far" }), { deadline: new Date(Date.now() + 40 * 86400_000) });
    assert.ok(log.metadata.has("far"));
  });

  it("an aborted signal cancels the call (CANCELLED) and the server sees it", async () => {
    const ac = new AbortController();
    const p = client.unary(req({ text: "abort", delayMs: 3000 }), { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await rejectsWith(p, Status.CANCELLED, /signal/);
    await log.waitCancelled("abort");
    await rejectsWith(client.unary(req({ text: "pre-aborted" }), { signal: AbortSignal.abort() }), Status.CANCELLED, /before the call started/);
  });

  it("breaking out of a server stream cancels the call and the server sees it", async () => {
    const got: number[] = [];
    for await (const m of client.serverStream(req({ text: "brk", repeat: 1000, delayMs: 5 }))) {
      got.push(m.index);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [0, 1, 2]);
    await log.waitCancelled("brk");
    assert.ok(log.written.get("brk")! < 1000);
  });

  it("a slow consumer of a server stream holds the server back (flow control), then gets everything", async () => {
    const it = client.serverStream(req({ text: "bp", repeat: 400, responseSize: 64 * 1024 }))[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    // the consumer reads nothing for a while: the server can write only what the windows and
    // buffers take, far from 400 x 64 KiB = 25 MiB
    await sleep(300);
    const writtenWhilePaused = log.written.get("bp")!;
    assert.ok(writtenWhilePaused < 200, `the server wrote ${writtenWhilePaused} of 400 messages while the client read one`);
    let n = 1;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      assert.equal(r.value.index, n);
      n++;
    }
    assert.equal(n, 400);
  });

  it("a response larger than maxReceiveMessageBytes fails RESOURCE_EXHAUSTED", async () => {
    const small = createChannel(channel.address); // default limit: 4 MiB
    try {
      const c = createClient(Echo, small);
      await rejectsWith(c.unary(req({ text: "huge", responseSize: 4 * MiB + 1 })), Status.RESOURCE_EXHAUSTED, /limit of 4194304/);
      // 4 MiB of message, payload and tags included, still passes
      const ok = await c.unary(req({ text: "edge", responseSize: 4 * MiB - 16 }));
      assert.equal(ok.payload.length, 4 * MiB - 16);
    } finally {
      small.close();
    }
  });

  it("a request larger than maxSendMessageBytes fails RESOURCE_EXHAUSTED before anything is sent", async () => {
    const limited = createChannel(channel.address, { maxSendMessageBytes: 1000 });
    try {
      const c = createClient(Echo, limited);
      await rejectsWith(c.unary(req({ text: "too-big", payload: pattern(2000, 0) })), Status.RESOURCE_EXHAUSTED, /send limit of 1000/);
      await rejectsWith(c.clientStream([req({ text: "ok" }), req({ text: "too-big-2", payload: pattern(2000, 0) })]), Status.RESOURCE_EXHAUSTED);
      assert.equal(log.metadata.has("too-big"), false);
    } finally {
      limited.close();
    }
  });

  it("an error thrown by the request iterable cancels the call and rejects with that error", async () => {
    const boom = new Error("input broke");
    async function* failing() {
      yield req({ text: "in-fail" });
      await sleep(20);
      throw boom;
    }
    await assert.rejects(client.clientStream(failing()), (e) => e === boom);
    await log.waitCancelled("in-fail");
    // bidi: the response iterator throws it
    function* failingSync(): Generator<EchoRequest> {
      yield req({ text: "in-fail-2" });
      throw boom;
    }
    await assert.rejects(drain(client.bidi(failingSync())), (e) => e === boom);
    await assert.rejects(client.clientStream(42 as never), (e: unknown) => e instanceof TypeError && /iterable/.test(e.message));
  });

  it("a method the server does not have fails UNIMPLEMENTED", async () => {
    const Other = defineService<{ missing: MethodType<EchoRequest, EchoResponse, "unary"> }>("sgtest.client.Other", {
      missing: { name: "Missing", kind: "unary", input: EchoRequest, output: EchoResponse },
    });
    await rejectsWith(createClient(Other, channel).missing(req({})), Status.UNIMPLEMENTED);
  });

  it("a response that does not decode fails INTERNAL naming the message type", async () => {
    // a grpc-js server whose serializer writes field 2 (bytes) with a length past the end
    const def = toGrpcJsService(Echo) as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;
    const bad = { ...def, unary: { ...def.unary!, responseSerialize: () => Buffer.from([0x12, 0x05, 0x01]) } };
    const s = await startGrpcJs(echoImpl(new ServerLog()), 0, undefined, bad as grpc.ServiceDefinition);
    const ch = createChannel(`http://127.0.0.1:${s.port}`);
    try {
      await rejectsWith(createClient(Echo, ch).unary(req({ text: "x" })), Status.INTERNAL, /sgtest\.client\.EchoResponse/);
    } finally {
      ch.close();
      await stopGrpcJs(s.server);
    }
  });

  it("rejects bad arguments with errors that say what is wrong", async () => {
    assert.throws(() => createChannel("127.0.0.1:5" as never), /not a URL|must start with http/);
    assert.throws(() => createChannel("ftp://127.0.0.1:5"), /must start with http:\/\/ \(h2c\) or https:\/\//);
    assert.throws(() => createChannel("http://127.0.0.1:5/path"), /no path/);
    assert.throws(() => createChannel("http://127.0.0.1:5", { maxReceiveMessageBytes: -1 }), /maxReceiveMessageBytes/);
    assert.throws(() => createClient({} as never, channel), /service descriptor/);
    assert.throws(() => createClient(Echo, {} as never), /Channel from createChannel/);
    await assert.rejects(client.unary(req({}), { deadline: "soon" as never }), /deadline must be a Date or a number/);
    assert.throws(() => createChannel("http://127.0.0.1:5", { settings: { initialWindowSize: -1 } }), /settings: .*initialWindowSize/);
    await rejectsWith(client.unary(null as never), Status.INTERNAL, /cannot send a request of \/sgtest\.client\.Echo\/Unary: .*expected a message object/);
  });
});

describe("sgwire gRPC client: connections", function () {
  it("fails UNAVAILABLE when nothing listens", async () => {
    const probe = await startGrpcJs(echoImpl(new ServerLog()));
    const port = probe.port;
    await stopGrpcJs(probe.server);
    const ch = createChannel(`http://127.0.0.1:${port}`);
    try {
      await rejectsWith(createClient(Echo, ch).unary(req({ text: "x" })), Status.UNAVAILABLE, /ECONNREFUSED|closed/);
    } finally {
      ch.close();
    }
  });

  it("reconnects after the server restarts; calls in flight on the old connection fail UNAVAILABLE", async () => {
    const log = new ServerLog();
    let s = await startGrpcJs(echoImpl(log));
    const port = s.port;
    const ch = createChannel(`http://127.0.0.1:${port}`);
    const c = createClient(Echo, ch);
    try {
      assert.equal((await c.unary(req({ text: "before" }))).text, "before");
      const inflight = c.unary(req({ text: "inflight", delayMs: 5000 }));
      await sleep(100);
      s.server.forceShutdown();
      await rejectsWith(inflight, Status.UNAVAILABLE);
      await rejectsWith(c.unary(req({ text: "down" })), Status.UNAVAILABLE);
      s = await startGrpcJs(echoImpl(log), port);
      assert.equal((await c.unary(req({ text: "after" }))).text, "after");
    } finally {
      ch.close();
      await stopGrpcJs(s.server);
    }
  });

  it("close(): calls in flight finish, later calls fail UNAVAILABLE \"channel closed\"", async () => {
    const s = await startGrpcJs(echoImpl(new ServerLog()));
    const ch = createChannel(`http://127.0.0.1:${s.port}`);
    const c = createClient(Echo, ch);
    try {
      const inflight = c.unary(req({ text: "last", delayMs: 100 }));
      await sleep(20);
      ch.close();
      assert.equal((await inflight).text, "last");
      await rejectsWith(c.unary(req({ text: "late" })), Status.UNAVAILABLE, /channel closed/);
      assert.deepEqual(await drain(c.serverStream(req({ text: "late", repeat: 1 }))).catch((e: GrpcError) => e.code), Status.UNAVAILABLE);
      ch.close(); // again: nothing happens
      assert.equal(ch.closed, true);
    } finally {
      await stopGrpcJs(s.server);
    }
  });

  it("an idle channel does not keep the process alive", async () => {
    const s = await startGrpcJs(echoImpl(new ServerLog()));
    try {
      const dist = new URL("../dist/index.js", import.meta.url).href;
      const gen = new URL("./gen/client-echo.sg.ts", import.meta.url).href;
      // a child makes one call and never closes its channel: it must exit on its own
      const script = `
        const { createChannel, createClient } = await import(${JSON.stringify(dist)});
        const { Echo, EchoRequest } = await import(${JSON.stringify(gen)});
        const c = createClient(Echo, createChannel("http://127.0.0.1:${s.port}"));
        const r = await c.unary(EchoRequest.create({ text: "child" }));
        console.log("got " + r.text);`;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => {
        const t = setTimeout(() => {
          child.kill();
          resolve(null);
        }, 30_000);
        child.on("exit", (c) => {
          clearTimeout(t);
          resolve(c);
        });
      });
      assert.equal(code, 0, `the child did not exit by itself: ${out}`);
      assert.match(out, /got child/);
    } finally {
      await stopGrpcJs(s.server);
    }
  });
});

describe("sgwire gRPC client: keepalive", function () {
  it("a server that stops answering (no PING reply) fails the open call UNAVAILABLE; the channel then connects anew", async () => {
    // an HTTP/2 server that sends its SETTINGS and then nothing at all: a peer that died without
    // a TCP close, as far as the client can tell
    const sockets: Socket[] = [];
    const mute = createServer((sock) => {
      sockets.push(sock);
      sock.on("error", () => {});
      sock.resume();
      sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // SETTINGS, empty
    });
    await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", () => resolve()));
    const port = (mute.address() as AddressInfo).port;
    const ch = createChannel(`http://127.0.0.1:${port}`, { keepalive: { idleMs: 150, timeoutMs: 150 } });
    const quiet = createChannel(`http://127.0.0.1:${port}`, { keepalive: false });
    try {
      const c = createClient(Echo, ch);
      const t0 = Date.now();
      await rejectsWith(c.unary(req({ text: "x" })), Status.UNAVAILABLE, /keepalive PING/);
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
      assert.equal(sockets.length, 1);
      // without keepalive the same call is still waiting after a second
      const pending = createClient(Echo, quiet).unary(req({ text: "y" }));
      const outcome = await Promise.race([pending.then(() => "resolved", () => "rejected"), sleep(1000).then(() => "waiting")]);
      assert.equal(outcome, "waiting");
      quiet.close();
      for (const s of sockets) s.destroy();
      await pending.catch(() => {});
      // the next call on the keepalive channel opens a new connection
      const next = c.unary(req({ text: "z" }));
      while (sockets.length < 3) await sleep(10);
      ch.close();
      for (const s of sockets) s.destroy();
      await next.catch(() => {});
    } finally {
      ch.close();
      quiet.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  it("a live server keeps a quiet long call (PINGs answered), and an idle channel sends no PINGs", async () => {
    const pings: number[] = [0];
    const srv = http2.createServer();
    srv.on("session", (session) => session.on("ping", () => pings[0]!++));
    srv.on("stream", (stream) => {
      // a unary call answered after 700 ms of quiet
      stream.on("data", () => {});
      stream.on("error", () => {});
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        const body = EchoResponse.toBinary(EchoResponse.create({ text: "late" }));
        stream.end(Buffer.concat([messagePrefix(body.length), body]));
      }, 700);
    });
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
    const ch = createChannel(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`, { keepalive: { idleMs: 100, timeoutMs: 500 } });
    try {
      const c = createClient(Echo, ch);
      assert.equal((await c.unary(req({ text: "q" }))).text, "late");
      assert.ok(pings[0]! >= 2, `${pings[0]} PINGs during 700 ms of quiet with idleMs 100`);
      const during = pings[0]!;
      await sleep(600); // idle: no calls open
      assert.equal(pings[0], during, "PINGs sent by an idle channel");
    } finally {
      ch.close();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it("refuses a bad keepalive option, naming it", () => {
    assert.throws(() => createChannel("http://127.0.0.1:1", { keepalive: { idleMs: 0 } }), /keepalive.idleMs must be an integer from 1/);
    assert.throws(() => createChannel("http://127.0.0.1:1", { keepalive: "no" as never }), /keepalive must be/);
  });
});

describeWith("openssl", opensslMissing())("sgwire gRPC client over TLS", function () {
  let tls: TestCert | undefined;
  let server: grpc.Server | undefined;
  let port: number;
  before(async function () {
    tls = makeCert();
    const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }]);
    const s = await startGrpcJs(echoImpl(new ServerLog()), 0, creds);
    server = s.server;
    port = s.port;
  });
  after(async () => {
    if (server !== undefined) await stopGrpcJs(server);
    tls?.remove();
  });

  it("calls a TLS server that presents a self-signed certificate trusted through ca", async () => {
    const ch = createChannel(`https://127.0.0.1:${port}`, { ca: tls!.cert });
    try {
      const c = createClient(Echo, ch);
      const res = await c.unary(req({ text: "tls", payload: pattern(100_000, 4) }));
      assert.ok(Buffer.from(res.payload).equals(Buffer.from(pattern(100_000, 4))));
      assert.deepEqual((await drain(c.serverStream(req({ text: "tls-ss", repeat: 3 })))).map((m) => m.index), [0, 1, 2]);
    } finally {
      ch.close();
    }
    // by name, with servername
    const byName = createChannel(`https://127.0.0.1:${port}`, { ca: tls!.cert, servername: "localhost" });
    try {
      assert.equal((await createClient(Echo, byName).unary(req({ text: "sni" }))).text, "sni");
    } finally {
      byName.close();
    }
  });

  it("fails UNAVAILABLE when the certificate is not trusted", async () => {
    const ch = createChannel(`https://127.0.0.1:${port}`);
    try {
      await rejectsWith(createClient(Echo, ch).unary(req({ text: "untrusted" })), Status.UNAVAILABLE, /certificate/i);
    } finally {
      ch.close();
    }
  });
});

describe("sgwire gRPC client against non-conforming HTTP/2 servers", function () {
  let server: http2.Http2Server;
  let ch: Channel;
  let c: ReturnType<typeof createClient<typeof Echo>>;
  let sessions = 0;
  const sockets = new Set<Socket>();
  const one = Buffer.concat([messagePrefix(EchoResponse.encodedSize({ text: "a", payload: new Uint8Array(0), index: 1, total: 0n })), Buffer.from(EchoResponse.toBinary({ text: "a", payload: new Uint8Array(0), index: 1, total: 0n }))]);

  before(async () => {
    server = http2.createServer();
    server.on("session", () => sessions++);
    server.on("connection", (sock: Socket) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
    });
    server.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      const path = headers[":path"];
      // what to do is chosen by the text of the first request message
      let body = Buffer.alloc(0);
      let acted = false;
      const act = (text: string) => {
        acted = true;
        if (path !== "/sgtest.client.Echo/Unary" && path !== "/sgtest.client.Echo/ClientStream") {
          stream.respond({ ":status": 404, "content-type": "text/html" });
          return stream.end("<h1>not here</h1>");
        }
        switch (text) {
          case "html":
            stream.respond({ ":status": 200, "content-type": "text/html" });
            return stream.end("<html></html>");
          case "503":
            stream.respond({ ":status": 503 }, { endStream: true });
            return;
          case "zero":
          case "two":
          case "no-status":
          case "truncated":
          case "trailers-only": {
            if (text === "trailers-only") {
              stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "7", "grpc-message": "only%20trailers", "x-t": "1" }, { endStream: true });
              return;
            }
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: text !== "no-status" });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            if (text === "two") stream.write(Buffer.concat([one, one]));
            if (text === "truncated") stream.write(one.subarray(0, one.length - 1));
            return stream.end();
          }
          case "gzip":
            // compresses although the client offered identity only
            stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-encoding": "gzip" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            return stream.end(Buffer.concat([Buffer.from([1]), one.subarray(1)]));
          case "goaway":
            // answers, then tells the client to go away (no new streams on this connection)
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => {
              stream.sendTrailers({ "grpc-status": "0" });
              stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR);
            });
            return stream.end(one);
          case "drop":
            // the connection dies mid-response
            stream.respond({ ":status": 200, "content-type": "application/grpc" });
            stream.write(one.subarray(0, 3));
            setTimeout(() => {
              for (const sock of sockets) sock.destroy();
            }, 10);
            return;
          case "cancel":
          case "reset":
            // (asked by a client-streaming call whose requests go on: with the client's side
            // ended, node would end ours cleanly first and the reset would not be sent)
            stream.respond({ ":status": 200, "content-type": "application/grpc" });
            stream.write(one.subarray(0, 3));
            setTimeout(() => stream.close(text === "cancel" ? http2.constants.NGHTTP2_CANCEL : http2.constants.NGHTTP2_INTERNAL_ERROR), 10);
            return;
          default:
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            return stream.end(one);
        }
      };
      stream.on("data", (d: Buffer) => {
        if (acted) return;
        body = Buffer.concat([body, d]);
        if (body.length >= 5 && body.length >= 5 + body.readUInt32BE(1)) act(EchoRequest.fromBinary(body.subarray(5, 5 + body.readUInt32BE(1))).text);
      });
      stream.on("end", () => {
        if (!acted) act("");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    ch = createChannel(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    c = createClient(Echo, ch);
  });

  after(async () => {
    ch?.close();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("after a GOAWAY the next call opens a new connection; a connection that dies mid-call fails UNAVAILABLE", async () => {
    assert.equal((await c.unary(req({ text: "ok" }))).text, "a");
    const before = sessions;
    assert.equal((await c.unary(req({ text: "goaway" }))).text, "a");
    await sleep(20);
    assert.equal((await c.unary(req({ text: "ok" }))).text, "a");
    assert.equal(sessions, before + 1, "one new connection after the GOAWAY");
    await rejectsWith(c.unary(req({ text: "drop" })), Status.UNAVAILABLE, /closed during the call|failed/);
    assert.equal((await c.unary(req({ text: "ok" }))).text, "a");
    assert.equal(sessions, before + 2);
  });

  it("a well-formed reply works (the control case)", async () => {
    assert.equal((await c.unary(req({ text: "ok" }))).text, "a");
  });

  it("maps a non-gRPC reply by its HTTP status or content-type", async () => {
    const Other = defineService<{ x: MethodType<EchoRequest, EchoResponse, "unary"> }>("sgtest.client.Other", { x: { name: "X", kind: "unary", input: EchoRequest, output: EchoResponse } });
    await rejectsWith(createClient(Other, ch).x(req({})), Status.UNIMPLEMENTED, /HTTP status 404/);
    await rejectsWith(c.unary(req({ text: "503" })), Status.UNAVAILABLE, /503/);
    await rejectsWith(c.unary(req({ text: "html" })), Status.UNKNOWN, /content-type "text\/html"/);
  });

  it("a response compressed with an encoding the client did not offer fails INTERNAL", async () => {
    await rejectsWith(c.unary(req({ text: "gzip" })), Status.INTERNAL, /"gzip", which was not offered/);
  });

  it("a unary call answered with zero or two messages fails UNIMPLEMENTED", async () => {
    await rejectsWith(c.unary(req({ text: "zero" })), Status.UNIMPLEMENTED, /no response message/);
    await rejectsWith(c.unary(req({ text: "two" })), Status.UNIMPLEMENTED, /too many responses/);
  });

  it("reads the status of a trailers-only response, and its metadata", async () => {
    const err = await rejectsWith(c.unary(req({ text: "trailers-only" })), Status.PERMISSION_DENIED, /^only trailers$/);
    assert.equal(err.metadata!.get("x-t"), "1");
  });

  it("a response without grpc-status fails; a truncated message fails INTERNAL; a reset mid-message fails INTERNAL", async () => {
    await rejectsWith(c.unary(req({ text: "no-status" })), Status.INTERNAL, /without a gRPC status/);
    await rejectsWith(c.unary(req({ text: "truncated" })), Status.INTERNAL, /ended inside a message/);
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    async function* requests() {
      yield req({ text: "reset" });
      await held;
    }
    await rejectsWith(c.clientStream(requests()), Status.INTERNAL, /RST_STREAM with code 2/);
    async function* cancelled() {
      yield req({ text: "cancel" });
      await held;
    }
    await rejectsWith(c.clientStream(cancelled()), Status.CANCELLED, /server cancelled/);
    release();
    // and the connection still serves
    assert.equal((await c.unary(req({ text: "ok" }))).text, "a");
  });
});

describe("what node:http2 does with a request's segments (observed on the wire)", function () {
  // A TCP proxy between the client and a grpc-js server parses the client's HTTP/2 frames.
  let server: grpc.Server;
  let proxy: Server;
  let ch: Channel;
  let c: ReturnType<typeof createClient<typeof Echo>>;
  let frames: { type: number; flags: number; length: number }[] = [];
  const received: Uint8Array[] = [];
  const conns = new Set<Socket>();

  before(async () => {
    const s = await startGrpcJs({
      unary(call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>, cb: grpc.sendUnaryData<EchoResponse>) {
        received.push(call.request.payload);
        cb(null, { text: "", payload: new Uint8Array(0), index: 0, total: 0n });
      },
    });
    server = s.server;
    proxy = createServer((down) => {
      const up = connect(s.port, "127.0.0.1");
      conns.add(down).add(up);
      let buf = Buffer.alloc(0);
      let preface = false;
      down.on("data", (d: Buffer) => {
        up.write(d);
        buf = Buffer.concat([buf, d]);
        if (!preface && buf.length >= 24) {
          buf = buf.subarray(24);
          preface = true;
        }
        while (preface && buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
          frames.push({ length: buf.readUIntBE(0, 3), type: buf[3]!, flags: buf[4]! });
          buf = buf.subarray(9 + buf.readUIntBE(0, 3));
        }
      });
      up.on("data", (d: Buffer) => down.write(d));
      for (const [a, b] of [[down, up], [up, down]] as const) {
        a.on("error", () => {});
        a.on("close", () => b.destroy());
      }
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    ch = createChannel(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    c = createClient(Echo, ch);
    await c.unary(req({ text: "warm-up" }));
  });

  after(async () => {
    ch?.close();
    for (const s of conns) s.destroy();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await stopGrpcJs(server);
  });

  it("a message written as segments goes out in DATA frames that span segment boundaries, each up to the 16 KiB frame size", async () => {
    const payload = pattern(16 * 1024, 1);
    const msg = req({ text: "frames", payload, repeat: 1 });
    const list = EchoRequest.encode(msg);
    // scratch (tags, text), the payload itself (referenced), scratch (repeat)
    assert.deepEqual(list.segments.map((x) => x.length), [12, 16 * 1024, 2]);
    assert.equal(list.segments[1], payload);
    frames = [];
    await c.unary(msg);
    const data = frames.filter((f) => f.type === 0);
    // 5 + 12 + 16384 + 2 bytes: not one frame per segment, but a full first frame and the rest
    assert.deepEqual(data.map((f) => f.length), [16384, 5 + 12 + 16 * 1024 + 2 - 16384]);
    assert.equal(data[1]!.flags & 1, 1, "END_STREAM rides on the last DATA frame");
  });

  it("the referenced bytes are sent from the caller's memory: node:http2 does not copy them when they are written", async () => {
    const payload = pattern(64 * 1024, 2);
    received.length = 0;
    const p = c.unary(req({ text: "no-copy", payload }));
    // the call has written its request; node sends it later in this turn of the event loop
    payload.fill(0xab);
    await p;
    assert.equal(received.length, 1);
    assert.ok(received[0]!.every((b) => b === 0xab), "the server got the bytes as they were when sent, not when written");
  });
});
