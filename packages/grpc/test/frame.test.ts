// gRPC's 5-byte message framing (src/frame.ts) and the header helpers (src/headers.ts): messages
// split across chunks at every byte, views of the received chunk rather than copies, limits,
// flags, truncation; what writeMessage puts on a stream; metadata, grpc-timeout and grpc-message.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import {
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, GrpcError, MessageReader, Metadata, Status, decodeGrpcMessage, encodeGrpcMessage,
  encodeTimeout, messagePrefix, metadataFromRawHeaders, metadataToHeaders, parseTimeout, statusFromHttp, writeMessage,
} from "../src/index.js";
import { EchoRequest } from "./gen/client-echo.sg.js";
// payloads with a prime period: a dropped, repeated or reordered chunk shows
import { pattern } from "./interop/scenarios.js";

/** Same bytes (a Buffer view and a Uint8Array compare equal). */
function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what = "bytes"): void {
  assert.ok(actual !== undefined, `${what}: missing`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), `${what}: content differs`);
}

function frame(...messages: Uint8Array[]): Uint8Array {
  return Buffer.concat(messages.flatMap((m) => [messagePrefix(m.length), m]));
}

function collect(max = DEFAULT_MAX_RECEIVE_MESSAGE_BYTES): { reader: MessageReader; got: Uint8Array[] } {
  const got: Uint8Array[] = [];
  return { reader: new MessageReader(max, (b) => got.push(b)), got };
}

function grpcError(code: Status, details: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof GrpcError, `expected a GrpcError, got ${String(err)}`);
    assert.equal(err.code, code, `status ${Status[err.code]}: ${err.details}`);
    assert.match(err.details, details);
    return true;
  };
}

/** A Writable that records each chunk it is handed and whether writes came as one writev. */
class Recorder extends Writable {
  chunks: Uint8Array[] = [];
  writevCalls = 0;
  writeCalls = 0;
  constructor(highWaterMark = 16384) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeCalls++;
    this.chunks.push(chunk);
    setImmediate(cb);
  }
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.writevCalls++;
    for (const c of chunks) this.chunks.push(c.chunk);
    setImmediate(cb);
  }
}

describe("frame: messagePrefix", () => {
  it("writes the flag and the big-endian length", () => {
    assert.deepEqual([...messagePrefix(0)], [0, 0, 0, 0, 0]);
    assert.deepEqual([...messagePrefix(0x01020304)], [0, 1, 2, 3, 4]);
    assert.deepEqual([...messagePrefix(0xffffffff, true)], [1, 255, 255, 255, 255]);
  });

  it("refuses lengths that do not fit the prefix, naming the value", () => {
    assert.throws(() => messagePrefix(-1), /from 0 to 4294967295, got -1/);
    assert.throws(() => messagePrefix(2 ** 32), /got 4294967296/);
    assert.throws(() => messagePrefix(1.5), /got 1.5/);
  });
});

