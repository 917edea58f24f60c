import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { ConformanceRequest, ConformanceResponse, WireFormat, TestCategory } from "../src/gen/conformance/conformance.sg.js";
import { TestAllTypesProto3 } from "../src/gen/google/protobuf/test_messages_proto3.sg.js";

// The testee speaks the runner's protocol on its own: these tests drive bin/testee directly, so a
// protocol mistake shows here with a readable message instead of a runner abort.
const TESTEE = new URL("../bin/testee", import.meta.url).pathname;
const P3 = "protobuf_test_messages.proto3.TestAllTypesProto3";

function frame(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  out.set(bytes, 4);
  return out;
}

/** Sends requests to a fresh testee, returns its responses (and checks it exits cleanly). */
function exchange(requests: Partial<ConformanceRequest>[], env: Record<string, string> = {}): ConformanceResponse[] {
  const input = Buffer.concat(requests.map((r) => frame(ConformanceRequest.toBinary(ConformanceRequest.create(r)))));
  const p = spawnSync(TESTEE, [], { input, env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  assert.equal(p.status, 0, `testee exited with ${p.status}: ${p.stderr.toString()}`);
  const out: ConformanceResponse[] = [];
  const buf = new Uint8Array(p.stdout);
  for (let pos = 0; pos < buf.length; ) {
    const len = new DataView(buf.buffer, buf.byteOffset + pos).getUint32(0, true);
    out.push(ConformanceResponse.fromBinary(buf.subarray(pos + 4, pos + 4 + len)));
    pos += 4 + len;
  }
  return out;
}

const binary = (bytes: Uint8Array, messageType = P3): Partial<ConformanceRequest> => ({
  payload: { case: "protobufPayload", value: bytes },
  requestedOutputFormat: WireFormat.PROTOBUF,
  messageType,
  testCategory: TestCategory.BINARY_TEST,
});

describe("testee protocol", () => {
  it("answers binary requests with the re-encoded message, in order", () => {
    const big = new Uint8Array(2000).fill(7);
    const msg = TestAllTypesProto3.create({ optionalInt32: 150, optionalBytes: big, optionalString: "hi" });
    const wire = TestAllTypesProto3.toBinary(msg);
    for (const env of [{}, { SGW_COPY_THRESHOLD: "0" }, { SGW_COPY_THRESHOLD: "0", SGW_MAX_SEGMENTS: "2" }]) {
      const [a, b] = exchange([binary(wire), binary(Uint8Array.of(0x08, 0x01))], env);
      assert.equal(a!.result?.case, "protobufPayload");
      assert.deepEqual(a!.result?.value, wire);
      assert.deepEqual(b!.result?.value, Uint8Array.of(0x08, 0x01));
    }
  });

  it("reports malformed input as parse_error", () => {
    const [r] = exchange([binary(Uint8Array.of(0x08))]);
    assert.equal(r!.result?.case, "parseError");
    assert.match(r!.result?.value as string, /truncated varint/);
  });

  it("answers JSON input and output: JSON->JSON, JSON->binary, binary->JSON", () => {
    const wire = TestAllTypesProto3.toBinary(TestAllTypesProto3.create({ optionalInt64: 9007199254740993n, optionalString: "s" }));
    const json = (value: string, out: WireFormat, testCategory = TestCategory.JSON_TEST): Partial<ConformanceRequest> => ({
      payload: { case: "jsonPayload", value }, requestedOutputFormat: out, messageType: P3, testCategory,
    });
    const rs = exchange([
      json('{"optional_int64": 9007199254740993, "optionalString": "s"}', WireFormat.JSON),
      json('{"optionalInt64": "9007199254740993", "optionalString": "s"}', WireFormat.PROTOBUF),
      { ...binary(wire), requestedOutputFormat: WireFormat.JSON },
      // an Any resolves through the registry of every generated type
      json('{"optionalAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s"}}', WireFormat.JSON),
    ]);
    assert.deepEqual(rs[0]!.result, { case: "jsonPayload", value: '{"optionalInt64":"9007199254740993","optionalString":"s"}' });
    assert.deepEqual(rs[1]!.result, { case: "protobufPayload", value: wire });
    assert.deepEqual(rs[2]!.result, { case: "jsonPayload", value: '{"optionalInt64":"9007199254740993","optionalString":"s"}' });
    assert.deepEqual(rs[3]!.result, { case: "jsonPayload", value: '{"optionalAny":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1.500s"}}' });
  });

  it("JSON: parse_error for bad input, unknown fields ignored only in JSON_IGNORE_UNKNOWN_PARSING_TEST, serialize_error for no JSON form", () => {
    const req = (value: string, testCategory = TestCategory.JSON_TEST): Partial<ConformanceRequest> => ({
      payload: { case: "jsonPayload", value }, requestedOutputFormat: WireFormat.JSON, messageType: P3, testCategory,
    });
    // a Timestamp past 9999-12-31 decodes from binary but has no JSON form
    const far = Uint8Array.of(0xf2, 0x12, 0x07, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20);
    const rs = exchange([
      req('{"optionalInt32": 1, "unknownField": 2}'),
      req('{"optionalInt32": 1, "unknownField": 2}', TestCategory.JSON_IGNORE_UNKNOWN_PARSING_TEST),
      req('{"repeatedInt32": [1, 2, "x"]}'),
      req('{"optionalInt32": 1,}'),
      { ...binary(far), requestedOutputFormat: WireFormat.JSON },
    ]);
    assert.equal(rs[0]!.result?.case, "parseError");
    assert.match(rs[0]!.result?.value as string, /^TestAllTypesProto3\.unknownField: .* has no field named "unknownField"/);
    assert.deepEqual(rs[1]!.result, { case: "jsonPayload", value: '{"optionalInt32":1}' });
    assert.equal(rs[2]!.result?.case, "parseError");
    assert.match(rs[2]!.result?.value as string, /^TestAllTypesProto3\.repeatedInt32\[2\]: string "x" is not a valid int32/);
    assert.equal(rs[3]!.result?.case, "parseError");
    assert.equal(rs[4]!.result?.case, "serializeError");
    assert.match(rs[4]!.result?.value as string, /^TestAllTypesProto3\.optionalTimestamp: Timestamp\.seconds \d+ is outside the Timestamp range/);
  });

  it("answers text format: text->text, text->binary, binary->text with and without unknown fields", () => {
    const text = (value: string, out: WireFormat): Partial<ConformanceRequest> => ({
      payload: { case: "textPayload", value }, requestedOutputFormat: out, messageType: P3, testCategory: TestCategory.TEXT_FORMAT_TEST,
    });
    const wire = TestAllTypesProto3.toBinary(TestAllTypesProto3.create({ optionalInt32: 150, optionalString: "s" }));
    const withUnknown = Uint8Array.of(...wire, 0xc8, 0x3e, 0x07); // field 1001 = 7, unknown to TestAllTypesProto3
    const rs = exchange([
      text("optional_int32: 0x96 optional_string: 's'", WireFormat.TEXT_FORMAT),
      text("optional_int32: 150, optional_string: \"s\";", WireFormat.PROTOBUF),
      { ...binary(withUnknown), requestedOutputFormat: WireFormat.TEXT_FORMAT, testCategory: TestCategory.TEXT_FORMAT_TEST },
      { ...binary(withUnknown), requestedOutputFormat: WireFormat.TEXT_FORMAT, testCategory: TestCategory.TEXT_FORMAT_TEST, printUnknownFields: true },
      // a reserved name (reserved "reserved_field" in the schema) is skipped, as protobuf C++ does
      text("reserved_field: { a: 1 } optional_int32: 1", WireFormat.TEXT_FORMAT),
      text("optional_int32: 2147483648", WireFormat.TEXT_FORMAT),
      text("optional_any { [type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3] { optional_int32: 1 } }", WireFormat.TEXT_FORMAT),
    ]);
    assert.deepEqual(rs[0]!.result, { case: "textPayload", value: 'optional_int32: 150\noptional_string: "s"\n' });
    assert.deepEqual(rs[1]!.result, { case: "protobufPayload", value: wire });
    assert.deepEqual(rs[2]!.result, { case: "textPayload", value: 'optional_int32: 150\noptional_string: "s"\n' });
    assert.deepEqual(rs[3]!.result, { case: "textPayload", value: 'optional_int32: 150\noptional_string: "s"\n1001: 7\n' });
    assert.deepEqual(rs[4]!.result, { case: "textPayload", value: "optional_int32: 1\n" });
    assert.equal(rs[5]!.result?.case, "parseError");
    assert.match(rs[5]!.result?.value as string, /^1:17: TestAllTypesProto3\.optional_int32: 2147483648 is out of the range of int32/);
    assert.deepEqual(rs[6]!.result, {
      case: "textPayload",
      value: "optional_any {\n  [type.googleapis.com/protobuf_test_messages.proto3.TestAllTypesProto3] {\n    optional_int32: 1\n  }\n}\n",
    });
  });

  it("skips JSPB, in and out", () => {
    const rs = exchange([
      { payload: { case: "jspbPayload", value: "[]" }, requestedOutputFormat: WireFormat.PROTOBUF, messageType: P3 },
      { ...binary(new Uint8Array(0)), requestedOutputFormat: WireFormat.JSPB },
    ]);
    assert.deepEqual(rs.map((r) => r.result?.case), ["skipped", "skipped"]);
  });

  it("answers an empty FailureSet and a runtime_error for a type it has no codec for", () => {
    const [fs, unknown] = exchange([binary(new Uint8Array(0), "conformance.FailureSet"), binary(new Uint8Array(0), "no.Such")]);
    assert.deepEqual(fs!.result, { case: "protobufPayload", value: new Uint8Array(0) });
    assert.equal(unknown!.result?.case, "runtimeError");
  });

  it("exits cleanly when the runner closes stdin", () => {
    assert.deepEqual(exchange([]), []);
  });
});
