import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type * as Core from "../src/index.js";
import type { MessageType, Registry, TextFormatError as TextFormatErrorType } from "../src/index.js";
import { compileJsonSchemas } from "./json-schema.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Gen = MessageType<any>;

// The generated modules import @sgwire/core (the built package): the test uses the same module
// instance, so the extensions they define are the ones the text format finds.
let TextFormatError: typeof Core.TextFormatError;
let createRegistry: typeof Core.createRegistry, fromText: typeof Core.fromText, toText: typeof Core.toText;
let getExtension: typeof Core.getExtension, setExtension: typeof Core.setExtension;

/** Asserts that fromText fails with a TextFormatError at line:col whose message matches `re`. */
function fails(type: Gen, text: string, line: number, col: number, re: RegExp, options?: Parameters<typeof fromText>[2]): TextFormatErrorType {
  let err: unknown;
  try {
    fromText(type, text, options);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TextFormatError, `expected a TextFormatError for ${JSON.stringify(text)}, got ${String(err)}`);
  assert.equal(`${err.line}:${err.column}`, `${line}:${col}`, err.message);
  assert.match(err.message, re);
  assert.ok(err.message.startsWith(`${line}:${col}: `), err.message);
  return err;
}

describe("text format: toText / fromText with generated codecs", function () {
  this.timeout(120_000);
  let s: Awaited<ReturnType<typeof compileJsonSchemas>>;
  let Scalars: Gen, Collections: Gen, Choice: Gen, Wkt: Gen, Node: Gen, P2: Gen;
  let registry: Registry;
  let protoc: (args: string[], input: Uint8Array | string) => Buffer;
  before(async () => {
    s = await compileJsonSchemas();
    writeFileSync(join(s.dir, "core.ts"), 'export * from "@sgwire/core";\n');
    ({ TextFormatError, createRegistry, fromText, toText, getExtension, setExtension } = (await import(pathToFileURL(join(s.dir, "core.ts")).href)) as typeof Core);
    ({ Scalars, Collections, Choice, Wkt, Node } = s.p3);
    ({ P2 } = s.p2);
    registry = createRegistry(s.p3.$file, s.p2.$file);
    protoc = (args, input) => execFileSync("/usr/bin/protoc", ["-I", s.dir, ...args, join(s.dir, "jt.proto"), join(s.dir, "jt2.proto")], { input });
  });
  after(() => s?.cleanup());

  const decode = (type: string, bin: Uint8Array): string => protoc([`--decode=${type}`], bin).toString();
  const encode = (type: string, text: string): Uint8Array => new Uint8Array(protoc([`--encode=${type}`], text));

  it("prints what protoc --decode prints, byte for byte (scalars, escapes, floats, enums, nesting)", () => {
    const m = Scalars.create({
      d: 1e-7, f: 0.1, i32: -2147483648, i64: 2n ** 63n - 1n, u32: 4294967295, u64: 2n ** 64n - 1n, s32: -7, s64: -(2n ** 63n),
      fx32: 1, fx64: 5n, sf32: -3, sf64: -4n, b: true, s: "héllo\n\"q\" 'x' \\ \u{1F600}\x01\x7f", by: new Uint8Array([0, 1, 200, 39, 34, 92, 9, 13, 255]),
      color: 2, optI32: 0, snakeCaseName: "x", child: { d: 1 / 3, f: 3.4028234663852886e38, i32: 1, child: { d: -0, color: 7 } },
    });
    const text = toText(Scalars, m);
    assert.equal(text, decode("jt.Scalars", Scalars.toBinary(m)));
    // and it reads back as the same message
    assert.deepEqual(Scalars.toBinary(fromText(Scalars, text)), Scalars.toBinary(m));
    for (const d of [1e15, 123456789012, 1e21, 1e-5, 0.0001, 5e-324, Number.MAX_VALUE, -2.5, Infinity, -Infinity, NaN, 100, 1.5e300]) {
      const x = Scalars.create({ d, f: Math.fround(d) });
      assert.equal(toText(Scalars, x), decode("jt.Scalars", Scalars.toBinary(x)), `double ${d}`);
      assert.deepEqual(Scalars.toBinary(fromText(Scalars, toText(Scalars, x))), Scalars.toBinary(x));
    }
  });

  it("prints maps sorted by key, repeated fields, oneofs, groups, extensions and unknown fields as protoc does", () => {
    const c = Collections.create({
      byName: { b: 2n, a: 1n, "": 0n }, byInt: { "10": "x", "-1": "y", "2": "z" }, byBool: { true: 1, false: 2 },
      byU64: { "18446744073709551615": { i32: 1 }, "3": {} }, nums: [1, -2, 3], strs: ["a", ""], items: [{ b: true }, {}], colors: [0, 1, 5],
      blobs: [new Uint8Array([1])], colorByName: { k: 9 },
    });
    assert.equal(toText(Collections, c), decode("jt.Collections", Collections.toBinary(c)));
    const ch = Choice.create({ pick: { case: "msg", value: { s: "in oneof" } }, renamed: "r" });
    assert.equal(toText(Choice, ch), decode("jt.Choice", Choice.toBinary(ch)));
    // proto2: a group by its type name, extensions as [full.name] among the fields, unknown fields by number
    const p = P2.fromBinary(encode("jt2.P2", 'x: 0 c: TWO cs: [ONE, TWO] Grp { y: 3 } s: "s" [jt2.ext_i32]: 7 [jt2.ext_strs]: ["a", "b"] [jt2.ext_msg] { x: 1 }'));
    const tag = (no: number, wt: number): number[] => [((no << 3) | wt) & 0x7f | 0x80, (no << 3) >> 7];
    const unknown = Uint8Array.of(
      ...tag(200, 0), 0x96, 0x01, ...tag(201, 5), 1, 2, 3, 4, ...tag(202, 1), 1, 0, 0, 0, 0, 0, 0, 0x80,
      ...tag(203, 2), 3, 0x08, 0x96, 0x01, ...tag(204, 2), 2, 0xff, 0xfe, ...tag(205, 3), 0x08, 1, ...tag(205, 4),
    );
    const bin = new Uint8Array([...P2.toBinary(p), ...unknown]);
    const withUnknown = P2.fromBinary(bin);
    const expected = decode("jt2.P2", bin);
    assert.equal(toText(P2, withUnknown, { printUnknownFields: true }), expected);
    assert.match(expected, /^Grp \{\n {2}y: 3\n\}$/m);
    assert.match(expected, /^\[jt2\.ext_strs\]: "b"$/m);
    assert.match(expected, /^200: 150\n201: 0x04030201\n202: 0x8000000000000001\n203 \{\n {2}1: 150\n\}\n204: "\\377\\376"\n205 \{\n {2}1: 1\n\}$/m);
    // without the option unknown fields are dropped
    assert.doesNotMatch(toText(P2, withUnknown), /^2\d\d/m);
    // unknown fields printed by number read back as the same fields through protoc
    assert.deepEqual(fromText(P2, toText(P2, withUnknown)).grp, { y: 3 });
  });

  it("reads every syntax form as protoc --encode does", () => {
    const cases: [string, string][] = [
      ["jt.Scalars", 'd: 1.5e3 f: 2.5f i32: 0x7fffffff i64: -0x8000000000000000 u32: 037777777777 u64: 18446744073709551615 s32: -017 b: t s: "a" \'b\' "\\x41\\101\\u00e9\\U0001F600\\n" by: "\\0\\377\\xff" color: GREEN'],
      ["jt.Scalars", "d: -inf f: NaN i32: -0 b: True color: 2 child < d: .5 child: { f: -1.5e-3F } >"],
      ["jt.Scalars", "d: infinity, f: -Infinity; i64: 9223372036854775807 # a comment\n  child {}\n sf64: -9223372036854775808 fx64: 0xFFFFFFFFFFFFFFFF"],
      ["jt.Scalars", "d: 1e9999 f: 1e50 sf32: -2147483648 opt_i32: 0 opt_str: ''"],
      ["jt.Collections", 'nums: [1, 2, 0x3] nums: 4 strs: [] items [{ i32: 1 }, < i32: 2 >] items { b: true } by_name { key: "a" value: 1 } by_name: { value: 2 key: "b" } by_name [{key: "c"}] by_int: [] colors: [RED, 2, 7] by_bool { key: true value: GREEN } by_u64 { key: 5 value { s: "v" } }'],
      ["jt.Choice", "text: 'chosen' renamed: \"r\""],
      ["jt2.P2", "Grp { y: 1 } [jt2.ext_i32]: -5 [jt2.ext_strs]: 'a' [jt2.ext_strs]: ['b', 'c'] [jt2.ext_msg] < Grp: { y: 2 } > cs: [ONE, 2]"],
    ];
    const types: Record<string, Gen> = { "jt.Scalars": Scalars, "jt.Collections": Collections, "jt.Choice": Choice, "jt2.P2": P2 };
    for (const [name, text] of cases) {
      const type = types[name]!;
      const ours = fromText(type, text);
      const theirs = type.fromBinary(encode(name, text));
      // compared through protoc's own printing: same fields, same values (map order aside)
      assert.equal(decode(name, type.toBinary(ours, { deterministic: true })), decode(name, type.toBinary(theirs, { deterministic: true })), text);
      // and our printing reads back to the same message
      assert.deepEqual(type.toBinary(fromText(type, toText(type, ours)), { deterministic: true }), type.toBinary(ours, { deterministic: true }));
    }
    // details protoc's printing hides
    const m = fromText(Scalars, 'i32: -0 d: -0 s: "a" \'b\' "\\u00e9"');
    assert.ok(Object.is(m.d, -0));
    assert.equal(m.s, "abé");
    assert.equal(fromText(Scalars, "f: 1e50").f, Infinity);
    assert.equal(fromText(Scalars, "f: 3.4028235e+39f").f, Infinity);
    assert.equal(fromText(Scalars, "d: 1e-18446744073709551616").d, 0);
    assert.equal(fromText(P2, "[jt2.ext_i32]: 3").$extensions.length, 1);
    assert.equal(getExtension(fromText(P2, "[jt2.ext_i32]: 3"), s.p2.ext_i32$ext), 3);
  });

  it("expands google.protobuf.Any through the registry, both ways", () => {
    const inner = Scalars.create({ i32: 12345, s: "x" });
    const w = Wkt.create({ any: { typeUrl: "type.googleapis.com/jt.Scalars", value: Scalars.toBinary(inner) } });
    const text = toText(Wkt, w, { registry });
    assert.equal(text, 'any {\n  [type.googleapis.com/jt.Scalars] {\n    i32: 12345\n    s: "x"\n  }\n}\n');
    assert.deepEqual(Wkt.toBinary(fromText(Wkt, text, { registry })), Wkt.toBinary(w));
    // without the type in the registry: type_url and value, which read back too
    const raw = toText(Wkt, w);
    assert.equal(raw, decode("jt.Wkt", Wkt.toBinary(w))); // protoc 3.21's --decode does not expand Any
    assert.match(raw, /^ {2}type_url: "type.googleapis.com\/jt.Scalars"\n {2}value: "\\030\\271`/m);
    assert.deepEqual(Wkt.toBinary(fromText(Wkt, raw)), Wkt.toBinary(w));
    fails(Wkt, "any {\n  [type.googleapis.com/jt.Scalars] { i32: 1 }\n}", 2, 3, /Wkt\.any: type "jt\.Scalars" of the Any is not in options\.registry/);
    fails(Wkt, "any { [x.com/no.Such] { } }", 1, 7, /type "no\.Such"/, { registry });
    fails(Wkt, "any { [type.googleapis.com/jt.Scalars] { i32: 1 } [type.googleapis.com/jt.Scalars] { } }", 1, 51, /given twice/, { registry });
    fails(Wkt, "any { [type.googleapis.com/jt.Scalars] { i32: 'x' } }", 1, 47, /Wkt\.any\[type\.googleapis\.com\/jt\.Scalars\]\.i32: expected an integer/, { registry });
  });

  it("rejects bad input with a TextFormatError naming line:column and the field path", () => {
    fails(Scalars, "i32: 1\n  nope: 2", 2, 3, /^2:3: Scalars: jt\.Scalars has no field named "nope"$/);
    fails(Scalars, "i32: 1\ni32: 2", 2, 1, /field i32 is given twice/);
    fails(Scalars, "child { i32: 1 } child { }", 1, 18, /field child is given twice/);
    fails(Choice, "num: 1 text: 'x'", 1, 8, /field text and field num are both given, members of one oneof/);
    fails(Scalars, "i32: 2147483648", 1, 6, /Scalars\.i32: 2147483648 is out of the range of int32/);
    fails(Scalars, "u32: -1", 1, 6, /uint32 cannot be negative/);
    fails(Scalars, "u64: 0x10000000000000000", 1, 6, /out of the range of uint64/);
    fails(Scalars, "i64: 99999999999999999999999999999999999999999999999999", 1, 6, /out of the range of int64/);
    fails(Scalars, "i32: 1.5", 1, 6, /not an integer/);
    fails(Scalars, "i32: 09", 1, 6, /not a valid octal number/);
    fails(Scalars, "f: 0x1", 1, 4, /is not a float \(hex and octal are integers only\)/);
    fails(Scalars, "d: 012", 1, 4, /is not a double/);
    fails(Scalars, "s: '\\xc0'", 1, 4, /Scalars\.s: invalid UTF-8 in a string field/);
    fails(Scalars, "s: 'a\nb'", 1, 6, /line break in a string literal/);
    fails(Scalars, "s: 'abc", 1, 4, /unterminated string literal/);
    fails(Scalars, "s: '\\ud800'", 1, 5, /\\ud800 is a surrogate/);
    fails(Scalars, "s: '\\U00110000'", 1, 5, /past U\+10FFFF/);
    fails(Scalars, "s: '\\q'", 1, 5, /invalid escape \\q/);
    fails(Scalars, "color: BLUE", 1, 8, /"BLUE" is not a value of enum jt\.Color/);
    fails(P2, "c: 3", 1, 4, /3 is not a value of closed enum jt2\.Closed/);
    fails(P2, "cs: [ONE, 7]", 1, 11, /P2\.cs\[1\]: 7 is not a value of closed enum/);
    fails(Scalars, "i32 1", 1, 5, /expected ":" after field name i32, found "1"/);
    fails(Scalars, "child { i32: 1", 1, 15, /expected "}" to close jt\.Scalars, found the end of the input/);
    fails(Scalars, "child { i32: 1 >", 1, 16, /expected a field name, found ">"/);
    fails(Scalars, "i32: 1,,", 1, 8, /expected a field name, found ","/);
    fails(Collections, "nums: [1,]", 1, 10, /expected an integer for int32, found "\]"/);
    fails(Collections, "nums: [1 2]", 1, 10, /"," or "\]" in the list of nums/);
    fails(Collections, "nums: [1; 2]", 1, 9, /"," or "\]"/);
    fails(Collections, "by_name { key: 'a' key: 'b' }", 1, 20, /key is given twice/);
    fails(Collections, "by_name { name: 'a' }", 1, 11, /expected "key" or "value"/);
    fails(Scalars, "b: yes", 1, 4, /expected true or false/);
    fails(Scalars, "i32: 12abc", 1, 6, /invalid number "12abc"/);
    fails(P2, "[jt2.nope]: 1", 1, 1, /"jt2\.nope" is not an extension of jt2\.P2/);
    fails(P2, "[jt2.Grp] { y: 1 }", 1, 1, /not an extension/);
    fails(Scalars, "[type.googleapis.com/jt.Scalars] {}", 1, 21, /expected "\." or "\]"/);
    const e = fails(Collections, "items {}\nitems { child { i32: 'x' } }", 2, 22, /Collections\.items\[1\]\.child\.i32: expected an integer/);
    assert.equal(e.path, "Collections.items[1].child.i32");
    assert.equal(e.detail, 'expected an integer for int32, found "\'x\'"');
  });

  it("skips unknown fields with ignoreUnknownFields, and the names the message reserves", () => {
    const text = "i32: 1 nope: 2 gone { a: [1, 2] b < c: 'x' > [x.y]: 3 } more: [{}, {}] list: [1, -2.5, inf, 'a' 'b'] [no.ext]: 3 s: 'kept'";
    const m = fromText(Scalars, text, { ignoreUnknownFields: true });
    assert.equal(m.i32, 1);
    assert.equal(m.s, "kept");
    fails(Scalars, text, 1, 8, /no field named "nope"/);
    // jt.Scalars has `reserved "old", "older";`: skipped with their values, as protobuf C++ does
    assert.deepEqual(Scalars.reservedNames, ["old", "older"]);
    const r = fromText(Scalars, "old: 5 older { x: 1 } i32: 2", {});
    assert.equal(r.i32, 2);
    fails(Scalars, "oldest: 5", 1, 1, /no field named "oldest"/);
    // skipped values are still checked for syntax
    fails(Scalars, "nope: 'a\\q'", 1, 9, /invalid escape/, { ignoreUnknownFields: true });
  });

  it("round-trips messages through toText and fromText (singleLine too)", () => {
    const c = Collections.create({
      byName: { ["__proto__"]: 1n, "with \"quote\"": 2n }, byInt: { "-2147483648": "min" }, byU64: { "7": { s: "é\u{1F600}", by: new Uint8Array([0, 255]) } },
      nums: [0, -1], items: [{ child: { child: { i32: 3 } } }], colors: [1, 99],
    });
    for (const o of [{}, { singleLine: true }, { utf8Strings: true }]) {
      const t = toText(Collections, c, o);
      const back = fromText(Collections, t);
      assert.deepEqual(Collections.toBinary(back, { deterministic: true }), Collections.toBinary(c, { deterministic: true }), t);
      assert.ok(Object.prototype.hasOwnProperty.call(back.byName, "__proto__"));
      assert.equal(Object.getPrototypeOf(back.byName), null);
    }
    const one = toText(Collections, Collections.create({ nums: [1], items: [{ i32: 2 }] }), { singleLine: true });
    assert.equal(one, "nums: 1 items { i32: 2 }");
    assert.match(toText(Scalars, Scalars.create({ s: "é" }), { utf8Strings: true }), /^s: "é"$/m);
    assert.equal(toText(Scalars, Scalars.create({ s: "é" })), 's: "\\303\\251"\n');
    // an open enum's unknown number prints as a number and reads back
    assert.equal(toText(Scalars, Scalars.create({ color: 42 })), "color: 42\n");
    assert.equal(fromText(Scalars, "color: 42").color, 42);
    // extensions set in code print and read back
    const p = P2.create({});
    setExtension(p, s.p2.ext_strs$ext, ["x", "y"]);
    assert.equal(toText(P2, p), '[jt2.ext_strs]: "x"\n[jt2.ext_strs]: "y"\n');
    assert.deepEqual(getExtension(fromText(P2, toText(P2, p)), s.p2.ext_strs$ext), ["x", "y"]);
  });

  it("survives hostile input: deep nesting, long numbers and strings, prototype names", () => {
    const deep = "next { ".repeat(5000) + "}".repeat(5000);
    fails(Node, deep, 1, 706, /nesting deeper than the limit of 100/);
    const ok = "next { ".repeat(100) + "}".repeat(100);
    assert.ok(fromText(Node, ok).next);
    fails(Node, "next { ".repeat(101) + "}".repeat(101), 1, 706, /limit of 100/);
    fails(Node, "next { ".repeat(11) + "}".repeat(11), 1, 76, /limit of 10/, { maxDepth: 10 });
    fails(Node, "zz { ".repeat(5000), 1, 504, /limit of 100/, { ignoreUnknownFields: true });
    // the printer has its limit too (a message that contains itself)
    const loop: Record<string, unknown> = Node.create({ v: 1 });
    loop.next = loop;
    assert.throws(() => toText(Node, loop), (e: unknown) => e instanceof TextFormatError && /nesting deeper than the limit of 100/.test(e.message));
    const digits = "9".repeat(100_000);
    fails(Scalars, `i64: ${digits}`, 1, 6, /out of the range of int64/);
    assert.equal(fromText(Scalars, `d: ${digits}`).d, Infinity);
    assert.equal(fromText(Scalars, `d: 1e${digits}`).d, Infinity);
    const big = "a".repeat(1 << 20);
    assert.equal(fromText(Scalars, `s: "${big}"`).s.length, 1 << 20);
    fails(Scalars, "__proto__: 1", 1, 1, /no field named "__proto__"/);
    fails(Scalars, "constructor { }", 1, 1, /no field named "constructor"/);
    const m = fromText(Collections, 'by_name { key: "__proto__" value: 1 } by_name { key: "constructor" value: 2 }');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(m.byName), ["__proto__", "constructor"]);
    assert.equal(Object.getPrototypeOf(m.byName), null);
    assert.throws(() => fromText(Scalars, 5 as unknown as string), TextFormatError);
    assert.throws(() => toText(Scalars, Scalars.create({ i32: "x" as unknown as number })), /Scalars\.i32: expected an int32 number for int32, got string "x"/);
  });
});
