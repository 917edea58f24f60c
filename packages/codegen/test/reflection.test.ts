// Reflection in generated code (MessageType.fields/oneofs/field, <Enum>$enum, $file) checked
// against protoc's own descriptors (--descriptor_set_out --include_imports) of a schema covering
// every field kind, for the modules `sgwire compile` writes and those protoc-gen-sgwire writes.
// Also createRegistry. The generated code imports @sgwire/core's dist/: build core first.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRegistry, type EnumType, type FieldInfo, type FileInfo, type MessageType, type ScalarType } from "@sgwire/core";
import {
  FileDescriptorSet, FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type,
  type DescriptorProto, type EnumDescriptorProto, type FieldDescriptorProto, type FileDescriptorProto,
} from "../src/gen/google/protobuf/descriptor.sg.js";

const PKG = new URL("..", import.meta.url).pathname;
const CORE = join(PKG, "../core");

const DEP = `syntax = "proto3";
package refl.dep;
enum Level { LEVEL_UNSPECIFIED = 0; LOW = 1; HIGH = 2; }
message Dep { string id = 1; Level level = 2; }
`;
const KINDS = `syntax = "proto3";
package refl;
import "refl/dep.proto";
enum Color { option allow_alias = true; COLOR_UNSPECIFIED = 0; RED = 1; CRIMSON = 1; BLUE = -2; }
message Kinds {
  message Inner {
    enum Mode { MODE_UNSPECIFIED = 0; FAST = 1; }
    int32 x = 1;
    Mode mode = 2;
  }
  double f_double = 1; float f_float = 2; int32 f_int32 = 3; int64 f_int64 = 4; uint32 f_uint32 = 5;
  uint64 f_uint64 = 6; sint32 f_sint32 = 7; sint64 f_sint64 = 8; fixed32 f_fixed32 = 9;
  fixed64 f_fixed64 = 10; sfixed32 f_sfixed32 = 11; sfixed64 f_sfixed64 = 12; bool f_bool = 13;
  string f_string = 14; bytes f_bytes = 15;
  Color color = 16;
  refl.dep.Level level = 17;
  Inner inner = 18;
  refl.dep.Dep dep = 19;
  repeated int32 r_int32 = 20;
  repeated double r_double = 21 [packed = false];
  repeated string r_string = 22;
  repeated bytes r_bytes = 23;
  repeated Inner r_inner = 24;
  repeated Color r_color = 25;
  map<string, int32> m_string_int32 = 26;
  map<int64, refl.dep.Dep> m_int64_dep = 27;
  map<bool, bytes> m_bool_bytes = 28;
  map<uint32, Color> m_uint32_color = 29;
  map<sint64, string> m_sint64_string = 30;
  map<fixed32, double> m_fixed32_double = 31;
  map<sfixed64, Inner> m_sfixed64_inner = 32;
  oneof choice { int32 c_int32 = 33; string c_string = 34; Inner c_inner = 35; Color c_color = 36; bytes c_bytes = 37; }
  oneof other { refl.dep.Dep o_dep = 38; uint64 o_uint64 = 39; }
  optional int32 opt_int32 = 40;
  optional string opt_string = 41;
  optional Color opt_color = 42;
  int32 custom = 43 [json_name = "customJSON"];
  string constructor = 44;
  int32 to_string = 45;
  bool value_of = 46;
  int32 big = 536870911;
}
message Object { int32 a = 1; reserved "gone", "older"; reserved 7 to 9; }
`;
const LEGACY = `syntax = "proto2";
package refl.legacy;
import "refl/dep.proto";
enum Kind { A = 1; B = 2; }
enum Flag { F0 = 0; F1 = 1; }
message Legacy {
  required int32 id = 1;
  optional string name = 2 [default = "n"];
  optional Kind kind = 3 [default = B];
  optional group G = 4 { optional int32 x = 5; repeated string y = 6; }
  repeated int32 packed_r = 7 [packed = true];
  repeated int32 unpacked_r = 8;
  repeated group RG = 9 { required int32 z = 10; }
  optional refl.dep.Dep dep = 11;
  map<string, Flag> flags = 12;
  optional double val_str1 = 13;
  optional double val_str_1 = 14;
  oneof o { Kind o_kind = 15; string o_str = 16; }
  repeated Kind r_kind = 17;
  extensions 100 to 200;
}
`;
const FILES = ["refl/dep.proto", "refl/kinds.proto", "refl/legacy.proto"];