describe("frame: MessageReader", () => {
  const messages = [pattern(0, 0), pattern(1, 1), pattern(300, 2), pattern(5, 3), pattern(70000, 4)];
  const wire = frame(...messages);

  it("decodes messages inside one chunk as views of that chunk (no copy)", () => {
    const { reader, got } = collect();
    const chunk = Buffer.from(wire); // a chunk with its own ArrayBuffer, as node:http2 hands out
    reader.push(chunk);
    reader.end();
    assert.equal(got.length, messages.length);
    for (let i = 0; i < messages.length; i++) {
      sameBytes(got[i], messages[i]!, `message ${i}`);
      if (messages[i]!.length > 0) {
        assert.equal(got[i]!.buffer, chunk.buffer, `message ${i} is a view of the chunk`);
      }
    }
    // views at the right offsets: the 300-byte message starts after two prefixes, 0 and 1 bytes
    assert.equal(got[2]!.byteOffset, chunk.byteOffset + 5 + 5 + 1 + 5);
    assert.equal(reader.buffered, 0);
  });

  it("reassembles every message when the data is split at every byte offset", () => {
    const small = frame(pattern(0, 9), pattern(3, 8), pattern(17, 7), pattern(2, 6));
    for (let cut = 0; cut <= small.length; cut++) {
      for (let cut2 = cut; cut2 <= small.length; cut2 += 3) {
        const { reader, got } = collect();
        reader.push(small.subarray(0, cut));
        reader.push(small.subarray(cut, cut2));
        reader.push(small.subarray(cut2));
        reader.end();
        assert.deepEqual(got.map((g) => [...g]), [[], [...pattern(3, 8)], [...pattern(17, 7)], [...pattern(2, 6)]], `cuts at ${cut}, ${cut2}`);
      }
    }
  });

  it("reassembles when fed one byte at a time, into one buffer of the message's exact length", () => {
    const { reader, got } = collect();
    const one = frame(pattern(1000, 5));
    for (let i = 0; i < one.length; i++) {
      reader.push(one.subarray(i, i + 1));
      if (i < one.length - 1) assert.equal(reader.buffered, i + 1);
    }
    reader.end();
    assert.equal(got.length, 1);
    sameBytes(got[0], pattern(1000, 5));
    assert.equal(got[0]!.length, 1000);
    assert.equal(got[0]!.buffer.byteLength, 1000);
  });

  it("splits a large message over many chunks and keeps messages after it as views", () => {
    const big = pattern(DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, 11);
    const tail = pattern(64, 12);
    const data = Buffer.from(frame(big, tail));
    const { reader, got } = collect();
    // 16 KiB chunks, as DATA frames arrive, then the last chunk holds the end of `big` and `tail`
    let last: Uint8Array | undefined;
    for (let off = 0; off < data.length; off += 16384) reader.push((last = new Uint8Array(data.subarray(off, off + 16384))));
    reader.end();
    assert.equal(got.length, 2);
    sameBytes(got[0], big);
    sameBytes(got[1], tail);
    assert.equal(got[1]!.buffer, last!.buffer, "the message after it is a view of the last chunk");
    assert.equal(got[0]!.buffer.byteLength, big.length, "the split message has a buffer of its exact length");
  });

  it("accepts a message exactly at the limit and refuses one byte more before allocating", () => {
    const { reader, got } = collect(100);
    reader.push(frame(pattern(100, 1)));
    assert.equal(got.length, 1);
    const prefixOnly = messagePrefix(101);
    assert.throws(() => reader.push(prefixOnly), grpcError(Status.RESOURCE_EXHAUSTED, /101 bytes, larger than the limit of 100 bytes/));
    assert.equal(reader.buffered, 0, "nothing held for the refused message");
    // the reader stays failed
    assert.throws(() => reader.push(frame(pattern(1, 1))), grpcError(Status.RESOURCE_EXHAUSTED, /limit/));
    assert.throws(() => reader.end(), grpcError(Status.RESOURCE_EXHAUSTED, /limit/));
  });

  it("refuses a 4 GiB prefix without allocating it", () => {
    const { reader } = collect();
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => reader.push(messagePrefix(0xffffffff)), grpcError(Status.RESOURCE_EXHAUSTED, /4294967295 bytes/));
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  });

  it("refuses a prefix past the limit even when it arrives one byte at a time", () => {
    const { reader } = collect(10);
    const p = messagePrefix(11);
    for (let i = 0; i < 4; i++) reader.push(p.subarray(i, i + 1));
    assert.throws(() => reader.push(p.subarray(4)), grpcError(Status.RESOURCE_EXHAUSTED, /11 bytes/));
  });

  it("refuses a compressed message (no grpc-encoding negotiated) and other flag bytes", () => {
    const compressed = Buffer.concat([messagePrefix(3, true), Buffer.from([1, 2, 3])]);
    assert.throws(() => collect().reader.push(compressed), grpcError(Status.INTERNAL, /compressed message, but no grpc-encoding was negotiated/));
    const bad = Buffer.from([7, 0, 0, 0, 0]);
    assert.throws(() => collect().reader.push(bad), grpcError(Status.INTERNAL, /invalid gRPC message flag byte 7/));
  });

  it("reports a message truncated at the end of the stream, inside the body or the prefix", () => {
    const whole = frame(pattern(50, 1));
    const a = collect();
    a.reader.push(whole.subarray(0, 30));
    assert.throws(() => a.reader.end(), grpcError(Status.INTERNAL, /ended inside a message: 25 of its 50 bytes/));
    const b = collect();
    b.reader.push(whole.subarray(0, 3));
    assert.throws(() => b.reader.end(), grpcError(Status.INTERNAL, /inside a message prefix: 3 of its 5 bytes/));
    const c = collect();
    c.reader.end(); // no data at all is no message, not an error
    assert.equal(c.got.length, 0);
  });

  it("lets an error of onMessage through and continues after that message", () => {
    let calls = 0;
    const seen: number[] = [];
    const reader = new MessageReader(1000, (b) => {
      calls++;
      if (calls === 1) throw new Error("consumer failed");
      seen.push(b.length);
    });
    const data = frame(pattern(1, 0), pattern(2, 0));
    assert.throws(() => reader.push(data), /consumer failed/);
    reader.push(data.subarray(6));
    assert.deepEqual(seen, [2]);
  });

  it("checks its arguments", () => {
    assert.throws(() => new MessageReader(-1, () => {}), /maxReceiveBytes must be a number >= 0, got -1/);
    assert.throws(() => new MessageReader(10, null as unknown as () => void), /onMessage must be a function/);
  });
});

