/**
 * Extensions in the generator: both front ends (sgwire compile's protobufjs parser, protoc's
 * descriptors through protoc-gen-sgwire) build the same model and write the same files; the
 * generated descriptors type-check under strict options, and a wrong value type does not.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileModelsFromDescriptors, generate, loadProtoFiles, SchemaError } from "../src/index.js";
import { FileDescriptorSet } from "../src/gen/google/protobuf/descriptor.sg.js";
import { readTree } from "./tree.js";

const PKG = new URL("..", import.meta.url).pathname;
const PLUGIN = join(PKG, "bin", "protoc-gen-sgwire.js");

const BASE = `syntax = "proto2";
package ex;

message Base {
  optional int32 a = 1;
  extensions 10 to 19;
  optional string b = 20;
  extensions 100 to 200, 300 to max;
  map<string, int32> m = 21;
}

enum Level { LOW = 3; HIGH = 4; }

message Sub { optional int32 x = 1; }
`;

const USE = `syntax = "proto2";
package ex.use;
import "base.proto";

extend ex.Base {
  optional int32 plain = 10;
  optional ex.Level level = 11 [default = HIGH];
  repeated sint64 many = 12 [packed = true];
  optional bytes blob = 13 [default = "a\\001"];
  optional group Grp = 100 { optional string s = 1; }
  repeated ex.Sub subs = 300;
}

message Scope {
  extend ex.Base {
    optional string note = 101;
    optional Scope self = 102;
  }
  message Deeper {
    extend ex.Base { optional double ratio = 103 [default = 0.5]; }
  }
}
`;

describe("extensions in generated code", function () {
  this.timeout(120_000);
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-ext-gen-"));
    writeFileSync(join(dir, "base.proto"), BASE);
    writeFileSync(join(dir, "use.proto"), USE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const compiled = () => loadProtoFiles([join(dir, "base.proto"), join(dir, "use.proto")], { includeDirs: [dir] });

  it("models extensions and extension ranges (sgwire compile)", () => {
    const [base, use] = compiled();
    assert.deepEqual(base!.messages.find((m) => m.fullName === "ex.Base")!.extensionRanges, [[10, 19], [100, 200], [300, 0x1fffffff]]);
    assert.deepEqual(use!.extensions.map((x) => [x.fullName, x.tsName, x.number, x.jsonName]), [
      ["ex.use.plain", "plain$ext", 10, "[ex.use.plain]"],
      ["ex.use.level", "level$ext", 11, "[ex.use.level]"],
      ["ex.use.many", "many$ext", 12, "[ex.use.many]"],
      ["ex.use.blob", "blob$ext", 13, "[ex.use.blob]"],
      ["ex.use.grp", "grp$ext", 100, "[ex.use.grp]"],
      ["ex.use.subs", "subs$ext", 300, "[ex.use.subs]"],
      ["ex.use.Scope.note", "Scope_note$ext", 101, "[ex.use.Scope.note]"],
      ["ex.use.Scope.self", "Scope_self$ext", 102, "[ex.use.Scope.self]"],
      ["ex.use.Scope.Deeper.ratio", "Scope_Deeper_ratio$ext", 103, "[ex.use.Scope.Deeper.ratio]"],
    ]);
    const level = use!.extensions[1]!;
    assert.equal(level.defaultValue, 4);
    assert.equal(level.extendee.fullName, "ex.Base");
    assert.equal(level.extendee.file, "base.proto");
    const grp = use!.extensions[4]!;
    assert.deepEqual(grp.type, { kind: "message", ref: { fullName: "ex.use.Grp", tsName: "Grp", file: "use.proto" }, delimited: true });
    assert.equal(use!.extensions[2]!.packed, true);
    assert.deepEqual(use!.dependencies, ["base.proto"]);
  });

  it("protoc's descriptors give the same model and protoc-gen-sgwire the same files", () => {
    const set = join(dir, "set.binpb");
    execFileSync("protoc", ["-I", dir, "--include_imports", "--include_source_info", `--descriptor_set_out=${set}`, "base.proto", "use.proto"]);
    const fromDescriptors = fileModelsFromDescriptors(FileDescriptorSet.fromBinary(readFileSync(set)).file);
    assert.deepEqual(fromDescriptors, compiled());
    const out = join(dir, "protoc-out");
    mkdirSync(out);
    const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${out}`, "-I", dir, "base.proto", "use.proto"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const got = readTree(out);
    const want = new Map(generate(compiled()).map((g) => [g.path, g.content]));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [p, text] of want) assert.equal(got.get(p), text, p);
    const use = want.get("use.sg.ts")!;
    assert.match(use, /export const level\$ext: Extension<\$dep0\.Base, \$dep0\.Level> = defineExtension<\$dep0\.Base, \$dep0\.Level>\(\{/);
    assert.match(use, /typeName: "ex\.use\.grp", extendee: \$dep0\.Base, field: \{ no: 100, name: "grp", T: Grp, presence: "explicit", delimited: true \}/);
    assert.match(use, /extensions: \[plain\$ext, level\$ext, many\$ext, blob\$ext, grp\$ext, subs\$ext, Scope_note\$ext, Scope_self\$ext, Scope_Deeper_ratio\$ext\]/);
    // the extendee writes its extension ranges between its fields, and only it pays for them
    const base = want.get("base.sg.ts")!;
    const size = base.slice(base.indexOf("function size$Base"), base.indexOf("function write$Base"));
    assert.deepEqual([...size.matchAll(/sizeExtensions\(m\.\$extensions, e, (\d+), (\d+)\)/g)].map((x) => [x[1], x[2]]), [["10", "19"], ["100", "536870911"]]);
    assert.ok(size.indexOf("sizeExtensions(m.$extensions, e, 10, 19)") < size.indexOf('"b"'));
    assert.ok(size.indexOf('"m"') < size.indexOf("sizeExtensions(m.$extensions, e, 100,"));
    const sub = base.slice(base.indexOf("function size$Sub"), base.indexOf("function write$Sub"));
    // a type without ranges sizes no extensions; it only refuses $extensions set on it
    assert.deepEqual(sub.split("\n").filter((l) => /xtension/.test(l)), ['  if ((m as { $extensions?: unknown }).$extensions !== undefined) noExtensionRanges("ex.Sub");']);
    assert.doesNotMatch(base.slice(base.indexOf("function write$Sub"), base.indexOf("function read$Sub")), /xtension/);
    assert.doesNotMatch(base.slice(base.indexOf("function read$Sub")), /keepExtension/);
  });

  it("the generated code type-checks under strict options; wrong value types do not", () => {
    const out = join(dir, "tsc");
    mkdirSync(out, { recursive: true });
    for (const g of generate(compiled())) writeFileSync(join(out, g.path), g.content);
    mkdirSync(join(out, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(join(PKG, "node_modules", "@sgwire", "core"), join(out, "node_modules", "@sgwire", "core"));
    writeFileSync(join(out, "use-it.ts"), `
import { clearExtension, getExtension, hasExtension, setExtension, createRegistry } from "@sgwire/core";
import { Base, Level, Sub } from "./base.sg.js";
import { grp$ext, level$ext, many$ext, plain$ext, Scope_self$ext, subs$ext, Scope, $file } from "./use.sg.js";

const m: Base = Base.create({ a: 1 });
setExtension(m, plain$ext, 5);
setExtension(m, level$ext, Level.LOW);
setExtension(m, many$ext, [1n, -2n]);
setExtension(m, grp$ext, { s: "x" });
setExtension(m, subs$ext, [Sub.create({ x: 1 })]);
setExtension(m, Scope_self$ext, Scope.create());
const n: number = getExtension(m, plain$ext);
const l: Level = getExtension(m, level$ext);
const many: bigint[] = getExtension(m, many$ext);
const s: string | undefined = getExtension(m, grp$ext).s;
const has: boolean = hasExtension(m, subs$ext);
clearExtension(m, subs$ext);
const found = createRegistry($file).getExtension("ex.use.plain");
// @ts-expect-error an int32 extension takes a number
setExtension(m, plain$ext, "5");
// @ts-expect-error a packed sint64 extension takes bigints
setExtension(m, many$ext, [1]);
// @ts-expect-error a repeated extension's value is an array
const wrong: Sub = getExtension(m, subs$ext);
export { n, l, many, s, has, found, wrong };
`);
    writeFileSync(join(out, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true,
        noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noUnusedLocals: true, skipLibCheck: true, types: [],
      },
      files: ["base.sg.ts", "use.sg.ts", "use-it.ts"],
    }));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", join(out, "tsconfig.json")], { encoding: "utf8" });
    assert.equal(r.status, 0, `tsc reported errors:\n${r.stdout}`);
    // without the expectations, tsc reports exactly those three lines
    writeFileSync(join(out, "use-it.ts"), readFileSync(join(out, "use-it.ts"), "utf8").replace(/\/\/ @ts-expect-error.*\n/g, ""));
    const bad = spawnSync(process.execPath, [tsc, "-p", join(out, "tsconfig.json")], { encoding: "utf8" });
    assert.equal(bad.stdout.match(/error TS/g)?.length, 3, bad.stdout);
  });

  it("two extensions that get one TypeScript name are an error in both front ends", () => {
    const clash = `syntax = "proto2";\npackage cl;\nmessage B { extensions 1 to 10; }\nextend B { optional int32 A_x = 1; }\nmessage A {\n  extend B { optional int32 x = 2; }\n}\n`;
    writeFileSync(join(dir, "clash.proto"), clash);
    assert.throws(() => loadProtoFiles([join(dir, "clash.proto")], { includeDirs: [dir] }), (e: unknown) =>
      e instanceof SchemaError && /cl\.A\.x and cl\.A_x both become the TypeScript name A_x\$ext/.test(e.message));
    const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${dir}`, "-I", dir, "clash.proto"], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /clash\.proto:6:\d+: cl\.A\.x and cl\.A_x both become the TypeScript name A_x\$ext/);
  });
});
