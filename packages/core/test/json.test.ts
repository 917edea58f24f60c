import assert from "node:assert/strict";
import {
  JsonError,
  anyIs,
  anyPack,
  anyUnpack,
  base64Decode,
  base64Encode,
  createRegistry,
  fromJson,
  fromJsonString,
  getExtension,
  parseTypeUrl,
  setExtension,
  toJson,
  toJsonString,
  type Registry,
} from "../src/index.js";
import { compileJsonSchemas } from "./json-schema.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Gen = Record<string, any>;

/** Asserts that `fn` throws a JsonError whose message matches `re`. */
function throwsJson(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof JsonError, `expected a JsonError, got ${String(err)}`);
    assert.match(err.message, re);
    return true;
  });
}

describe("json: base64", () => {
  it("encodes with padding and decodes both alphabets, with or without padding", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    for (let n = 0; n <= 8; n++) {
      const b = all.subarray(250 - n * 7, 250 - n * 7 + n);
      const s = base64Encode(b);
      assert.equal(s, Buffer.from(b).toString("base64"));
      assert.deepEqual(base64Decode(s), b);
      assert.deepEqual(base64Decode(s.replace(/=+$/, "")), b);
      assert.deepEqual(base64Decode(Buffer.from(b).toString("base64url")), b);
    }
    assert.match(base64Decode("ab!d") as string, /"!" at 2 is not base64/);
    assert.match(base64Decode("abcde") as string, /single character/);
    assert.match(base64Decode("ab===") as string, /more than two '='/);
    assert.match(base64Decode("abc==") as string, /not a multiple of 4/);
  });
});

