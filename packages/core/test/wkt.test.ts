import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import protobuf from "protobufjs";
import type { MessageType } from "../src/index.js";
import {
  DEFAULT_JSON_MAX_DEPTH,
  DURATION_MAX_SECONDS,
  TIMESTAMP_MAX_SECONDS,
  TIMESTAMP_MIN_SECONDS,
  durationFromMs,
  durationFromNanos,
  durationFromSeconds,
  durationToMs,
  durationToNanos,
  durationToSeconds,
  listValueFromJson,
  listValueToJson,
  structFromJson,
  structToJson,
  timestampFromDate,
  timestampFromMs,
  timestampFromNanos,
  timestampNow,
  timestampToDate,
  timestampToMs,
  timestampToNanos,
  unwrap,
  validateDuration,
  validateTimestamp,
  valueFromJson,
  valueToJson,
  wrapBool,
  wrapBytes,
  wrapDouble,
  wrapFloat,
  wrapInt32,
  wrapInt64,
  wrapString,
  wrapUInt32,
  wrapUInt64,
  type Duration,
  type JsonValue,
  type Timestamp,
  type Value,
} from "../src/wkt/index.js";

const PKG = new URL("../", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;
/**
 * A schema that imports the well-known types: `sgwire compile` writes their codecs beside it from
 * its own copies, and protobufjs resolves them from its bundled ones (no system .proto files).
 */
const WKT_USE = `syntax = "proto3";
package wktuse;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/empty.proto";
message Use {
  google.protobuf.Timestamp t = 1;
  google.protobuf.Duration d = 2;
  google.protobuf.Struct s = 3;
  google.protobuf.Int64Value w = 4;
  google.protobuf.Empty e = 5;
}
`;

// ---------------------------------------------------------------------------------------------
describe("wkt: Timestamp", () => {
  it("converts epoch milliseconds, exactly for whole ms, before and after 1970", () => {
    assert.deepEqual(timestampFromMs(0), { seconds: 0n, nanos: 0 });
    assert.deepEqual(timestampFromMs(1_700_000_000_123), { seconds: 1_700_000_000n, nanos: 123_000_000 });
    assert.deepEqual(timestampFromMs(-1), { seconds: -1n, nanos: 999_000_000 });
    assert.deepEqual(timestampFromMs(-1000), { seconds: -1n, nanos: 0 });
    assert.deepEqual(timestampFromMs(-1001), { seconds: -2n, nanos: 999_000_000 });
    for (const ms of [0, 1, -1, 999, -999, 1000, -1000, 1_700_000_000_123, -62_135_596_800_000, 253_402_300_799_999]) {
      assert.equal(timestampToMs(timestampFromMs(ms)), ms, `round trip of ${ms}`);
    }
  });

  it("keeps sub-millisecond digits as nanos, rounding to the nearest nanosecond", () => {
    assert.deepEqual(timestampFromMs(1.5), { seconds: 0n, nanos: 1_500_000 });
    assert.deepEqual(timestampFromMs(-1.5), { seconds: -1n, nanos: 998_500_000 });
    assert.deepEqual(timestampFromMs(0.0000004), { seconds: 0n, nanos: 0 });
    assert.deepEqual(timestampFromMs(0.0000006), { seconds: 0n, nanos: 1 });
    // rounds up into the next second
    assert.deepEqual(timestampFromMs(999.9999996), { seconds: 1n, nanos: 0 });
    assert.equal(timestampToMs({ seconds: 1n, nanos: 500 }), 1000.0005);
    assert.equal(timestampToMs({ seconds: -1n, nanos: 999_999_999 }), -0.000001);
  });

  it("converts Dates, flooring sub-millisecond nanos toward the past", () => {
    const d = new Date("2024-02-29T12:34:56.789Z");
    const ts = timestampFromDate(d);
    assert.deepEqual(ts, { seconds: BigInt(Math.floor(d.getTime() / 1000)), nanos: 789_000_000 });
    assert.equal(timestampToDate(ts).toISOString(), "2024-02-29T12:34:56.789Z");
    assert.equal(timestampToDate({ seconds: 0n, nanos: 1_999_999 }).getTime(), 1);
    assert.equal(timestampToDate({ seconds: -1n, nanos: 999_500_000 }).getTime(), -1); // -0.5 ms is in ms -1
    assert.equal(timestampToDate({ seconds: TIMESTAMP_MIN_SECONDS, nanos: 0 }).toISOString(), "0001-01-01T00:00:00.000Z");
    assert.equal(timestampToDate({ seconds: TIMESTAMP_MAX_SECONDS, nanos: 999_999_999 }).toISOString(), "9999-12-31T23:59:59.999Z");
    assert.deepEqual(timestampFromDate(new Date("0001-01-01T00:00:00Z")), { seconds: TIMESTAMP_MIN_SECONDS, nanos: 0 });
    assert.deepEqual(timestampFromDate(new Date("9999-12-31T23:59:59.999Z")), { seconds: TIMESTAMP_MAX_SECONDS, nanos: 999_000_000 });
  });

  it("converts nanoseconds exactly", () => {
    assert.deepEqual(timestampFromNanos(-1n), { seconds: -1n, nanos: 999_999_999 });
    assert.deepEqual(timestampFromNanos(1_700_000_000_123_456_789n), { seconds: 1_700_000_000n, nanos: 123_456_789 });
    for (const n of [0n, 1n, -1n, -1_000_000_000n, -1_000_000_001n, 253_402_300_799_999_999_999n, -62_135_596_800_000_000_000n]) {
      assert.equal(timestampToNanos(timestampFromNanos(n)), n);
    }
  });

  it("timestampNow is the current time", () => {
    const before = Date.now();
    const ts = timestampNow();
    const after = Date.now();
    validateTimestamp(ts);
    const ms = timestampToMs(ts);
    assert.ok(ms >= before && ms <= after, `${ms} within [${before}, ${after}]`);
  });

  it("refuses invalid input with errors naming the value", () => {
    assert.throws(() => timestampFromDate(new Date(Number.NaN)), { name: "TypeError", message: /Date is invalid/ });
    assert.throws(() => timestampFromDate("2024-01-01" as unknown as Date), { name: "TypeError", message: /expected a Date, got string "2024-01-01"/ });
    assert.throws(() => timestampFromDate(new Date("+010000-01-01T00:00:00Z")), { name: "RangeError", message: /253402300800000 ms is outside/ });
    assert.throws(() => timestampFromMs(-62_135_596_800_001), { name: "RangeError", message: /-62135596800001 ms is outside/ });
    assert.throws(() => timestampFromMs(253_402_300_800_000), RangeError);
    assert.throws(() => timestampFromMs(Number.NaN), { name: "TypeError", message: /finite number.*NaN/ });
    assert.throws(() => timestampFromMs(Infinity), TypeError);
    assert.throws(() => timestampFromNanos(253_402_300_800_000_000_000n), RangeError);
    assert.throws(() => timestampFromNanos(5 as unknown as bigint), { name: "TypeError", message: /expected a bigint, got number 5/ });
    assert.throws(() => timestampToMs({ seconds: 0n, nanos: -1 }), { name: "RangeError", message: /timestamp\.nanos -1 is outside \[0, 999999999\]/ });
    assert.throws(() => timestampToDate({ seconds: 0n, nanos: 1e9 }), { name: "RangeError", message: /nanos 1000000000/ });
    assert.throws(() => timestampToNanos({ seconds: 253_402_300_800n, nanos: 0 }), { name: "RangeError", message: /seconds 253402300800 is outside/ });
    assert.throws(() => timestampToMs({ seconds: 0, nanos: 0 } as unknown as Timestamp), { name: "TypeError", message: /timestamp\.seconds: expected a bigint, got number 0/ });
    assert.throws(() => timestampToMs({ seconds: 0n, nanos: 0.5 }), { name: "TypeError", message: /nanos: expected an integer, got number 0.5/ });
    assert.throws(() => validateTimestamp(null as unknown as Timestamp, "req.at"), { name: "TypeError", message: /^req\.at: expected a google\.protobuf\.Timestamp object, got null/ });
  });
});

// ---------------------------------------------------------------------------------------------
describe("wkt: Duration", () => {
  it("converts milliseconds and seconds with seconds and nanos of the same sign", () => {
    assert.deepEqual(durationFromMs(0), { seconds: 0n, nanos: 0 });
    assert.deepEqual(durationFromMs(-0), { seconds: 0n, nanos: 0 });
    assert.deepEqual(durationFromMs(1500), { seconds: 1n, nanos: 500_000_000 });
    assert.deepEqual(durationFromMs(-1500), { seconds: -1n, nanos: -500_000_000 });
    assert.deepEqual(durationFromMs(-0.5), { seconds: 0n, nanos: -500_000 });
    assert.deepEqual(durationFromMs(0.0000015), { seconds: 0n, nanos: 2 });
    assert.deepEqual(durationFromMs(-0.0000015), { seconds: 0n, nanos: -2 }, "rounding is symmetric");
    assert.deepEqual(durationFromMs(-1999.9999996), { seconds: -2n, nanos: 0 });
    assert.deepEqual(durationFromSeconds(-2.25), { seconds: -2n, nanos: -250_000_000 });
    assert.deepEqual(durationFromSeconds(315_576_000_000), { seconds: DURATION_MAX_SECONDS, nanos: 0 });
    for (const ms of [0, 1, -1, 1500, -1500, 0.5, -0.5, 86_400_000, -315_576_000_000_000]) {
      assert.equal(durationToMs(durationFromMs(ms)), ms, `round trip of ${ms}`);
    }
    assert.equal(durationToSeconds({ seconds: -2n, nanos: -250_000_000 }), -2.25);
    assert.equal(durationToMs({ seconds: 0n, nanos: -1 }), -0.000001);
  });

  it("converts nanoseconds exactly", () => {
    assert.deepEqual(durationFromNanos(-1_500_000_001n), { seconds: -1n, nanos: -500_000_001 });
    assert.deepEqual(durationFromNanos(-1n), { seconds: 0n, nanos: -1 });
    const max = DURATION_MAX_SECONDS * 1_000_000_000n + 999_999_999n;
    for (const n of [0n, 1n, -1n, max, -max, 123_456_789_012n]) assert.equal(durationToNanos(durationFromNanos(n)), n);
    assert.throws(() => durationFromNanos(max + 1n), { name: "RangeError", message: /315576000001000000000 ns is outside the Duration range/ });
  });

  it("refuses invalid input with errors naming the value", () => {
    assert.throws(() => durationFromMs(315_576_000_001_000), { name: "RangeError", message: /315576000001000 ms is outside/ });
    assert.throws(() => durationFromSeconds(-315_576_000_001), RangeError);
    assert.throws(() => durationFromMs(Number.NEGATIVE_INFINITY), { name: "TypeError", message: /-Infinity/ });
    assert.throws(() => durationFromSeconds("1" as unknown as number), { name: "TypeError", message: /got string "1"/ });
    assert.throws(() => durationToMs({ seconds: 1n, nanos: -1 }), { name: "RangeError", message: /seconds 1 and nanos -1 have opposite signs/ });
    assert.throws(() => durationToMs({ seconds: -1n, nanos: 1 }), RangeError);
    assert.throws(() => durationToNanos({ seconds: 0n, nanos: 1_000_000_000 }), { name: "RangeError", message: /nanos 1000000000 is outside/ });
    assert.throws(() => durationToSeconds({ seconds: -315_576_000_001n, nanos: 0 }), { name: "RangeError", message: /seconds -315576000001 is outside/ });
    assert.throws(() => validateDuration({ seconds: 1n } as unknown as Duration, "opts.timeout"), { name: "TypeError", message: /^opts\.timeout\.nanos: expected an integer, got undefined/ });
    validateDuration({ seconds: 0n, nanos: -5 });
    validateDuration({ seconds: -DURATION_MAX_SECONDS, nanos: -999_999_999 });
  });
});

// ---------------------------------------------------------------------------------------------
const SAMPLE: { [k: string]: JsonValue } = {
  name: "sgwire",
  n: -1.25,
  zero: 0,
  ok: true,
  no: false,
  nothing: null,
  list: [1, "two", [3, { four: 4 }], null, {}],
  nested: { a: { b: { c: [] } } },
  "not an identifier": "x",
  "": "empty key",
  ["__proto__"]: { polluted: true },
};

describe("wkt: Struct / Value / ListValue", () => {
  it("round-trips plain JSON values", () => {
    const s = structFromJson(SAMPLE);
    assert.deepEqual(s.fields["n"], { kind: { case: "numberValue", value: -1.25 } });
    assert.deepEqual(s.fields["nothing"], { kind: { case: "nullValue", value: 0 } });
    assert.ok(Object.prototype.hasOwnProperty.call(s.fields, "__proto__"));
    const back = structToJson(s);
    assert.deepEqual(back, SAMPLE);
    assert.equal(Object.getPrototypeOf(back), Object.prototype, "the result is an ordinary object");
    assert.ok(Object.prototype.hasOwnProperty.call(back, "__proto__"), "__proto__ is an own key, not the prototype");
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    for (const v of [null, true, false, 0, -0.5, 1e308, "", "é😀", [], [[[]]], { a: [null] }] as JsonValue[]) {
      assert.deepEqual(valueToJson(valueFromJson(v)), v);
    }
    assert.deepEqual(listValueToJson(listValueFromJson([1, [2], { x: 3 }])), [1, [2], { x: 3 }]);
    assert.deepEqual(listValueFromJson(["a"]), { values: [{ kind: { case: "stringValue", value: "a" } }] });
    // a shared (not cyclic) object is fine
    const shared = { k: 1 };
    assert.deepEqual(valueToJson(valueFromJson([shared, shared])), [{ k: 1 }, { k: 1 }]);
    // null-prototype objects are plain too
    const bare = Object.create(null) as { [k: string]: JsonValue };
    bare["x"] = 1;
    assert.deepEqual(structToJson(structFromJson(bare)), { x: 1 });
  });

  it("refuses what is not JSON with a TypeError naming the path", () => {
    const cases: [unknown, RegExp][] = [
      [{ a: [0, 1, { b: undefined }] }, /^\$\.a\[2\]\.b: undefined is not a JSON value/],
      [{ a: [0, 1, { b: Number.NaN }] }, /^\$\.a\[2\]\.b: NaN is not a JSON number/],
      [{ x: Infinity }, /^\$\.x: Infinity is not a JSON number/],
      [{ "a b": () => 1 }, /^\$\["a b"\]: a function is not a JSON value/],
      [[1n], /^\$\[0\]: bigint 1n is not a JSON value/],
      [{ s: Symbol("q") }, /^\$\.s: a symbol is not a JSON value/],
      [{ when: new Date(0) }, /^\$\.when: an instance of Date is not a JSON value \(expected a plain object\)/],
      [{ m: new Map() }, /^\$\.m: an instance of Map/],
      [{ u: new Uint8Array(1) }, /^\$\.u: an instance of Uint8Array/],
      // eslint-disable-next-line no-sparse-arrays
      [[1, , 3], /^\$\[1\]: undefined is not a JSON value/],
    ];
    for (const [input, re] of cases) {
      assert.throws(() => valueFromJson(input as JsonValue), (e: unknown) => e instanceof TypeError && re.test(e.message), String(re));
    }
    const cyclic: { [k: string]: unknown } = { a: { list: [] as unknown[] } };
    ((cyclic["a"] as { list: unknown[] }).list).push(cyclic);
    assert.throws(() => structFromJson(cyclic as { [k: string]: JsonValue }), { name: "TypeError", message: /^\$\.a\.list\[0\]: cyclic reference/ });
    assert.throws(() => structFromJson([] as unknown as { [k: string]: JsonValue }), { name: "TypeError", message: /structFromJson: expected a plain JSON object, got an array/ });
    assert.throws(() => structFromJson(null as unknown as { [k: string]: JsonValue }), { name: "TypeError", message: /got null/ });
    assert.throws(() => listValueFromJson({} as unknown as JsonValue[]), { name: "TypeError", message: /listValueFromJson: expected an array, got an object/ });
  });

  it("limits nesting depth", () => {
    const nest = (n: number): JsonValue => {
      let v: JsonValue = 1;
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    assert.equal(DEFAULT_JSON_MAX_DEPTH, 100);
    valueFromJson(nest(100));
    assert.throws(() => valueFromJson(nest(101)), { name: "RangeError", message: new RegExp(`^\\$${"\\[0\\]".repeat(100)}: nesting deeper than the limit of 100`) });
    assert.throws(() => valueFromJson({ a: { b: { c: {} } } }, { maxDepth: 3 }), { name: "RangeError", message: /^\$\.a\.b\.c: nesting deeper than the limit of 3/ });
    valueFromJson({ a: { b: { c: {} } } }, { maxDepth: 4 });
    assert.throws(() => valueFromJson(1, { maxDepth: 0 }), { name: "RangeError", message: /maxDepth must be a positive integer/ });
    // the same limit on the way back, for Values built or decoded elsewhere
    let deep: Value = { kind: { case: "numberValue", value: 1 } };
    for (let i = 0; i < 101; i++) deep = { kind: { case: "listValue", value: { values: [deep] } } };
    assert.throws(() => valueToJson(deep), { name: "RangeError", message: /nesting deeper than the limit of 100/ });
    assert.doesNotThrow(() => valueToJson(deep, { maxDepth: 101 }));
  });

  it("refuses malformed Values with errors naming the path", () => {
    const noKind = { fields: { a: { kind: { case: "listValue", value: { values: [{ kind: { case: "boolValue", value: true } }, {}] } } } } } as unknown as Parameters<typeof structToJson>[0];
    assert.throws(() => structToJson(noKind), { name: "TypeError", message: /^\$\.a\[1\]: google\.protobuf\.Value has no kind set/ });
    assert.throws(() => valueToJson({ kind: { case: undefined } }), { name: "TypeError", message: /^\$: google\.protobuf\.Value has no kind set/ });
    assert.throws(() => valueToJson({ kind: { case: "numberValue", value: Number.NaN } }), { name: "TypeError", message: /^\$: numberValue number NaN has no JSON form/ });
    assert.throws(() => valueToJson({ kind: { case: "numberValue", value: -Infinity } }), TypeError);
    assert.throws(() => valueToJson({ kind: { case: "bogus", value: 1 } } as unknown as Value), { name: "TypeError", message: /kind string "bogus" is not one of/ });
    assert.throws(() => valueToJson({ kind: { case: "structValue", value: {} } } as unknown as Value), { name: "TypeError", message: /^\$: expected a google\.protobuf\.Struct with a fields object/ });
    assert.throws(() => structToJson({ fields: { x: undefined } } as unknown as Parameters<typeof structToJson>[0]), { name: "TypeError", message: /^\$\.x: expected a google\.protobuf\.Value object, got undefined/ });
    const list = { values: [] as Value[] };
    list.values.push({ kind: { case: "listValue", value: list } });
    assert.throws(() => listValueToJson(list), { name: "TypeError", message: /^\$\[0\]: cyclic reference/ });
  });
});

// ---------------------------------------------------------------------------------------------
describe("wkt: wrappers", () => {
  it("wraps values the field can hold and refuses the others", () => {
    assert.deepEqual(wrapInt32(-2147483648), { value: -2147483648 });
    assert.throws(() => wrapInt32(2147483648), { name: "RangeError", message: /wrapInt32: 2147483648 is outside the int32 range/ });
    assert.throws(() => wrapInt32(1.5), { name: "TypeError", message: /wrapInt32: expected an integer, got number 1.5/ });
    assert.deepEqual(wrapUInt32(4294967295), { value: 4294967295 });
    assert.throws(() => wrapUInt32(-1), { name: "RangeError", message: /wrapUInt32: -1 is outside/ });
    assert.deepEqual(wrapInt64(-(2n ** 63n)), { value: -(2n ** 63n) });
    assert.deepEqual(wrapInt64(42), { value: 42n });
    assert.throws(() => wrapInt64(2n ** 63n), { name: "RangeError", message: /wrapInt64: 9223372036854775808 is outside the int64 range/ });
    assert.throws(() => wrapInt64(2 ** 60), { name: "TypeError", message: /wrapInt64: expected a bigint or a safe integer, got number 1152921504606847000/ });
    assert.deepEqual(wrapUInt64(2n ** 64n - 1n), { value: 2n ** 64n - 1n });
    assert.throws(() => wrapUInt64(-1n), { name: "RangeError", message: /wrapUInt64: -1 is outside the uint64 range/ });
    assert.deepEqual(wrapFloat(0.1), { value: 0.1 });
    assert.deepEqual(wrapFloat(-Infinity), { value: -Infinity });
    assert.throws(() => wrapFloat(1e39), { name: "RangeError", message: /wrapFloat: 1e\+39 is beyond the range of a 32-bit float/ });
    assert.ok(Number.isNaN(wrapDouble(Number.NaN).value));
    assert.throws(() => wrapDouble("1" as unknown as number), { name: "TypeError", message: /wrapDouble: expected a number, got string "1"/ });
    assert.deepEqual(wrapBool(false), { value: false });
    assert.throws(() => wrapBool(0 as unknown as boolean), { name: "TypeError", message: /wrapBool: expected a boolean, got number 0/ });
    assert.deepEqual(wrapString(""), { value: "" });
    assert.throws(() => wrapString(null as unknown as string), { name: "TypeError", message: /wrapString: expected a string, got null/ });
    const bytes = new Uint8Array([1, 2]);
    assert.equal(wrapBytes(bytes).value, bytes, "bytes are referenced, not copied");
    assert.throws(() => wrapBytes([1, 2] as unknown as Uint8Array), { name: "TypeError", message: /wrapBytes: expected a Uint8Array, got an array/ });
    assert.equal(unwrap(undefined), undefined);
    assert.equal(unwrap(wrapInt32(0)), 0);
    assert.equal(unwrap(wrapString("s")), "s");
  });
});

// ---------------------------------------------------------------------------------------------
// Interop: the helpers against the codecs `sgwire compile` generates for google/protobuf/*.proto,
// and those codecs' bytes against protobufjs's own google.protobuf types. The generated code (and
// the tsc check) import @sgwire/core as a package, i.e. its dist/: build core before running this.
describe("wkt: with the generated google.protobuf codecs", function () {
  this.timeout(120_000);
  let dir = "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let gen: Record<string, any> = {};
  let pjs: protobuf.Root;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-wkt-"));
    writeFileSync(join(dir, "wkt_use.proto"), WKT_USE);
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
    execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", dir, "--out", dir, join(dir, "wkt_use.proto")], { encoding: "utf8" });
    for (const name of ["timestamp", "duration", "struct", "wrappers"]) {
      Object.assign(gen, await import(pathToFileURL(join(dir, "google/protobuf", `${name}.sg.ts`)).href));
    }
    pjs = new protobuf.Root();
    pjs.loadSync(join(dir, "wkt_use.proto"));
    pjs.resolveAll();
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the generated interfaces and the helpers' interfaces are assignable both ways (tsc --strict)", () => {
    const check = `
import type * as W from "@sgwire/core/wkt";
import * as C from "@sgwire/core";
import { Timestamp } from "./google/protobuf/timestamp.sg.js";
import { Duration } from "./google/protobuf/duration.sg.js";
import { Struct, Value, ListValue, NullValue } from "./google/protobuf/struct.sg.js";
import * as G from "./google/protobuf/wrappers.sg.js";
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const checks: true[] = [
  true as Same<Timestamp, W.Timestamp>, true as Same<Duration, W.Duration>,
  true as Same<Struct, W.Struct>, true as Same<Value, W.Value>, true as Same<ListValue, W.ListValue>,
  true as Same<NullValue, W.NullValue>,
  true as Same<G.DoubleValue, W.DoubleValue>, true as Same<G.FloatValue, W.FloatValue>,
  true as Same<G.Int64Value, W.Int64Value>, true as Same<G.UInt64Value, W.UInt64Value>,
  true as Same<G.Int32Value, W.Int32Value>, true as Same<G.UInt32Value, W.UInt32Value>,
  true as Same<G.BoolValue, W.BoolValue>, true as Same<G.StringValue, W.StringValue>,
  true as Same<G.BytesValue, W.BytesValue>,
];
// the check tells different shapes apart
export const differs: false[] = [false as Same<G.Int32Value, W.Int64Value>, false as Same<Struct, W.ListValue>];
// generated objects into the helpers, helper output into the generated codecs (also via the root export)
const ts: Timestamp = C.timestampFromMs(1);
export const date: Date = C.timestampToDate(Timestamp.fromBinary(Timestamp.toBinary(ts)));
const d: Duration = C.durationFromMs(-1);
export const ms: number = C.durationToMs(Duration.create(d));
const v: Value = C.valueFromJson({ a: [1, null] });
export const json: C.JsonValue = C.valueToJson(Value.fromBinary(Value.toBinary(v)));
export const s: Struct = C.structFromJson({});
export const l: ListValue = C.listValueFromJson([]);
export const n: Value = { kind: { case: "nullValue", value: NullValue.NULL_VALUE } };
export const back: C.Value = n;
export const i64: G.Int64Value = C.wrapInt64(1n);
export const u: bigint | undefined = C.unwrap(G.Int64Value.fromBinary(new Uint8Array(0)));
`;
    writeFileSync(join(dir, "check.ts"), check);
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", types: [], skipLibCheck: false, exactOptionalPropertyTypes: false, noUncheckedIndexedAccess: true },
      include: ["check.ts"],
    }));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    try {
      execFileSync(process.execPath, [createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      assert.fail(`tsc found type errors:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
  });

  it("@sgwire/core/wkt is importable from plain Node ESM (built JavaScript)", () => {
    const script = `
      import { timestampFromMs, structToJson, structFromJson } from "@sgwire/core/wkt";
      import * as core from "@sgwire/core";
      console.log(core.timestampFromMs === timestampFromMs, timestampFromMs(-1).seconds, JSON.stringify(structToJson(structFromJson({ a: [1] }))));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, encoding: "utf8" });
    assert.equal(out.trim(), 'true -1n {"a":[1]}');
  });

  it("Timestamp: helper output encodes as protobufjs encodes the same instant, and decodes back", () => {
    const T = gen["Timestamp"] as MessageType<Timestamp>;
    const P = pjs.lookupType("google.protobuf.Timestamp");
    const cases: [number, number, number][] = [
      // ms, expected seconds, expected nanos (by hand)
      [0, 0, 0],
      [1_700_000_000_123, 1_700_000_000, 123_000_000],
      [-1, -1, 999_000_000],
      [-62_135_596_800_000, -62_135_596_800, 0],
      [253_402_300_799_999, 253_402_300_799, 999_000_000],
      [1.5, 0, 1_500_000],
    ];
    for (const [ms, seconds, nanos] of cases) {
      const ts = timestampFromMs(ms);
      const ours = T.toBinary(ts);
      const theirs = P.encode(P.fromObject({ seconds: String(seconds), nanos })).finish();
      assert.deepEqual(Buffer.from(ours), Buffer.from(theirs), `bytes of ${ms} ms`);
      assert.equal(timestampToMs(T.fromBinary(theirs)), ms);
    }
  });

  it("Duration: helper output encodes as protobufjs encodes the same span, and decodes back", () => {
    const D = gen["Duration"] as MessageType<Duration>;
    const P = pjs.lookupType("google.protobuf.Duration");
    const cases: [number, number, number][] = [
      [0, 0, 0],
      [1500, 1, 500_000_000],
      [-1500, -1, -500_000_000],
      [-0.5, 0, -500_000],
      [-315_576_000_000_000, -315_576_000_000, 0],
    ];
    for (const [ms, seconds, nanos] of cases) {
      const ours = D.toBinary(durationFromMs(ms));
      const theirs = P.encode(P.fromObject({ seconds: String(seconds), nanos })).finish();
      assert.deepEqual(Buffer.from(ours), Buffer.from(theirs), `bytes of ${ms} ms`);
      assert.equal(durationToMs(D.fromBinary(theirs)), ms);
    }
  });

  it("Struct: helper output encodes as protobufjs encodes the same JSON, and protobufjs's bytes decode to it", () => {
    const S = gen["Struct"] as MessageType<ReturnType<typeof structFromJson>>;
    const V = gen["Value"] as MessageType<Value>;
    const PS = pjs.lookupType("google.protobuf.Struct");
    const PV = pjs.lookupType("google.protobuf.Value");
    // the protobufjs object form of a JSON value, written independently of the helpers
    const pv = (j: JsonValue): object => {
      if (j === null) return { nullValue: 0 };
      if (typeof j === "number") return { numberValue: j };
      if (typeof j === "string") return { stringValue: j };
      if (typeof j === "boolean") return { boolValue: j };
      if (Array.isArray(j)) return { listValue: { values: j.map(pv) } };
      return { structValue: { fields: Object.fromEntries(Object.entries(j).map(([k, x]) => [k, pv(x)])) } };
    };
    const json = { ...SAMPLE };
    delete json["__proto__"]; // protobufjs's fromObject cannot take it as a plain key
    const ours = S.toBinary(structFromJson(json));
    const theirs = PS.encode(PS.fromObject({ fields: Object.fromEntries(Object.entries(json).map(([k, x]) => [k, pv(x)])) })).finish();
    assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
    assert.deepEqual(structToJson(S.fromBinary(theirs)), json);
    // protobufjs reads our bytes back to the same JSON
    const read = PS.toObject(PS.decode(ours), { defaults: false, oneofs: false }) as { fields: Record<string, unknown> };
    assert.deepEqual(Object.keys(read.fields), Object.keys(json));
    for (const v of [null, 0, -2.5, "s", true, [1, [null]], { k: {} }] as JsonValue[]) {
      const b = V.toBinary(valueFromJson(v));
      assert.deepEqual(Buffer.from(b), Buffer.from(PV.encode(PV.fromObject(pv(v))).finish()), `bytes of ${JSON.stringify(v)}`);
      assert.deepEqual(valueToJson(V.fromBinary(b)), v);
    }
    // a Value decoded from bytes that set no kind is refused by name
    assert.throws(() => valueToJson(V.fromBinary(new Uint8Array(0))), { name: "TypeError", message: /no kind set/ });
  });

  it("wrappers: helper output encodes as protobufjs encodes the same value", () => {
    const pairs: [string, { value: unknown }, unknown][] = [
      ["Int64Value", wrapInt64(-(2n ** 63n)), "-9223372036854775808"],
      ["UInt64Value", wrapUInt64(2n ** 64n - 1n), "18446744073709551615"],
      ["Int32Value", wrapInt32(-5), -5],
      ["UInt32Value", wrapUInt32(4294967295), 4294967295],
      ["DoubleValue", wrapDouble(-0.1), -0.1],
      ["FloatValue", wrapFloat(0.1), 0.1],
      ["BoolValue", wrapBool(true), true],
      ["StringValue", wrapString("héllo"), "héllo"],
      ["BytesValue", wrapBytes(new Uint8Array([0, 255])), new Uint8Array([0, 255])],
    ];
    for (const [name, w, pjsValue] of pairs) {
      const M = gen[name] as MessageType<{ value: unknown }>;
      const P = pjs.lookupType(`google.protobuf.${name}`);
      const ours = M.toBinary(w);
      assert.deepEqual(Buffer.from(ours), Buffer.from(P.encode(P.fromObject({ value: pjsValue })).finish()), name);
      const back = unwrap(M.fromBinary(ours));
      if (name === "FloatValue") assert.equal(back, Math.fround(0.1));
      else assert.deepEqual(back, w.value, name);
    }
  });
});