/** Property names expected where lowerCamelCase(name) is not the name: reserved names and a clash. */
const LOCAL_NAMES: Record<string, string> = {
  "refl.Kinds.constructor": "constructor$",
  "refl.Kinds.to_string": "toString$",
  "refl.Kinds.value_of": "valueOf$",
  "refl.legacy.Legacy.val_str_1": "val_str_1",
};

const SCALAR_OF: Partial<Record<Type, ScalarType>> = {
  [Type.TYPE_DOUBLE]: "double", [Type.TYPE_FLOAT]: "float", [Type.TYPE_INT64]: "int64", [Type.TYPE_UINT64]: "uint64",
  [Type.TYPE_INT32]: "int32", [Type.TYPE_FIXED64]: "fixed64", [Type.TYPE_FIXED32]: "fixed32", [Type.TYPE_BOOL]: "bool",
  [Type.TYPE_STRING]: "string", [Type.TYPE_BYTES]: "bytes", [Type.TYPE_UINT32]: "uint32", [Type.TYPE_SFIXED32]: "sfixed32",
  [Type.TYPE_SFIXED64]: "sfixed64", [Type.TYPE_SINT32]: "sint32", [Type.TYPE_SINT64]: "sint64",
};

function run(r: SpawnSyncReturns<string>, what: string): void {
  if (r.error !== undefined) throw new Error(`${what}: ${r.error.message}`);
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}`);
}

function camel(name: string): string {
  return name.replace(/_+([^_])?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase());
}

/** A module's exports: its message types, `$enum`s and `$file`. */
type Module = Record<string, unknown> & { $file: FileInfo };

interface Messages {
  /** every message descriptor by full name, map entries included */
  all: Map<string, { d: DescriptorProto; file: FileDescriptorProto }>;
  /** full names of the messages generated code has, per file, in declaration order (pre-order) */
  perFile: Map<string, string[]>;
  enums: Map<string, { d: EnumDescriptorProto; file: FileDescriptorProto }>;
  enumsPerFile: Map<string, string[]>;
}

function index(set: FileDescriptorSet): Messages {
  const out: Messages = { all: new Map(), perFile: new Map(), enums: new Map(), enumsPerFile: new Map() };
  for (const file of set.file) {
    const msgs: string[] = [];
    const enums: string[] = [];
    const addEnum = (e: EnumDescriptorProto, scope: string) => {
      const name = `${scope}.${e.name!}`;
      out.enums.set(name, { d: e, file });
      enums.push(name);
    };
    const walk = (d: DescriptorProto, scope: string) => {
      const name = `${scope}.${d.name!}`;
      out.all.set(name, { d, file });
      if (d.options?.mapEntry !== true) msgs.push(name);
      for (const n of d.nestedType) walk(n, name);
      for (const e of d.enumType) addEnum(e, name);
    };
    for (const e of file.enumType) addEnum(e, file.package!);
    for (const d of file.messageType) walk(d, file.package!);
    out.perFile.set(file.name!, msgs);
    out.enumsPerFile.set(file.name!, enums);
  }
  return out;
}

/** What FieldInfo must say about descriptor field `d` of message `owner`. */
function checkField(f: FieldInfo, d: FieldDescriptorProto, owner: string, msg: DescriptorProto, file: FileDescriptorProto, idx: Messages): void {
  const where = `${owner}.${d.name!}`;
  assert.equal(f.number, d.number, `${where}: number`);
  assert.equal(f.name, d.name, `${where}: name`);
  assert.equal(f.jsonName, d.jsonName, `${where}: jsonName`);
  assert.equal(f.localName, LOCAL_NAMES[where] ?? camel(d.name!), `${where}: localName`);
  const proto3 = file.syntax === "proto3";
  const entry = d.type === Type.TYPE_MESSAGE ? idx.all.get(d.typeName!.slice(1)) : undefined;
  const isMap = entry?.d.options?.mapEntry === true;
  const repeated = d.label === Label.LABEL_REPEATED;
  // oneof: a real one (protoc also puts proto3 `optional` fields in a synthetic oneof)
  const realOneof = d.oneofIndex !== undefined && d.proto3Optional !== true ? msg.oneofDecl[d.oneofIndex]!.name : undefined;
  assert.equal(f.oneof, realOneof, `${where}: oneof`);
  const presence = d.label === Label.LABEL_REQUIRED ? "required"
    : repeated ? "implicit"
    : !proto3 || d.proto3Optional === true || d.oneofIndex !== undefined || d.type === Type.TYPE_MESSAGE || d.type === Type.TYPE_GROUP ? "explicit"
    : "implicit";
  assert.equal(f.presence, presence, `${where}: presence`);
  assert.equal(f.repeated, repeated && !isMap, `${where}: repeated`);
  const packable = repeated && !isMap && SCALAR_OF[d.type!] !== "string" && SCALAR_OF[d.type!] !== "bytes"
    && d.type !== Type.TYPE_MESSAGE && d.type !== Type.TYPE_GROUP;
  const packed = packable && (proto3 ? d.options?.packed !== false : d.options?.packed === true);
  assert.equal(f.packed, packed, `${where}: packed`);
  if (isMap) {
    assert.equal(f.kind, "map", `${where}: kind`);
    if (f.kind !== "map") return;
    const [k, v] = [entry!.d.field.find((x) => x.number === 1)!, entry!.d.field.find((x) => x.number === 2)!];
    assert.equal(f.key, SCALAR_OF[k.type!], `${where}: map key`);
    if (v.type === Type.TYPE_MESSAGE) {
      assert.equal(f.value.kind, "message", `${where}: map value kind`);
      assert.equal(f.value.kind === "message" && f.value.message.typeName, v.typeName!.slice(1), `${where}: map value type`);
    } else if (v.type === Type.TYPE_ENUM) {
      assert.equal(f.value.kind, "enum", `${where}: map value kind`);
      assert.equal(f.value.kind === "enum" && f.value.enum.typeName, v.typeName!.slice(1), `${where}: map value type`);
    } else {
      assert.deepEqual(f.value, { kind: "scalar", scalar: SCALAR_OF[v.type!] }, `${where}: map value`);
    }
    return;
  }
  if (d.type === Type.TYPE_MESSAGE || d.type === Type.TYPE_GROUP) {
    assert.equal(f.kind, "message", `${where}: kind`);
    if (f.kind !== "message") return;
    assert.equal(f.message.typeName, d.typeName!.slice(1), `${where}: message type`);
    assert.equal(f.delimited, d.type === Type.TYPE_GROUP, `${where}: delimited`);
  } else if (d.type === Type.TYPE_ENUM) {
    assert.equal(f.kind, "enum", `${where}: kind`);
    assert.equal(f.kind === "enum" && f.enum.typeName, d.typeName!.slice(1), `${where}: enum type`);
  } else {
    assert.equal(f.kind, "scalar", `${where}: kind`);
    assert.equal(f.kind === "scalar" && f.scalar, SCALAR_OF[d.type!], `${where}: scalar type`);
  }
}

function checkEnum(e: EnumType, d: EnumDescriptorProto, file: FileDescriptorProto, name: string): void {
  assert.equal(e.typeName, name);
  assert.deepEqual(e.values.map((v) => [v.name, v.number]), d.value.map((v) => [v.name, v.number]), `${name}: values`);
  assert.equal(e.closed, file.syntax !== "proto3", `${name}: closed`);
  for (const v of d.value) {
    assert.equal(e.byName(v.name!)?.number, v.number, `${name}.${v.name!}: byName`);
    // byNumber gives the first declared name of a number (aliases after it)
    assert.equal(e.byNumber(v.number!)?.name, d.value.find((x) => x.number === v.number)!.name, `${name}: byNumber(${v.number!})`);
  }
  assert.equal(e.byNumber(12345), undefined);
  assert.equal(e.byName("NOPE"), undefined);
}

/** Checks every generated module of one output directory against protoc's descriptors. */
function checkModules(mods: Map<string, Module>, set: FileDescriptorSet, who: string): void {
  const idx = index(set);
  let fieldsChecked = 0;
  for (const file of set.file) {
    const mod = mods.get(file.name!);
    assert.ok(mod, `${who}: module for ${file.name!}`);
    const info = mod.$file;
    assert.equal(info.name, file.name, `${who}: $file.name`);
    assert.equal(info.package, file.package, `${who}: $file.package`);
    assert.equal(info.syntax, file.syntax ?? "proto2", `${who}: $file.syntax`);
    assert.deepEqual(info.dependencies.map((x) => x.name), file.dependency, `${who}: ${file.name!} dependencies`);
    for (const dep of info.dependencies) assert.equal(dep, mods.get(dep.name)!.$file, `${who}: a dependency is the imported module's $file`);
    assert.deepEqual(info.messages.map((m) => m.typeName), idx.perFile.get(file.name!), `${who}: ${file.name!} messages`);
    assert.deepEqual(info.enums.map((e) => e.typeName), idx.enumsPerFile.get(file.name!), `${who}: ${file.name!} enums`);
    for (const e of info.enums) {
      const { d } = idx.enums.get(e.typeName)!;
      checkEnum(e, d, file, e.typeName);
      // exported as <TsName>$enum
      assert.ok(Object.values(mod).includes(e), `${who}: ${e.typeName} is exported`);
    }
    for (const m of info.messages) {
      const { d } = idx.all.get(m.typeName)!;
      const byNumber = [...d.field].sort((a, b) => a.number! - b.number!);
      assert.deepEqual(m.fields.map((f) => f.number), byNumber.map((f) => f.number), `${who}: ${m.typeName} field numbers, in order`);
      for (const fd of byNumber) {
        const f = m.field(fd.number!);
        assert.ok(f, `${who}: ${m.typeName}.field(${fd.number!})`);
        assert.equal(f, m.fields.find((x) => x.number === fd.number), "field(n) is the FieldInfo of fields");
        checkField(f, fd, m.typeName, d, file, idx);
        fieldsChecked++;
        // the property exists where create() sets one (implicit presence, repeated, maps)
        if (f.oneof === undefined && (f.presence === "implicit") && f.kind !== "message") {
          assert.ok(Object.hasOwn(m.create() as object, f.localName), `${who}: ${m.typeName}.create() has ${f.localName}`);
        }
      }
      assert.equal(m.field(99999), undefined);
      assert.deepEqual(m.reservedNames, d.reservedName, `${who}: ${m.typeName} reservedNames`);
      const real = d.oneofDecl.filter((_o, i) => !d.field.some((f) => f.oneofIndex === i && f.proto3Optional === true));
      assert.deepEqual(m.oneofs.map((o) => o.name), real.map((o) => o.name), `${who}: ${m.typeName} oneofs`);
      for (const o of m.oneofs) {
        const i = d.oneofDecl.findIndex((x) => x.name === o.name);
        assert.deepEqual(o.fields.map((f) => f.number), d.field.filter((f) => f.oneofIndex === i).map((f) => f.number!).sort((a, b) => a - b), `${who}: ${m.typeName}.${o.name} members`);
        assert.ok(o.fields.every((f) => f.oneof === o.localName));
      }
    }
  }
  const total = [...idx.perFile.values()].flat().reduce((n, name) => n + idx.all.get(name)!.d.field.length, 0);
  assert.equal(fieldsChecked, total, `${who}: every field checked`);
  assert.ok(total >= 65);
}

