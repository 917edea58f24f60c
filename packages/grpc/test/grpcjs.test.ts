// sgwire codecs inside @grpc/grpc-js (toGrpcJsService, grpcJsCodecs): grpc-js clients and servers
// using them talk to grpc-js peers that use @grpc/proto-loader for the same .proto, for the four
// method kinds, and write the same bytes protobufjs writes.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { EncodeError } from "@sgwire/core";
import { grpcJsCodecs, toGrpcJsService } from "../src/index.js";
import { Echo, EchoRequest, EchoResponse } from "./gen/client-echo.sg.js";
import { pattern as patternBytes } from "./interop/scenarios.js";

const PROTO = fileURLToPath(new URL("./client.proto", import.meta.url));
// proto-loader's messages: camelCase fields, bytes as Buffer, uint64 as a decimal string
const packageDef = protoLoader.loadSync(PROTO, { longs: String, defaults: true });
const loaded = grpc.loadPackageDefinition(packageDef) as unknown as {
  sgtest: { client: { Echo: grpc.ServiceClientConstructor } };
};
const LoaderEcho = loaded.sgtest.client.Echo;
const sgDef = toGrpcJsService(Echo);
const SgEchoClient = grpc.makeGenericClientConstructor(sgDef, "Echo");

/** A payload whose bytes depend on `seed`, so a shifted or mixed-up copy is caught. */
/** The suite's payloads: interop's pattern (a prime period, so a dropped, repeated or reordered chunk shows), as a Buffer. */
function pattern(n: number, seed: number): Buffer {
  const b = patternBytes(n, seed);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

// One implementation for both servers; `total` converts a count to the uint64 representation
// of that side (bigint for sgwire, a decimal string for proto-loader with longs: String).
type Msg = { text: string; payload: Uint8Array; repeat?: number; index?: number; total?: unknown };
function echoImpl(total: (n: number) => unknown): grpc.UntypedServiceImplementation {
  const reply = (req: Msg, index: number, n: number) => ({ text: req.text, payload: req.payload, index, total: total(n) });
  return {
    Unary(call: grpc.ServerUnaryCall<Msg, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(null, reply(call.request, 0, call.request.payload.length));
    },
    ServerStream(call: grpc.ServerWritableStream<Msg, unknown>) {
      for (let i = 0; i < (call.request.repeat ?? 0); i++) call.write(reply(call.request, i, i));
      call.end();
    },
    ClientStream(call: grpc.ServerReadableStream<Msg, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const texts: string[] = [];
      let bytes = 0;
      call.on("data", (m: Msg) => {
        texts.push(m.text);
        bytes += m.payload.length;
      });
      call.on("end", () => cb(null, { text: texts.join(","), payload: Buffer.alloc(0), index: texts.length, total: total(bytes) }));
    },
    Bidi(call: grpc.ServerDuplexStream<Msg, unknown>) {
      let i = 0;
      call.on("data", (m: Msg) => call.write(reply(m, i++, m.payload.length)));
      call.on("end", () => call.end());
    },
  };
}

async function startServer(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 8 << 20, "grpc.max_send_message_length": 8 << 20 });
  server.addService(def, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

const clientOptions = { "grpc.max_receive_message_length": 8 << 20, "grpc.max_send_message_length": 8 << 20 };

function unary(client: grpc.Client, method: string, req: unknown): Promise<Msg> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, (r: unknown, cb: (e: Error | null, v: Msg) => void) => void>)[method]!(req, (e, v) => (e ? reject(e) : resolve(v))),
  );
}

function collect(stream: NodeJS.ReadableStream): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const out: Msg[] = [];
    stream.on("data", (m: Msg) => out.push(m));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });
}