describe("frame: writeMessage", () => {
  it("writes the prefix and the SgList's segments as they are, in one writev, large fields not copied", async () => {
    const payload = pattern(64 * 1024, 3);
    const msg = { text: "hello", payload, repeat: 2, failCode: 0, delayMs: 0, responseSize: 0 };
    const rec = new Recorder(1 << 20);
    const ok = writeMessage(rec, EchoRequest, msg);
    assert.equal(ok, true);
    await new Promise<void>((resolve) => rec.end(resolve));
    assert.equal(rec.writevCalls, 1, "corked writes go out as one writev");
    assert.ok(rec.chunks.length >= 3, `prefix + scratch + payload, got ${rec.chunks.length} chunks`);
    const referenced = rec.chunks.find((c) => c.buffer === payload.buffer);
    assert.ok(referenced !== undefined, "the payload's own memory is handed to the stream");
    assert.equal(referenced.byteLength, payload.byteLength);
    const all = Buffer.concat(rec.chunks);
    const expected = EchoRequest.toBinary(msg);
    assert.deepEqual([...all.subarray(0, 5)], [...messagePrefix(expected.length)]);
    assert.ok(all.subarray(5).equals(expected));
    // and a reader decodes what was written
    const { reader, got } = collect();
    reader.push(all);
    sameBytes(EchoRequest.fromBinary(got[0]!).payload, payload);
  });

  it("puts the prefix in front of the encoder's scratch: a small message is one Buffer, one write", async () => {
    const rec = new Recorder();
    const msg = EchoRequest.create({ text: "small", repeat: 3 });
    writeMessage(rec, EchoRequest, msg);
    await new Promise<void>((resolve) => rec.end(resolve));
    assert.equal(rec.chunks.length, 1);
    assert.equal(rec.writeCalls, 1);
    const expected = EchoRequest.toBinary(msg);
    assert.ok(Buffer.from(rec.chunks[0]!).equals(Buffer.concat([messagePrefix(expected.length), expected])));
  });

  it("stays correct whatever the scratch a type's messages need, small after large and back", async () => {
    const sizes = [10, 5000, 3, 100000, 0, 200, 4090, 4100, 1];
    const rec = new Recorder(1 << 24);
    const msgs = sizes.map((n, i) => EchoRequest.create({ text: "x".repeat(n), repeat: i }));
    for (const m of msgs) writeMessage(rec, EchoRequest, m);
    await new Promise<void>((resolve) => rec.end(resolve));
    const got: Uint8Array[] = [];
    const reader = new MessageReader(1 << 20, (b) => got.push(b));
    for (const c of rec.chunks) reader.push(c);
    reader.end();
    assert.equal(got.length, msgs.length);
    for (let i = 0; i < msgs.length; i++) sameBytes(got[i], EchoRequest.toBinary(msgs[i]!), `message ${i}`);
  });

  it("writes an empty message as a bare prefix", async () => {
    const rec = new Recorder();
    writeMessage(rec, EchoRequest, EchoRequest.create());
    await new Promise<void>((resolve) => rec.end(resolve));
    assert.deepEqual([...Buffer.concat(rec.chunks)], [0, 0, 0, 0, 0]);
  });

  it("returns false once the stream's buffer is full", () => {
    const rec = new Recorder(1024);
    const msg = EchoRequest.create({ payload: pattern(4096, 1) });
    assert.equal(writeMessage(rec, EchoRequest, msg), false);
    rec.destroy();
  });

  it("refuses a message past maxSendBytes with RESOURCE_EXHAUSTED, writing nothing", () => {
    const rec = new Recorder();
    const msg = EchoRequest.create({ payload: pattern(2000, 1) });
    assert.throws(() => writeMessage(rec, EchoRequest, msg, 1000), grpcError(Status.RESOURCE_EXHAUSTED, /of 200[0-9] bytes is larger than the send limit of 1000 bytes \(sgtest.client.EchoRequest\)/));
    assert.equal(rec.writableLength, 0);
    rec.destroy();
  });
});