describe("json: ProtoJSON with generated codecs", function () {
  this.timeout(120_000);
  let s: Awaited<ReturnType<typeof compileJsonSchemas>>;
  let Scalars: Gen, Collections: Gen, Choice: Gen, Wkt: Gen, Node: Gen, P2: Gen;
  let registry: Registry;
  before(async () => {
    s = await compileJsonSchemas();
    ({ Scalars, Collections, Choice, Wkt, Node } = s.p3);
    ({ P2 } = s.p2);
    registry = createRegistry(s.p3.$file, s.p2.$file);
  });
  after(() => s?.cleanup());

  it("prints every scalar type in its JSON form and parses it back", () => {
    const m = Scalars.create({
      d: -1.5, f: 0.25, i32: -2147483648, i64: -(2n ** 63n), u32: 4294967295, u64: 2n ** 64n - 1n,
      s32: -7, s64: 9007199254740993n, fx32: 1, fx64: 2n, sf32: -3, sf64: -4n, b: true, s: "héllo \u{1F600}",
      by: new Uint8Array([0, 1, 254, 255]), color: 2, optI32: 0, snakeCaseName: "x",
    });
    const j = toJson(Scalars, m);
    assert.deepEqual(j, {
      d: -1.5, f: 0.25, i32: -2147483648, i64: "-9223372036854775808", u32: 4294967295, u64: "18446744073709551615",
      s32: -7, s64: "9007199254740993", fx32: 1, fx64: "2", sf32: -3, sf64: "-4", b: true, s: "héllo \u{1F600}",
      by: "AAH+/w==", color: "GREEN", optI32: 0, snakeCaseName: "x",
    });
    assert.deepEqual(fromJson(Scalars, j), m);
    assert.deepEqual(fromJsonString(Scalars, toJsonString(Scalars, m)), m);
    assert.deepEqual(Scalars.toBinary(fromJsonString(Scalars, toJsonString(Scalars, m))), Scalars.toBinary(m));
  });

  it("prints NaN and the infinities as strings, -0 as a number, and reads them back", () => {
    const m = Scalars.create({ d: NaN, f: -Infinity });
    assert.deepEqual(toJson(Scalars, m), { d: "NaN", f: "-Infinity" });
    const back = fromJson(Scalars, { d: "Infinity", f: "NaN" });
    assert.equal(back.d, Infinity);
    assert.ok(Number.isNaN(back.f));
    assert.ok(Object.is((toJson(Scalars, Scalars.create({ d: -0 })) as { d: number }).d, -0));
  });

  it("leaves out implicit fields at their defaults, prints explicit ones when set", () => {
    assert.deepEqual(toJson(Scalars, Scalars.create()), {});
    assert.deepEqual(toJson(Scalars, Scalars.create({ optStr: "" })), { optStr: "" });
    assert.deepEqual(toJson(P2, P2.create({ x: 0 })), { x: 0 });
    assert.deepEqual(toJson(P2, P2.create()), {});
  });

  it("emitDefaultValues prints fields without presence, not explicit ones", () => {
    const j = toJson(Collections, Collections.create(), { emitDefaultValues: true }) as Record<string, unknown>;
    assert.deepEqual(j, { nums: [], strs: [], items: [], byName: {}, byInt: {}, byBool: {}, byU64: {}, colors: [], blobs: [], colorByName: {} });
    const sc = toJson(Scalars, Scalars.create(), { emitDefaultValues: true }) as Record<string, unknown>;
    assert.equal(sc.i64, "0");
    assert.equal(sc.by, "");
    assert.equal(sc.color, "COLOR_UNSPECIFIED");
    assert.ok(!("optI32" in sc) && !("child" in sc) && !("optStr" in sc));
    assert.deepEqual(toJson(P2, P2.create(), { emitDefaultValues: true }), { cs: [] });
  });

  it("useProtoFieldName and enumAsInteger; json_name on output and both names on input", () => {
    const m = Scalars.create({ snakeCaseName: "v", color: 1 });
    assert.deepEqual(toJson(Scalars, m, { useProtoFieldName: true }), { color: "RED", snake_case_name: "v" });
    assert.deepEqual(toJson(Scalars, m, { enumAsInteger: true }), { color: 1, snakeCaseName: "v" });
    assert.deepEqual(fromJson(Scalars, { snake_case_name: "v", color: 1 }), m);
    assert.deepEqual(toJson(Choice, Choice.create({ renamed: "r" })), { customName: "r" });
    assert.equal(fromJson(Choice, { customName: "a" }).renamed, "a");
    assert.equal(fromJson(Choice, { renamed: "b" }).renamed, "b");
    throwsJson(() => fromJson(Choice, { customName: "a", renamed: "b" }), /^Choice\.renamed: field renamed is given twice \(as "customName" and "renamed"\)/);
    throwsJson(() => fromJson(Scalars, { snakeCaseName: "a", snake_case_name: "b" }), /given twice/);
  });

  it("toJsonString indents with prettySpaces", () => {
    assert.equal(toJsonString(Scalars, Scalars.create({ i32: 1 }), { prettySpaces: 2 }), '{\n  "i32": 1\n}');
    assert.equal(toJsonString(Scalars, Scalars.create({ i32: 1 })), '{"i32":1}');
    assert.throws(() => toJsonString(Scalars, Scalars.create(), { prettySpaces: -1 }), /prettySpaces/);
  });

  it("reads integers as numbers or strings, exponent forms only when exact, with range checks", () => {
    const m = fromJsonString(Scalars, '{"i32":"-5","i64":"1e3","u32":4294967295,"u64":18446744073709551615,"s64":-9223372036854775808,"fx32":"1.0","sf64":"12.5e1"}');
    assert.equal(m.i32, -5);
    assert.equal(m.i64, 1000n);
    assert.equal(m.u32, 4294967295);
    assert.equal(m.u64, 18446744073709551615n);
    assert.equal(m.s64, -9223372036854775808n);
    assert.equal(m.fx32, 1);
    assert.equal(m.sf64, 125n);
    throwsJson(() => fromJson(Scalars, { i32: 2147483648 }), /^Scalars\.i32: number 2147483648 is out of the range of int32/);
    throwsJson(() => fromJson(Scalars, { u32: -1 }), /^Scalars\.u32: .*out of the range of uint32/);
    throwsJson(() => fromJsonString(Scalars, '{"i64":9223372036854775808}'), /^Scalars\.i64: number 9223372036854775808 is out of the range of int64/);
    throwsJson(() => fromJson(Scalars, { u64: "-1" }), /out of the range of uint64/);
    throwsJson(() => fromJson(Scalars, { i64: "1.5" }), /not a valid int64 \(not an integer\)/);
    throwsJson(() => fromJson(Scalars, { i64: " 1" }), /not a valid int64 \(not a number\)/);
    throwsJson(() => fromJson(Scalars, { i32: true }), /expected a number or a numeric string for int32, got boolean true/);
    // exponents are bounded before anything is built from them
    throwsJson(() => fromJson(Scalars, { i64: "1e999999999" }), /out of the range of int64/);
    throwsJson(() => fromJson(Scalars, { i64: "1e-999999999" }), /not an integer/);
    assert.equal(fromJson(Scalars, { i64: "0e999999999" }).i64, 0n);
    // a bigint is not JSON, but it is what int64 fields hold: accepted, range-checked
    assert.equal(fromJson(Scalars, { i64: 5n, i32: 7n }).i64, 5n);
    throwsJson(() => fromJson(Scalars, { u64: -1n }), /^Scalars\.u64: bigint -1n is out of the range of uint64/);
  });

  it("checks float range; NaN/Infinity only as strings; numeric strings accepted", () => {
    assert.equal(fromJson(Scalars, { f: 3.4028234663852886e38 }).f, 3.4028234663852886e38);
    assert.equal(fromJson(Scalars, { f: "-1.5" }).f, -1.5);
    throwsJson(() => fromJson(Scalars, { f: 3.5e38 }), /^Scalars\.f: number 3\.5e\+38 is out of the range of float/);
    throwsJson(() => fromJsonString(Scalars, '{"d":1e999}'), /^Scalars\.d: number 1e999 is out of the range of double/);
    throwsJson(() => fromJson(Scalars, { d: "nan" }), /is not a number for double/);
    throwsJson(() => fromJson(Scalars, { d: Infinity }), /out of the range of double/);
  });

  it("bytes: standard or URL-safe base64, with or without padding", () => {
    const want = new Uint8Array([0xfb, 0xff, 0xbf]);
    for (const t of ["+/+/", "-_-_", "+/8="]) {
      const got = fromJson(Scalars, { by: t }).by as Uint8Array;
      assert.equal(got.length, t === "+/8=" ? 2 : 3);
      if (t !== "+/8=") assert.deepEqual(got, want);
    }
    throwsJson(() => fromJson(Scalars, { by: "a*b=" }), /^Scalars\.by: invalid base64: character "\*" at 1/);
  });

  it("enums: by name or number; unknown names fail or are skipped; closed enums refuse unknown numbers", () => {
    assert.equal(fromJson(Scalars, { color: "GREEN" }).color, 2);
    assert.equal(fromJson(Scalars, { color: 99 }).color, 99); // open enum keeps unknown numbers
    assert.deepEqual(toJson(Scalars, Scalars.create({ color: 99 })), { color: 99 });
    throwsJson(() => fromJson(Scalars, { color: "BLUE" }), /^Scalars\.color: string "BLUE" is not a value of enum jt\.Color/);
    assert.equal(fromJson(Scalars, { color: "BLUE" }, { ignoreUnknownFields: true }).color, 0);
    const c = fromJson(Collections, { colors: ["RED", "BLUE", "GREEN"], colorByName: { a: "BLUE", b: "RED" } }, { ignoreUnknownFields: true });
    assert.deepEqual(c.colors, [1, 2]);
    assert.deepEqual({ ...c.colorByName }, { b: 1 });
    throwsJson(() => fromJson(P2, { c: 3 }), /^P2\.c: 3 is not a value of closed enum jt2\.Closed/);
    assert.equal(fromJson(P2, { c: "TWO" }).c, 2);
  });

  it("null means absent, except for google.protobuf.Value and NullValue", () => {
    assert.deepEqual(fromJson(Scalars, { i32: null, child: null, optI32: null }), Scalars.create());
    assert.deepEqual(fromJson(Choice, { nul: null }).pick, { case: "nul", value: 0 });
    assert.deepEqual(toJson(Choice, Choice.create({ pick: { case: "nul", value: 0 } })), { nul: null });
    const w = fromJson(Wkt, { val: null, vals: [null, 1], vmap: { a: null } });
    assert.deepEqual(w.val, { kind: { case: "nullValue", value: 0 } });
    assert.deepEqual(toJson(Wkt, w), { val: null, vals: [null, 1], vmap: { a: null } });
    throwsJson(() => fromJson(Collections, { nums: [1, null] }), /^Collections\.nums\[1\]: null is not allowed in a repeated field/);
    throwsJson(() => fromJson(Collections, { byName: { a: null } }), /^Collections\.byName\.a: null is not allowed as a map value/);
  });

  it("oneofs: printed when set (even at the default), one member at most on input", () => {
    assert.deepEqual(toJson(Choice, Choice.create({ pick: { case: "num", value: 0 } })), { num: 0 });
    assert.deepEqual(toJson(Choice, Choice.create({ pick: { case: "msg", value: Scalars.create() } })), { msg: {} });
    assert.deepEqual(fromJson(Choice, { text: "" }).pick, { case: "text", value: "" });
    throwsJson(() => fromJson(Choice, { num: 1, text: "a" }), /^Choice\.text: oneof pick is given twice \("num" and "text"\)/);
    assert.deepEqual(fromJson(Choice, { num: null, text: "a" }).pick, { case: "text", value: "a" });
  });

  it("maps: keys of every kind as strings, parsed with range checks", () => {
    const json = { byName: { a: "1", b: "-2" }, byInt: { "-5": "x", "7": "y" }, byBool: { true: "RED", false: 2 }, byU64: { "18446744073709551615": { i32: 1 } } };
    const m = fromJson(Collections, json);
    assert.deepEqual({ ...m.byName }, { a: 1n, b: -2n });
    assert.deepEqual({ ...m.byInt }, { "-5": "x", "7": "y" });
    assert.deepEqual({ ...m.byBool }, { true: 1, false: 2 });
    assert.deepEqual(toJson(Collections, m), { byName: { a: "1", b: "-2" }, byInt: { "7": "y", "-5": "x" }, byBool: { true: "RED", false: "GREEN" }, byU64: { "18446744073709551615": { i32: 1 } } });
    assert.deepEqual(Collections.fromBinary(Collections.toBinary(m)), m);
    throwsJson(() => fromJson(Collections, { byInt: { "2147483648": "x" } }), /^Collections\.byInt\["2147483648"\]: .*out of the range of int32/);
    throwsJson(() => fromJson(Collections, { byBool: { yes: 1 } }), /^Collections\.byBool\.yes: map key "yes" is not "true" or "false"/);
    throwsJson(() => fromJson(Collections, { byName: [] }), /expected a JSON object for map field by_name, got an array/);
  });

  it("unknown keys fail naming them, or are skipped with ignoreUnknownFields", () => {
    throwsJson(() => fromJson(Collections, { items: [{}, { child: { nope: 1 } }] }), /^Collections\.items\[1\]\.child\.nope: jt\.Scalars has no field named "nope"/);
    assert.deepEqual(fromJson(Collections, { items: [{ nope: { deep: [1] } }], x: 1 }, { ignoreUnknownFields: true }).items, [Scalars.create()]);
  });

  it("errors name the path, the type and the value", () => {
    const cases: [unknown, RegExp][] = [
      [{ nums: [1, 2, "x"] }, /^Collections\.nums\[2\]: string "x" is not a valid int32 \(not a number\)$/],
      [{ items: [{}, {}, {}, { d: {} }] }, /^Collections\.items\[3\]\.d: expected a number for double, got an object$/],
      [{ strs: "a" }, /^Collections\.strs: expected an array for repeated field strs, got string "a"$/],
      [{ items: [{ child: 5 }] }, /^Collections\.items\[0\]\.child: expected a JSON object for jt\.Scalars, got number 5$/],
      [{ byU64: { "1": { b: "true" } } }, /^Collections\.byU64\["1"\]\.b: expected true or false, got string "true"$/],
      [[], /^Collections: expected a JSON object for jt\.Collections, got an array$/],
    ];
    for (const [json, re] of cases) throwsJson(() => fromJson(Collections, json), re);
    throwsJson(() => toJson(Scalars, { ...Scalars.create(), i32: "1" }), /^Scalars\.i32: expected an integer in \[-2147483648, 2147483647\] for int32, got string "1"$/);
    throwsJson(() => toJson(Collections, { ...Collections.create(), nums: [1, 2.5] }), /^Collections\.nums\[1\]: expected an integer/);
    throwsJson(() => toJson(Scalars, { ...Scalars.create(), by: "AA==" }), /^Scalars\.by: expected a Uint8Array for bytes/);
  });

  it("malformed JSON text fails with the offset", () => {
    for (const [text, re] of [
      ['{"i32":1,}', /offset 9: expected a quoted object key/],
      ['{"i32":01}', /leading zeros/],
      ["{'i32':1}", /expected a quoted object key/],
      ['{"s":"\\ud800"}', /unpaired surrogate/],
      ['{"s":"\\udc00x"}', /unpaired surrogate/],
      ['{"s":"a\u0001"}', /control character U\+0001/],
      ['{"s":"\\x"}', /invalid escape \\x/],
      ['{"i32":1} x', /unexpected text after the JSON value/],
      ['{"i32":NaN}', /unexpected character "N"/],
      ['{"i32":-}', /'-' must be followed by digits/],
      ['{"i32":1', /expected ',' or '}'/],
      ["", /unexpected end of input/],
    ] as [string, RegExp][]) {
      throwsJson(() => fromJsonString(Scalars, text), re);
    }
    assert.equal(fromJsonString(Scalars, ' {"s" : "\\u00e9\\ud83d\\ude00\\n\\/"} ').s, "é\u{1F600}\n/");
  });

  it("Timestamp: RFC 3339 with Z or offsets in, Z with 0/3/6/9 digits out, range checked", () => {
    const ts = (t: string) => fromJson(Wkt, { ts: t }).ts;
    assert.deepEqual(ts("1970-01-01T00:00:00Z"), { seconds: 0n, nanos: 0 });
    assert.deepEqual(ts("1969-12-31T23:59:59.000000001Z"), { seconds: -1n, nanos: 1 });
    assert.deepEqual(ts("1970-01-01T01:00:00.5+01:00"), { seconds: 0n, nanos: 500000000 });
    assert.deepEqual(ts("0001-01-01T00:00:00Z"), { seconds: -62135596800n, nanos: 0 });
    assert.deepEqual(ts("9999-12-31T23:59:59.999999999Z"), { seconds: 253402300799n, nanos: 999999999 });
    assert.deepEqual(ts("2000-02-29T12:00:00-02:30"), { seconds: BigInt(Date.UTC(2000, 1, 29, 14, 30) / 1000), nanos: 0 });
    const out = (seconds: bigint, nanos: number) => (toJson(Wkt, Wkt.create({ ts: { seconds, nanos } })) as { ts: string }).ts;
    assert.equal(out(0n, 0), "1970-01-01T00:00:00Z");
    assert.equal(out(-1n, 10_000_000), "1969-12-31T23:59:59.010Z");
    assert.equal(out(1n, 1000), "1970-01-01T00:00:01.000001Z");
    assert.equal(out(1n, 1), "1970-01-01T00:00:01.000000001Z");
    assert.equal(out(-62135596800n, 0), "0001-01-01T00:00:00Z");
    assert.equal(out(253402300799n, 0), "9999-12-31T23:59:59Z");
    for (const bad of ["1970-01-01T00:00:00", "1970-01-01 00:00:00Z", "1970-01-01t00:00:00z", "1970-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "1970-01-01T00:00:00.1234567890Z", "9999-12-31T23:59:59-01:00"]) {
      throwsJson(() => fromJson(Wkt, { ts: bad }), /^Wkt\.ts: /);
    }
    throwsJson(() => toJson(Wkt, Wkt.create({ ts: { seconds: 253402300800n, nanos: 0 } })), /^Wkt\.ts: Timestamp\.seconds 253402300800 is outside the Timestamp range/);
    throwsJson(() => toJson(Wkt, Wkt.create({ ts: { seconds: 0n, nanos: -1 } })), /^Wkt\.ts: Timestamp\.nanos -1/);
  });

  it("Duration: seconds with 0/3/6/9 fractional digits and the sign rules", () => {
    const d = (t: string) => fromJson(Wkt, { dur: t }).dur;
    assert.deepEqual(d("1.5s"), { seconds: 1n, nanos: 500000000 });
    assert.deepEqual(d("-0.000000001s"), { seconds: 0n, nanos: -1 });
    assert.deepEqual(d("-315576000000s"), { seconds: -315576000000n, nanos: 0 });
    const out = (seconds: bigint, nanos: number) => (toJson(Wkt, Wkt.create({ dur: { seconds, nanos } })) as { dur: string }).dur;
    assert.equal(out(0n, 0), "0s");
    assert.equal(out(-1n, -500000000), "-1.500s");
    assert.equal(out(0n, -1000), "-0.000001s");
    assert.equal(out(3n, 1), "3.000000001s");
    for (const bad of ["1", "1.5", "s", "+1s", "1.0000000001s", "315576000001s", "99999999999999999999999s", " 1s"]) {
      throwsJson(() => fromJson(Wkt, { dur: bad }), /^Wkt\.dur: /);
    }
    throwsJson(() => toJson(Wkt, Wkt.create({ dur: { seconds: 1n, nanos: -1 } })), /opposite signs/);
    throwsJson(() => toJson(Wkt, Wkt.create({ dur: { seconds: 315576000001n, nanos: 0 } })), /outside the Duration range/);
  });

  it("FieldMask: comma-joined lowerCamelCase paths; paths that would not round-trip fail", () => {
    assert.deepEqual(fromJson(Wkt, { mask: "fooBar,a.bC,x" }).mask, { paths: ["foo_bar", "a.b_c", "x"] });
    assert.deepEqual(fromJson(Wkt, { mask: "" }).mask, { paths: [] });
    assert.deepEqual(toJson(Wkt, Wkt.create({ mask: { paths: ["foo_bar", "a.b_c"] } })), { mask: "fooBar,a.bC" });
    throwsJson(() => fromJson(Wkt, { mask: "foo,bar_baz" }), /^Wkt\.mask\[1\]: FieldMask path "bar_baz" is not lowerCamelCase/);
    for (const p of ["fooBar", "foo__bar", "foo_3_bar", "foo_"]) {
      throwsJson(() => toJson(Wkt, Wkt.create({ mask: { paths: ["ok", p] } })), /^Wkt\.mask\.paths\[1\]: FieldMask path .* has no JSON form/);
    }
  });

  it("Struct, Value and ListValue are plain JSON", () => {
    const json = { st: { a: 1, b: [true, null, "s", { c: {} }], __proto__x: 0 }, val: [1, { k: "v" }], list: [1, "a", []] };
    const w = fromJson(Wkt, json);
    assert.deepEqual(toJson(Wkt, w), json);
    assert.deepEqual(Wkt.fromBinary(Wkt.toBinary(w)), w);
    throwsJson(() => toJson(Wkt, Wkt.create({ val: {} })), /^Wkt\.val: google\.protobuf\.Value has no kind set/);
    throwsJson(() => toJson(Wkt, Wkt.create({ val: { kind: { case: "numberValue", value: NaN } } })), /^Wkt\.val: google\.protobuf\.Value numberValue number NaN has no JSON form/);
    throwsJson(() => fromJson(Wkt, { st: [] }), /^Wkt\.st: expected a JSON object for google\.protobuf\.Struct, got an array/);
    throwsJson(() => fromJsonString(Wkt, '{"val":1e400}'), /^Wkt\.val: number 1e400 is out of the range of a double/);
  });

  it("wrappers are their bare value; Empty is {}", () => {
    const json = { i32w: 0, i64w: "-5", bw: "AQ==", sw: "", boolw: false, dw: "NaN", fw: 1.5, u32w: 7, u64w: "18446744073709551615", empty: {} };
    const w = fromJson(Wkt, json);
    assert.deepEqual(w.i32w, { value: 0 });
    assert.deepEqual(w.u64w, { value: 18446744073709551615n });
    assert.deepEqual(toJson(Wkt, w), json);
    throwsJson(() => fromJson(Wkt, { i32w: "x" }), /^Wkt\.i32w: string "x" is not a valid int32/);
    throwsJson(() => fromJson(Wkt, { empty: { a: 1 } }), /^Wkt\.empty\.a: google\.protobuf\.Empty has no field named "a"/);
  });

  it("Any: fields inline, or a WKT's form under \"value\", resolved through the registry", () => {
    const inner = Scalars.create({ i32: 5, s: "x" });
    const w = Wkt.create({ any: anyPack(Scalars, inner), anys: [anyPack(s.wkt.Duration, { seconds: 3n, nanos: 0 }), anyPack(s.wkt.Any, anyPack(s.wkt.Int32Value, { value: 2 })), anyPack(s.wkt.Empty, {}), { typeUrl: "", value: new Uint8Array(0) }] });
    const j = toJson(Wkt, w, { registry });
    assert.deepEqual(j, {
      any: { "@type": "type.googleapis.com/jt.Scalars", i32: 5, s: "x" },
      anys: [
        { "@type": "type.googleapis.com/google.protobuf.Duration", value: "3s" },
        { "@type": "type.googleapis.com/google.protobuf.Any", value: { "@type": "type.googleapis.com/google.protobuf.Int32Value", value: 2 } },
        { "@type": "type.googleapis.com/google.protobuf.Empty", value: {} },
        {},
      ],
    });
    assert.deepEqual(Scalars.toBinary(anyUnpack(fromJson(Wkt, j, { registry }).any, Scalars)), Scalars.toBinary(inner));
    assert.deepEqual(fromJson(Wkt, j, { registry }), w);
    // "@type" may come after the fields
    assert.equal(anyUnpack(fromJson(Wkt, { any: { i32: 9, "@type": "x.y/jt.Scalars" } }, { registry }).any, Scalars)!.i32, 9);
    throwsJson(() => toJson(Wkt, w), /^Wkt\.any: Any type URL "type\.googleapis\.com\/jt\.Scalars": jt\.Scalars is not in a registry \(pass options\.registry/);
    throwsJson(() => fromJson(Wkt, { any: { "@type": "type.googleapis.com/jt.Nope" } }, { registry }), /^Wkt\.any: Any type URL "type\.googleapis\.com\/jt\.Nope": jt\.Nope is not in options\.registry/);
    throwsJson(() => fromJson(Wkt, { any: { i32: 1 } }, { registry }), /^Wkt\.any: google\.protobuf\.Any needs an "@type" key/);
    throwsJson(() => fromJson(Wkt, { any: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "1s", x: 1 } }, { registry }), /^Wkt\.any\.x: an Any holding google\.protobuf\.Duration has only "@type" and "value"/);
    throwsJson(() => fromJson(Wkt, { any: { "@type": "type.googleapis.com/jt.Scalars", nope: 1 } }, { registry }), /^Wkt\.any\.nope: jt\.Scalars has no field named "nope"/);
    throwsJson(() => toJson(Wkt, Wkt.create({ any: { typeUrl: "type.googleapis.com/jt.Scalars", value: new Uint8Array([0xff]) } }), { registry }), /^Wkt\.any: Any value does not decode as jt\.Scalars/);
  });

  it("Any helpers: pack, is, unpack by type or registry, type URLs", () => {
    const a = anyPack(Scalars, Scalars.create({ s: "p" }), "example.com/types/");
    assert.equal(a.typeUrl, "example.com/types/jt.Scalars");
    assert.ok(anyIs(a, Scalars) && anyIs(a, "jt.Scalars") && !anyIs(a, Collections));
    assert.equal(anyUnpack(a, Scalars)!.s, "p");
    assert.equal(anyUnpack(a, Collections), undefined);
    assert.equal((anyUnpack(a, registry) as { s: string }).s, "p");
    assert.equal(anyUnpack(a, createRegistry(Collections)), undefined);
    assert.deepEqual(parseTypeUrl("type.googleapis.com/a.b.C"), { prefix: "type.googleapis.com", typeName: "a.b.C" });
    assert.throws(() => parseTypeUrl("a.b.C"), /not of the form/);
    assert.throws(() => anyUnpack({ typeUrl: "nope", value: new Uint8Array(0) }, registry), /not of the form/);
    assert.ok(!anyIs({ typeUrl: "", value: new Uint8Array(0) }, ""));
  });

  it("proto2: groups by their field name, explicit presence, closed enums", () => {
    const m = P2.create({ x: 5, grp: { y: 3 }, cs: [1, 2], s: "" });
    const j = toJson(P2, m);
    assert.deepEqual(j, { x: 5, cs: ["ONE", "TWO"], grp: { y: 3 }, s: "" });
    assert.deepEqual(fromJson(P2, j), m);
  });

  it("extensions: \"[pkg.ext]\" keys in and out, through the registry or the loaded modules", () => {
    const { ext_i32$ext, ext_strs$ext, ext_msg$ext } = s.p2;
    const m = P2.create({ x: 1 });
    setExtension(m, ext_i32$ext, 0);
    setExtension(m, ext_strs$ext, ["a", "b"]);
    setExtension(m, ext_msg$ext, P2.create({ s: "in" }));
    const j = toJson(P2, m);
    assert.deepEqual(j, { x: 1, "[jt2.ext_i32]": 0, "[jt2.ext_strs]": ["a", "b"], "[jt2.ext_msg]": { s: "in" } });
    // decoded from binary: the extension fields print too (found through the registry when this
    // test's copy of core is not the one the generated module registered its extensions with)
    assert.deepEqual(toJson(P2, P2.fromBinary(P2.toBinary(m)), { registry }), j);
    for (const o of [{ registry }]) {
      const back = fromJson(P2, j, o);
      assert.equal(getExtension(back, ext_i32$ext), 0);
      assert.deepEqual(getExtension(back, ext_strs$ext), ["a", "b"]);
      assert.equal(getExtension(back, ext_msg$ext).s, "in");
      assert.deepEqual(P2.toBinary(back), P2.toBinary(m));
    }
    throwsJson(() => fromJson(P2, { "[jt2.nope]": 1 }), /^P2\["\[jt2\.nope\]"\]: jt2\.P2 has no field named "\[jt2\.nope\]"/);
    throwsJson(() => fromJson(P2, { "[jt2.ext_i32]": "x" }, { registry }), /^P2\["\[jt2\.ext_i32\]"\]: string "x" is not a valid int32/);
    // a repeated extension's elements are read as a repeated field's are: null is refused
    throwsJson(() => fromJson(P2, { "[jt2.ext_strs]": ["a", null] }, { registry }), /^P2\["\[jt2\.ext_strs\]"\]\[1\]: null is not allowed in a repeated field/);
    throwsJson(() => fromJson(P2, { "[jt2.ext_strs]": "a" }, { registry }), /expected an array for repeated extension jt2\.ext_strs, got string "a"/);
    assert.deepEqual(fromJson(P2, { "[jt2.nope]": 1 }, { ignoreUnknownFields: true }), P2.create());
  });

  it("hostile input: deep nesting fails cleanly, no prototype pollution", () => {
    let text = '{"v":1}';
    for (let i = 0; i < 100; i++) text = `{"next":${text}}`;
    // 100 messages below the root: read, and printed back to the same text
    assert.equal(toJsonString(Node, fromJsonString(Node, text)), text);
    throwsJson(() => fromJsonString(Node, `{"next":${text}}`), /nesting deeper than the limit of 100/);
    throwsJson(() => fromJsonString(Node, "[".repeat(100000)), /nesting deeper than the limit of 202 objects and arrays/);
    // a message in a list takes two JSON levels: fromJsonString reads what fromJson reads
    assert.deepEqual(fromJsonString(Collections, '{"items":[{}]}', { maxDepth: 1 }), fromJson(Collections, { items: [{}] }, { maxDepth: 1 }));
    throwsJson(() => fromJsonString(Wkt, `{"val":${"[".repeat(5000)}${"]".repeat(5000)}}`), /nesting deeper/);
    let deep: unknown = { v: 1 };
    for (let i = 0; i < 500; i++) deep = { next: deep };
    throwsJson(() => fromJson(Node, deep), /^Node(\.next){101}: nesting deeper than the limit of 100/);
    throwsJson(() => fromJson(Node, deep, { maxDepth: 20 }), /limit of 20/);
    // a message that contains itself
    const loop = Node.create({ v: 1 });
    loop.next = loop;
    throwsJson(() => toJson(Node, loop), /message nesting deeper than the limit of 100 \(does the message contain itself\?\)/);
    // "__proto__" is an ordinary key everywhere
    const w = fromJsonString(Wkt, '{"st":{"__proto__":{"polluted":1}},"vmap":{"__proto__":1}}');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(Object.prototype.hasOwnProperty.call(w.st.fields, "__proto__"));
    const out = JSON.parse(toJsonString(Wkt, w)) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(out.st!), ["__proto__"]);
    const c = fromJsonString(Collections, '{"byName":{"__proto__":"1"},"__proto__":5}', { ignoreUnknownFields: true });
    assert.deepEqual(Object.keys(c.byName), ["__proto__"]);
    assert.equal(Object.getPrototypeOf(c), Object.prototype);
    throwsJson(() => fromJsonString(Collections, '{"__proto__":{}}'), /has no field named "__proto__"/);
  });

  it("rejects what is not a message type or options out of range", () => {
    assert.throws(() => toJson(null as never, {}), /toJson: expected a generated message type/);
    assert.throws(() => fromJson(Scalars, {}, { maxDepth: -1 }), /maxDepth must be a non-negative integer/);
    throwsJson(() => toJson(Scalars, null), /^Scalars: expected a jt\.Scalars message object, got null/);
  });
});