describe("grpc-js with sgwire codecs", () => {
  const sgSeen = { payloadIsView: [] as boolean[] };
  let sgServer: { server: grpc.Server; address: string };
  let loaderServer: { server: grpc.Server; address: string };
  const clients: grpc.Client[] = [];

  before(async () => {
    // the sgwire server's unary deserializer notes whether the payload is a view of grpc-js's Buffer
    const watched = {
      ...sgDef,
      unary: {
        ...sgDef.unary,
        requestDeserialize(b: Buffer): EchoRequest {
          const m = sgDef.unary.requestDeserialize(b);
          sgSeen.payloadIsView.push(m.payload.length === 0 || (m.payload.buffer === b.buffer && m.payload.byteOffset >= b.byteOffset));
          return m;
        },
      },
    };
    sgServer = await startServer(watched as unknown as grpc.ServiceDefinition, echoImpl((n) => BigInt(n)));
    loaderServer = await startServer(LoaderEcho.service, echoImpl((n) => String(n)));
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const s of [sgServer, loaderServer]) {
      if (s !== undefined) await new Promise<void>((resolve) => s.server.tryShutdown(() => resolve()));
    }
  });

  function sgClient(address: string): grpc.Client {
    const c = new SgEchoClient(address, grpc.credentials.createInsecure(), clientOptions);
    clients.push(c);
    return c;
  }
  function loaderClient(address: string): grpc.Client {
    const c = new LoaderEcho(address, grpc.credentials.createInsecure(), clientOptions);
    clients.push(c);
    return c;
  }

  it("describes each method as grpc-js expects: local-name keys, path, stream flags, the .proto name", () => {
    assert.deepEqual(Object.keys(sgDef), ["unary", "serverStream", "clientStream", "bidi"]);
    for (const [key, loaderKey] of [["unary", "Unary"], ["serverStream", "ServerStream"], ["clientStream", "ClientStream"], ["bidi", "Bidi"]] as const) {
      const ours = sgDef[key];
      const theirs = LoaderEcho.service[loaderKey]!;
      assert.equal(ours.path, theirs.path);
      assert.equal(ours.requestStream, theirs.requestStream, `${key}.requestStream`);
      assert.equal(ours.responseStream, theirs.responseStream, `${key}.responseStream`);
      assert.equal(ours.originalName, loaderKey);
    }
    // the generic client gets both names
    const c = sgClient(loaderServer.address) as unknown as Record<string, unknown>;
    assert.equal(typeof c.unary, "function");
    assert.equal(typeof c.Unary, "function");
  });

  it("serializes byte for byte what proto-loader (protobufjs) writes, and each reads the other's bytes", () => {
    const payload = pattern(3000, 5);
    const cases = [
      { text: "", payload: new Uint8Array(0), index: 0, total: 0 },
      { text: "héllo ✓", payload: pattern(1024, 1), index: 7, total: 1024 },
      { text: "big", payload, index: 4294967295, total: 2 ** 53 - 1 },
    ];
    for (const c of cases) {
      const ours = sgDef.unary.responseSerialize({ text: c.text, payload: c.payload, index: c.index, total: BigInt(c.total) });
      // protobufjs writes a proto3 field at its default when the property is set: leave those out
      const plain: Record<string, unknown> = {};
      if (c.text !== "") plain.text = c.text;
      if (c.payload.length > 0) plain.payload = Buffer.from(c.payload);
      if (c.index !== 0) plain.index = c.index;
      if (c.total !== 0) plain.total = String(c.total);
      const theirs = LoaderEcho.service.Unary!.responseSerialize(plain);
      assert.ok(Buffer.isBuffer(ours));
      assert.deepEqual(ours, theirs, `response ${JSON.stringify(c.text)}`);
      const back = sgDef.unary.responseDeserialize(theirs);
      assert.equal(back.text, c.text);
      assert.deepEqual(Buffer.from(back.payload), Buffer.from(c.payload));
      assert.equal(back.index, c.index);
      assert.equal(back.total, BigInt(c.total));
      const theirsBack = LoaderEcho.service.Unary!.responseDeserialize(ours) as Msg;
      assert.equal(theirsBack.total, String(c.total));
      assert.deepEqual(theirsBack.payload, Buffer.from(c.payload));
    }
    const req = { text: "q", payload: pattern(10, 2), repeat: 3, failCode: 0, delayMs: 9, responseSize: 1 << 20 };
    const { failCode: _zero, ...set } = req;
    assert.deepEqual(sgDef.unary.requestSerialize(req), LoaderEcho.service.Unary!.requestSerialize({ ...set, payload: Buffer.from(req.payload) }));
  });

  it("serializes with one copy into a Buffer of exactly the encoded size, and deserializes into views", () => {
    const payload = pattern(64 * 1024, 3);
    const msg = EchoResponse.create({ text: "one copy", payload, index: 1, total: 65536n });
    const size = EchoResponse.encodedSize(msg);
    const out = sgDef.unary.responseSerialize(msg);
    assert.equal(out.length, size);
    // a Buffer this large has an ArrayBuffer of its own, of exactly its size: nothing over-allocated
    assert.equal(out.buffer.byteLength, size);
    assert.notEqual(out.buffer, payload.buffer);
    assert.deepEqual(Buffer.from(EchoResponse.toBinary(msg)), out);
    // the payload is not touched (encodeInto reads it once into the Buffer)
    assert.deepEqual(payload, pattern(64 * 1024, 3));

    const back = sgDef.unary.responseDeserialize(out);
    assert.equal(back.payload.buffer, out.buffer, "the bytes field is a view of the received Buffer");
    const at = back.payload.byteOffset - out.byteOffset;
    assert.ok(at > 0 && at + payload.length <= size);
    assert.deepEqual(Buffer.from(back.payload), payload);
  });

  it("refuses a message that changed between measuring and writing, naming the type", () => {
    let reads = 0;
    const msg = {
      get text() {
        return reads++ === 0 ? "longer text" : "short";
      },
      payload: new Uint8Array(0),
      index: 0,
      total: 0n,
    } as EchoResponse;
    assert.throws(() => sgDef.unary.responseSerialize(msg), (e: unknown) => e instanceof EncodeError && /sgtest\.client\.EchoResponse/.test(e.message) && /changed/.test(e.message));
    assert.throws(() => grpcJsCodecs(null as never), /expected a generated sgwire message type, got null/);
    assert.throws(() => toGrpcJsService({} as never), /expected a service descriptor/);
    assert.equal(grpcJsCodecs(EchoRequest), grpcJsCodecs(EchoRequest), "codecs are made once per type");
  });

  it("a decode error names the message type", () => {
    // field 2 (bytes) with a length past the end
    assert.throws(() => sgDef.unary.requestDeserialize(Buffer.from([0x12, 0x05, 0x01])), /sgtest\.client\.EchoRequest/);
  });

  for (const [label, client, server] of [
    ["sgwire-codec client -> proto-loader server", "sg", "loader"],
    ["proto-loader client -> sgwire-codec server", "loader", "sg"],
    ["sgwire-codec client -> sgwire-codec server", "sg", "sg"],
  ] as const) {
    describe(label, () => {
      const total = (n: number): unknown => (client === "sg" ? BigInt(n) : String(n));
      const bytes = (b: Uint8Array): Uint8Array => (client === "sg" ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      let c: grpc.Client;
      before(() => {
        const address = server === "sg" ? sgServer.address : loaderServer.address;
        c = client === "sg" ? sgClient(address) : loaderClient(address);
      });

      for (const size of [0, 1024, 4 * 1024 * 1024]) {
        it(`unary with a ${size} B payload`, async () => {
          const payload = pattern(size, size & 0xff);
          const res = await unary(c, "Unary", { text: `u${size}`, payload: bytes(payload) });
          assert.equal(res.text, `u${size}`);
          assert.equal(res.payload.length, size);
          assert.ok(Buffer.from(res.payload).equals(payload));
          assert.equal(res.total, total(size));
        });
      }

      it("server streaming", async () => {
        const got = await collect((c as unknown as { ServerStream(r: unknown): grpc.ClientReadableStream<Msg> }).ServerStream({ text: "s", payload: bytes(pattern(100, 9)), repeat: 5 }));
        assert.deepEqual(got.map((m) => m.index), [0, 1, 2, 3, 4]);
        assert.deepEqual(got.map((m) => m.total), [0, 1, 2, 3, 4].map(total));
        for (const m of got) assert.ok(Buffer.from(m.payload).equals(pattern(100, 9)));
      });

      it("client streaming", async () => {
        const res = await new Promise<Msg>((resolve, reject) => {
          const call = (c as unknown as { ClientStream(cb: (e: Error | null, v: Msg) => void): grpc.ClientWritableStream<unknown> }).ClientStream((e, v) => (e ? reject(e) : resolve(v)));
          for (let i = 0; i < 4; i++) call.write({ text: `m${i}`, payload: bytes(pattern(1000 * i, i)) });
          call.end();
        });
        assert.equal(res.text, "m0,m1,m2,m3");
        assert.equal(res.index, 4);
        assert.equal(res.total, total(6000));
      });

      it("bidi streaming", async () => {
        const call = (c as unknown as { Bidi(): grpc.ClientDuplexStream<unknown, Msg> }).Bidi();
        const done = collect(call);
        for (let i = 0; i < 3; i++) call.write({ text: `b${i}`, payload: bytes(pattern(i * 500, 40 + i)) });
        call.end();
        const got = await done;
        assert.deepEqual(got.map((m) => [m.text, m.index, m.total]), [0, 1, 2].map((i) => [`b${i}`, i, total(i * 500)]));
        got.forEach((m, i) => assert.ok(Buffer.from(m.payload).equals(pattern(i * 500, 40 + i))));
      });
    });
  }

  describe("afterwards", () => {
    it("the sgwire-codec server decoded every unary request's payload as a view of grpc-js's Buffer", () => {
      // 2 clients x 3 sizes; the 0 B payloads share no memory with anything
      assert.equal(sgSeen.payloadIsView.length, 6);
      assert.ok(sgSeen.payloadIsView.every(Boolean), JSON.stringify(sgSeen.payloadIsView));
    });
  });
});
