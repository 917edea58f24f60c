import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { generate, loadProtoFiles, SchemaError, type GeneratedFile } from "@sgwire/codegen";
import { FIXTURES } from "./oracle.js";

/**
 * Every name protoc accepts works, and both front ends (`sgwire compile` and protoc-gen-sgwire)
 * read it the same way: `__proto__` and Object.prototype's other property names as messages,
 * fields and enum values, messages named like the runtime's helpers, fields whose camelCase names
 * coincide, and a group inside a oneof (test/fixtures/protonames.proto).
 */

const PKG = new URL("..", import.meta.url).pathname;
const PLUGIN = join(PKG, "bin", "protoc-gen-sgwire.js");
const FILE = "protonames.proto";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Codec = { toBinary(m: any): Uint8Array; fromBinary(b: Uint8Array): any; create(m?: any): any };
type Mod = Record<string, Codec> & { Garage_Kind: Record<string, number | string> };

const bytes = (...x: number[]) => Uint8Array.from(x);

describe("every name protoc accepts", () => {
  let out: string;
  let generated: GeneratedFile[];
  let mod: Mod;
  before(async () => {
    generated = generate(loadProtoFiles([join(FIXTURES, FILE)], { includeDirs: [FIXTURES] }));
    // inside the package, so the generated module resolves @sgwire/core
    out = mkdtempSync(join(PKG, "test", ".tmp-names-"));
    for (const g of generated) writeFileSync(join(out, g.path), g.content);
    mod = (await import(join(out, "protonames.sg.ts"))) as Mod;
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it("both front ends generate the same module (sgwire compile and protoc with the plugin)", () => {
    const dir = join(out, "protoc");
    mkdirSync(dir);
    const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${dir}`, "-I", FIXTURES, FILE], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), ["protonames.sg.ts"]);
    assert.equal(readFileSync(join(dir, "protonames.sg.ts"), "utf8"), generated[0]!.content);
  });

  it("keeps __proto__ as a message, a field and an enum value", () => {
    const model = loadProtoFiles([join(FIXTURES, FILE)], { includeDirs: [FIXTURES] })[0]!;
    const proto = model.messages.find((m) => m.fullName === "protonames.__proto__")!;
    assert.ok(proto, "message __proto__ is in the model");
    assert.deepEqual(proto.fields.map((f) => [f.protoName, f.jsName]), [["__proto__", "Proto"], ["constructor", "constructor$"]]);
    const kind = model.enums.find((e) => e.fullName === "protonames.Garage.Kind")!;
    assert.deepEqual(kind.values.map((v) => v.name), ["KIND_ZERO", "__proto__", "constructor", "toString"]);
    // the enum member is __proto__$ (an object cannot own a property __proto__); the others stay
    assert.equal(mod.Garage_Kind["__proto__$"], 1);
    assert.equal(mod.Garage_Kind[1], "__proto__$");
    assert.equal(mod.Garage_Kind["constructor"], 2);
    const P = mod["__proto__"]!;
    const p = P.fromBinary(P.toBinary({ Proto: 7, constructor$: "c" }));
    assert.deepEqual({ ...p }, { Proto: 7, constructor$: "c" });
  });

  it("a closed enum's value __proto__ decodes as that value, not as an unknown field", () => {
    const G = mod["Garage"]!;
    const g = G.fromBinary(bytes(0x08, 0x01, 0x08, 0x02, 0x08, 0x03, 0x08, 0x04));
    assert.deepEqual(g.kinds, [1, 2, 3]);
    assert.equal(g.$unknown.length, 1); // 4 is not a value of the closed enum
  });

  it("fields named like Object.prototype's properties: a message that does not set them encodes", () => {
    const Car = mod["Car"]!;
    assert.deepEqual(Car.toBinary({ driver: "Ada" }), bytes(0x0a, 0x03, 0x41, 0x64, 0x61));
    const all = { driver: "Ada", constructor$: "c", toString$: "t", valueOf$: 5, hasOwnProperty$: true, proto: { Proto: 1 }, toJson: [1, 2], kind: 3 };
    const back = Car.fromBinary(Car.toBinary(all));
    assert.deepEqual({ ...back, proto: { ...back.proto } }, all);
    assert.equal(String(back), "[object Object]"); // toString is still Object.prototype's
    assert.equal(typeof JSON.stringify(back, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)), "string");
    assert.throws(() => Car.toBinary({ constructor$: 5 }), /protonames\.Car\.constructor\$: expected a string, got number 5/);
  });

  it("messages named like the runtime's size helpers leave integer fields in their file intact", () => {
    const V = mod["varint32Size"]!;
    const I = mod["int64Size"]!;
    const S = mod["sint64Size"]!;
    const v = { a: -1, b: 300, c: -2, packed: [1, 128] };
    const vb = V.toBinary(v);
    assert.deepEqual(vb, bytes(
      0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x10, 0xac, 0x02,
      0x18, 0x03,
      0x22, 0x03, 0x01, 0x80, 0x01,
    ));
    assert.deepEqual({ ...V.fromBinary(vb) }, v);
    assert.deepEqual(I.toBinary({ a: -1n, b: 1n << 40n }), bytes(
      0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20,
    ));
    assert.deepEqual(S.toBinary({ a: -3n, v: { b: 1 } }), bytes(0x08, 0x05, 0x12, 0x02, 0x10, 0x01));
    assert.deepEqual(mod["badValue"]!.toBinary({ a: 1 }), bytes(0x08, 0x01));
    assert.throws(() => mod["badValue"]!.toBinary({ a: "x" }), /protonames\.badValue\.a: expected an int32 number/);
  });

  it("enums named like the generated functions' locals (m, v, val) still check closed-enum values", () => {
    const L = mod["Locals"]!;
    const msg = { one: 1, many: [1, 0], byName: { x: 1 } };
    const back = L.fromBinary(L.toBinary(msg));
    assert.deepEqual({ ...back, byName: { ...back.byName } }, msg);
    assert.equal(back.$unknown, undefined);
    // and an unknown value of them is still an unknown field
    assert.equal(L.fromBinary(bytes(0x08, 0x07)).$unknown.length, 1);
  });

  it("fields whose camelCase names coincide get distinct properties (the lower number keeps the camelCase name)", () => {
    const C = mod["Collide"]!;
    const m = { valStr1: "one", val_str_1: "two", fooBar: 3, foo_bar: 4, choice: 7, choice$: { case: "aB$", value: "s" } };
    const b = C.toBinary(m);
    assert.deepEqual(b, bytes(0x0a, 0x03, 0x6f, 0x6e, 0x65, 0x12, 0x03, 0x74, 0x77, 0x6f, 0x18, 0x03, 0x20, 0x04, 0x32, 0x01, 0x73, 0x38, 0x07));
    assert.deepEqual({ ...C.fromBinary(b) }, m);
    assert.deepEqual({ ...C.fromBinary(bytes(0x28, 0x09)) }, { choice$: { case: "aB", value: 9 } });
  });

  it("reads a group inside a oneof (sgwire compile as protoc does)", () => {
    const W = mod["WithGroup"]!;
    const m = { pick: { case: "picked", value: { s: "hi" } }, after: 1 };
    const b = W.toBinary(m);
    assert.deepEqual(b, bytes(0x13, 0x1a, 0x02, 0x68, 0x69, 0x14, 0x28, 0x01));
    const back = W.fromBinary(b);
    assert.deepEqual({ ...back, pick: { ...back.pick, value: { ...back.pick.value } } }, m);
    const model = loadProtoFiles([join(FIXTURES, FILE)], { includeDirs: [FIXTURES] })[0]!;
    assert.deepEqual(model.messages.map((x) => x.fullName).filter((n) => n.startsWith("protonames.WithGroup")), ["protonames.WithGroup", "protonames.WithGroup.Picked"]);
  });

  it("the generated module type-checks under strict options", function () {
    this.timeout(120000);
    writeFileSync(join(out, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true,
        noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noUnusedLocals: true, skipLibCheck: true, types: [],
      },
      files: ["protonames.sg.ts"],
    }));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", join(out, "tsconfig.json")], { stdio: "pipe" });
    } catch (e) {
      assert.fail(`tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? String(e)}`);
    }
  });

  describe("what protoc rejects, sgwire compile rejects", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(PKG, "test", ".tmp-json-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const load = (text: string) => {
      writeFileSync(join(dir, "j.proto"), text);
      return () => loadProtoFiles([join(dir, "j.proto")], { includeDirs: [dir] });
    };

    it("conflicting default JSON names in proto3, at the second field", () => {
      const run = load('syntax = "proto3";\npackage j;\nmessage M {\n  string val_str1 = 1;\n  string val_str_1 = 2;\n}\n');
      assert.throws(run, (e: unknown) => e instanceof SchemaError &&
        /j\.proto:5:10: the default JSON name of field "val_str_1" \("valStr1"\) conflicts with the default JSON name of field "val_str1" in j\.M/.test(e.message));
      const protoc = spawnSync("protoc", ["-I", dir, "--descriptor_set_out=/dev/null", "j.proto"], { encoding: "utf8" });
      assert.notEqual(protoc.status, 0, "protoc rejects it too");
    });

    it("conflicting custom json_name options in any syntax", () => {
      const run = load('syntax = "proto2";\nmessage M {\n  optional string a = 1 [json_name = "x"];\n  optional string b = 2 [json_name = "x"];\n}\n');
      assert.throws(run, /j\.proto:4:19: the custom JSON name of field "b" \("x"\) conflicts with the custom JSON name of field "a"/);
    });

    it("but not coinciding default names in proto2, nor in proto3 with the legacy option", () => {
      assert.doesNotThrow(load('syntax = "proto2";\nmessage M {\n  optional string val_str1 = 1;\n  optional string val_str_1 = 2;\n}\n'));
      assert.doesNotThrow(load('syntax = "proto3";\nmessage M {\n  option deprecated_legacy_json_field_conflicts = true;\n  string val_str1 = 1;\n  string val_str_1 = 2;\n}\n'));
    });
  });
});