describe("reflection: generated metadata against protoc's descriptors", function () {
  this.timeout(180_000);
  let dir = "";
  let set: FileDescriptorSet;
  const compiled = new Map<string, Module>();
  const plugin = new Map<string, Module>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-reflection-"));
    mkdirSync(join(dir, "proto", "refl"), { recursive: true });
    writeFileSync(join(dir, "proto", "refl", "dep.proto"), DEP);
    writeFileSync(join(dir, "proto", "refl", "kinds.proto"), KINDS);
    writeFileSync(join(dir, "proto", "refl", "legacy.proto"), LEGACY);
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(CORE, join(dir, "node_modules", "@sgwire", "core"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const proto = join(dir, "proto");
    run(spawnSync(process.execPath, [join(PKG, "bin/sgwire.js"), "compile", "--out", join(dir, "compiled"), "-I", proto, ...FILES.map((f) => join(proto, f))], { encoding: "utf8" }), "sgwire compile");
    mkdirSync(join(dir, "plugin"));
    run(spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${join(PKG, "bin/protoc-gen-sgwire.js")}`, `--sgwire_out=${join(dir, "plugin")}`, "-I", proto, ...FILES], { encoding: "utf8" }), "protoc (plugin)");
    run(spawnSync("protoc", [`--descriptor_set_out=${join(dir, "set.pb")}`, "--include_imports", "-I", proto, ...FILES], { encoding: "utf8" }), "protoc (descriptor set)");
    set = FileDescriptorSet.fromBinary(readFileSync(join(dir, "set.pb")));
    for (const [out, mods] of [["compiled", compiled], ["plugin", plugin]] as const) {
      for (const f of FILES) mods.set(f, await import(pathToFileURL(join(dir, out, f.replace(/\.proto$/, ".sg.ts"))).href) as Module);
    }
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("protoc's descriptor set has the schema (the oracle is not empty)", () => {
    assert.deepEqual(set.file.map((f) => f.name), FILES);
    assert.equal(set.file[1]!.messageType[0]!.field.length, 47);
  });

  it("sgwire compile's modules: fields, oneofs, enums and $file match the descriptors", () => {
    checkModules(compiled, set, "sgwire compile");
  });

  it("protoc-gen-sgwire's modules: fields, oneofs, enums and $file match the descriptors", () => {
    checkModules(plugin, set, "protoc-gen-sgwire");
  });

  it("spot checks: json_name, $-suffixed names, groups, proto2 defaults, the message named Object", () => {
    const k = compiled.get("refl/kinds.proto")!;
    const Kinds = k.Kinds as MessageType<Record<string, unknown>>;
    assert.equal(Kinds.field(43)!.jsonName, "customJSON");
    assert.equal(Kinds.field(43)!.localName, "custom");
    assert.equal(Kinds.field(44)!.localName, "constructor$");
    assert.equal(Kinds.create()["constructor$"], "");
    assert.equal(Kinds.field(40)!.presence, "explicit");
    assert.equal(Kinds.field(18)!.presence, "explicit", "a proto3 singular message field");
    assert.equal(Kinds.field(24)!.presence, "implicit", "a repeated message field");
    assert.equal(Kinds.field(40)!.oneof, undefined);
    assert.equal(Kinds.field(536870911)!.name, "big");
    assert.equal((k.Object$ as MessageType<unknown>).typeName, "refl.Object");
    assert.equal(k.Color$enum, createRegistry(k.$file).getEnum("refl.Color"));
    const l = compiled.get("refl/legacy.proto")!;
    const Legacy = l.Legacy as MessageType<Record<string, unknown>>;
    const g = Legacy.field(4)!;
    assert.ok(g.kind === "message" && g.delimited && g.message.typeName === "refl.legacy.Legacy.G" && g.name === "g");
    assert.equal(Legacy.field(1)!.presence, "required");
    assert.equal(Legacy.field(7)!.packed, true);
    assert.equal(Legacy.field(8)!.packed, false);
    assert.equal(Legacy.field(14)!.localName, "val_str_1");
    assert.equal(Legacy.defaults.name, "n");
  });
});

describe("createRegistry", function () {
  this.timeout(180_000);
  let dir = "";
  const a = new Map<string, Module>();
  const b = new Map<string, Module>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-registry-"));
    mkdirSync(join(dir, "proto", "refl"), { recursive: true });
    writeFileSync(join(dir, "proto", "refl", "dep.proto"), DEP);
    writeFileSync(join(dir, "proto", "refl", "kinds.proto"), KINDS);
    writeFileSync(join(dir, "proto", "refl", "legacy.proto"), LEGACY);
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(CORE, join(dir, "node_modules", "@sgwire", "core"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const proto = join(dir, "proto");
    // the same schema generated twice: two sets of distinct types with the same names
    for (const [out, mods] of [["a", a], ["b", b]] as const) {
      run(spawnSync(process.execPath, [join(PKG, "bin/sgwire.js"), "compile", "--out", join(dir, out), "-I", proto, ...FILES.map((f) => join(proto, f))], { encoding: "utf8" }), "sgwire compile");
      for (const f of FILES) mods.set(f, await import(pathToFileURL(join(dir, out, f.replace(/\.proto$/, ".sg.ts"))).href) as Module);
    }
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("looks up messages, enums and nested types by full name; a file brings the files it imports", () => {
    const kinds = a.get("refl/kinds.proto")!;
    const dep = a.get("refl/dep.proto")!;
    const reg = createRegistry(kinds.$file);
    assert.equal(reg.getMessage("refl.Kinds"), kinds.Kinds);
    assert.equal(reg.getMessage("refl.Kinds.Inner"), kinds.Kinds_Inner);
    assert.equal(reg.getEnum("refl.Kinds.Inner.Mode"), kinds.Kinds_Inner_Mode$enum);
    assert.equal(reg.getMessage("refl.dep.Dep"), dep.Dep, "from the imported file");
    assert.equal(reg.getEnum("refl.dep.Level"), dep.Level$enum);
    assert.equal(reg.getMessage("refl.legacy.Legacy"), undefined, "a file not imported");
    assert.equal(reg.getMessage("refl.Color"), undefined, "an enum is not a message");
    assert.equal(reg.getEnum("refl.Kinds"), undefined);
    assert.equal(reg.getMessage("refl.Kinds.MStringInt32Entry"), undefined, "map entries are not types of their own");
    const names = [...reg].map((t) => t.typeName);
    assert.equal(new Set(names).size, names.length, "each type once");
    assert.deepEqual(names.slice(0, 3), ["refl.dep.Dep", "refl.dep.Level", "refl.Kinds"], "dependencies first, then the file's messages and enums");
  });

  it("takes types, files and registries; the same type twice is fine, two types with one name are an error", () => {
    const legacy = a.get("refl/legacy.proto")!;
    const kinds = a.get("refl/kinds.proto")!;
    const inner = createRegistry(legacy.Legacy as MessageType<unknown>, legacy.Kind$enum as EnumType);
    const reg = createRegistry(inner, kinds.$file, legacy.$file, kinds.Kinds as MessageType<unknown>);
    assert.equal(reg.getMessage("refl.legacy.Legacy.G"), legacy.Legacy_G);
    assert.equal(reg.getMessage("refl.Kinds"), kinds.Kinds);
    assert.throws(() => createRegistry(kinds.$file, b.get("refl/kinds.proto")!.$file), /^Error: createRegistry: two different types are named "refl\.dep\.Dep"$/);
    assert.throws(() => createRegistry(legacy.Legacy as MessageType<unknown>, b.get("refl/legacy.proto")!.Legacy as MessageType<unknown>), /two different types are named "refl\.legacy\.Legacy"/);
    assert.throws(() => createRegistry(42 as never), /^TypeError: createRegistry: expected a message type, enum, .*got number$/);
  });
});