describe("headers", () => {
  it("reads metadata from raw headers: skips pseudo and reserved headers, decodes -bin values", () => {
    const md = metadataFromRawHeaders([
      ":path", "/a.B/C", ":authority", "x", "content-type", "application/grpc", "te", "trailers", "grpc-timeout", "1S",
      "x-user", "ada", "x-user", "bob", "trace-bin", "AAEC/w==", "trace-bin", "AAEC_w", "multi-bin", "AQ,AgM=, BA",
    ]);
    assert.deepEqual([...md.keys()], ["x-user", "trace-bin", "multi-bin"]);
    assert.deepEqual(md.getAll("x-user"), ["ada", "bob"]);
    assert.deepEqual(md.getAll("trace-bin").map((v) => [...(v as Uint8Array)]), [[0, 1, 2, 255], [0, 1, 2, 255]]);
    assert.deepEqual(md.getAll("multi-bin").map((v) => [...(v as Uint8Array)]), [[1], [2, 3], [4]]);
  });

  it("skips header fields that are not valid metadata instead of throwing", () => {
    const md = metadataFromRawHeaders(["Bad Key", "v", "x-ok", "1", "x-bad-value", "caf\u00e9", "x-bad-bin", "!!!", "x-short-bin", "A", "dangling"]);
    assert.deepEqual(md.toJSON(), { "x-ok": ["1"] });
  });

  it("writes metadata into a header object: several values as an array, -bin as unpadded base64", () => {
    const md = new Metadata().add("x-user", "ada").add("x-user", "bob").add("one", "1").add("blob-bin", new Uint8Array([0, 1, 2, 255]));
    const into: Record<string, string | string[]> = { ":status": "200", one: "0" };
    metadataToHeaders(md, into);
    assert.deepEqual(into, { ":status": "200", one: ["0", "1"], "x-user": ["ada", "bob"], "blob-bin": "AAEC/w" });
    // and back
    const raw = Object.entries(into).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, v]));
    const back = metadataFromRawHeaders(raw);
    assert.deepEqual(back.toJSON(), { one: ["0", "1"], "x-user": ["ada", "bob"], "blob-bin": ["AAEC/w=="] });
  });

  it("encodes grpc-timeout in at most 8 digits, the finest unit that fits, rounded up", () => {
    assert.equal(encodeTimeout(1500), "1500m");
    assert.equal(encodeTimeout(99_999_999), "99999999m");
    assert.equal(encodeTimeout(100_000_000), "100000S");
    assert.equal(encodeTimeout(0.25), "250000n");
    assert.equal(encodeTimeout(1234.5), "1234500u");
    assert.equal(encodeTimeout(0), "1n");
    assert.equal(encodeTimeout(-5), "1n");
    assert.equal(encodeTimeout(Infinity), "99999999H");
    for (const ms of [1, 7.3, 999.9999, 1e5, 1e8 + 1, 1e11 + 7, 3.6e12]) {
      const s = encodeTimeout(ms);
      assert.match(s, /^\d{1,8}[HMSmun]$/);
      const back = parseTimeout(s)!;
      assert.ok(back >= ms && back <= ms * 1.001 + 1e-6, `${ms} -> ${s} -> ${back}`);
    }
    assert.throws(() => encodeTimeout(NaN), /expected a number of milliseconds, got NaN/);
  });

  it("parses grpc-timeout, refusing malformed values", () => {
    assert.equal(parseTimeout("2H"), 7_200_000);
    assert.equal(parseTimeout("3M"), 180_000);
    assert.equal(parseTimeout("10S"), 10_000);
    assert.equal(parseTimeout("250m"), 250);
    assert.equal(parseTimeout("1500u"), 1.5);
    assert.equal(parseTimeout("2000000n"), 2);
    for (const bad of ["", "10", "m", "123456789m", "1.5S", "-1S", "10s", " 1S", "1S ", "10x"]) {
      assert.equal(parseTimeout(bad), undefined, JSON.stringify(bad));
    }
  });

  it("percent-encodes grpc-message and decodes it leniently", () => {
    assert.equal(encodeGrpcMessage("plain text: ok!"), "plain text: ok!");
    assert.equal(encodeGrpcMessage("100% done"), "100%25 done");
    assert.equal(encodeGrpcMessage("caf\u00e9\n\u{1f600}"), "caf%C3%A9%0A%F0%9F%98%80");
    for (const s of ["", "a%b", "caf\u00e9\n\ttab", "\u{1f600} \u0000 end", "%%%"]) assert.equal(decodeGrpcMessage(encodeGrpcMessage(s)), s);
    assert.equal(decodeGrpcMessage("50%"), "50%");
    assert.equal(decodeGrpcMessage("%zz%4"), "%zz%4");
    assert.equal(decodeGrpcMessage("%c3%a9"), "\u00e9");
    assert.equal(decodeGrpcMessage("%FF"), "\ufffd");
  });

  it("maps HTTP statuses to gRPC statuses as the protocol says", () => {
    assert.equal(statusFromHttp(400), Status.INTERNAL);
    assert.equal(statusFromHttp(401), Status.UNAUTHENTICATED);
    assert.equal(statusFromHttp(403), Status.PERMISSION_DENIED);
    assert.equal(statusFromHttp(404), Status.UNIMPLEMENTED);
    for (const s of [429, 502, 503, 504]) assert.equal(statusFromHttp(s), Status.UNAVAILABLE);
    for (const s of [200, 415, 500, 302]) assert.equal(statusFromHttp(s), Status.UNKNOWN);
  });
});
