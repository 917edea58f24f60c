import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  SchemaError, commentLines, fileModelsFromDescriptors, generate, loadProtoFiles, parsePluginParameter, PluginParameterError, runPlugin,
  type CompileOptions, type FileModel, type GeneratedFile,
} from "@sgwire/codegen";
import type { AnyMethod, MessageType, ServiceType } from "@sgwire/core";
import { FileDescriptorSet } from "../src/gen/google/protobuf/descriptor.sg.js";
import { CodeGeneratorRequest } from "../src/gen/google/protobuf/compiler/plugin.sg.js";
import fc from "fast-check";
import { FIXTURES } from "./oracle.js";
import { readTree } from "./tree.js";

/**
 * Code generation for `service` definitions: what both front ends make of services.proto and
 * service_names.proto (fixtures), checked as text, against protoc's plugin output and descriptors,
 * with tsc (strict, with @sgwire/grpc), and at run time.
 */

const PKG = new URL("..", import.meta.url).pathname;
const PLUGIN = join(PKG, "bin", "protoc-gen-sgwire.js");
const BIN = join(PKG, "bin", "sgwire.js");
const FILES = ["services.proto", "service_names.proto"];

/** What `sgwire compile -I test/fixtures <files>` writes, in memory. */
function compile(files: string[], options: CompileOptions = {}, dir = FIXTURES): GeneratedFile[] {
  return generate(loadProtoFiles(files.map((f) => join(dir, f)), { includeDirs: [dir] }), options);
}
const byPath = (out: GeneratedFile[]) => new Map(out.map((g) => [g.path, g.content]));

function assertSameFiles(got: Map<string, string>, want: Map<string, string>, who: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${who}: the set of generated files`);
  for (const [path, content] of want) {
    const g = got.get(path)!.split("\n");
    const w = content.split("\n");
    for (let i = 0; i < Math.max(g.length, w.length); i++) assert.equal(g[i], w[i], `${who}: ${path}:${i + 1}`);
  }
}

/** The text from `start` up to (not including) the first `end` after it. */
function section(text: string, start: string, end: string): string {
  const i = text.indexOf(start);
  assert.ok(i >= 0, `no ${start}`);
  const j = text.indexOf(end, i + start.length);
  assert.ok(j >= 0, `no ${end} after ${start}`);
  return text.slice(i, j);
}

describe("services", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "sgwire-services-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** protoc with the plugin on the fixtures; the generated tree. */
  const protoc = (files: string[], parameter = "", dir = FIXTURES): Map<string, string> => {
    const out = join(tmp, `protoc-out-${parameter.replace(/[^a-z]/g, "")}`);
    mkdirSync(out, { recursive: true });
    const opt = parameter === "" ? [] : [`--sgwire_opt=${parameter}`];
    const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${out}`, ...opt, "-I", dir, ...files], { encoding: "utf8" });
    assert.equal(r.error, undefined, "protoc must be installed (scripts/setup-system.sh installs protobuf-compiler)");
    assert.equal(r.status, 0, r.stderr);
    return readTree(out);
  };

  /** protoc's descriptors of `files` and what they import, with source info (comments). */
  const descriptors = (dir: string, files: string[]) => {
    const out = join(tmp, "set.binpb");
    const r = spawnSync("protoc", ["--include_source_info", "--include_imports", `--descriptor_set_out=${out}`, "-I", dir, ...files], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return FileDescriptorSet.fromBinary(readFileSync(out)).file;
  };

  it("writes a service's descriptor, client and server types exactly as reviewed", () => {
    const text = byPath(compile(["services.proto"])).get("services.sg.ts")!;
    const lines = text.split("\n");
    assert.equal(lines[1], '// options: target=ts, import-extension=".js", copy-threshold=runtime default, services=grpc');
    assert.match(lines[3]!, /^import \{ .*type MethodType, .*defineService, .* \} from "@sgwire\/core";$/);
    assert.equal(lines[4], 'import type { Client, ServiceImplementation } from "@sgwire/grpc";');
    assert.equal(lines[5], 'import * as $dep0 from "./common.sg.js";');
    assert.equal(lines[6], 'import * as $dep1 from "./google/protobuf/empty.sg.js";');
    // after the messages
    assert.ok(text.indexOf("export const Store") > text.indexOf("export const GetResponse"));
    assert.equal(section(text, "/**\n * A key-value store.", "  /**\n   * Streams"), [
      "/**",
      " * A key-value store.",
      " *",
      " * Its values are bytes; `Get` returns a view of the stored buffer.",
      " *",
      " * protobuf service `svc.v1.Store`",
      " */",
      "export const Store = defineService<{",
      "  /**",
      "   * Returns the value of a key.",
      "   *",
      "   * rpc Get(svc.v1.GetRequest) returns (svc.v1.GetResponse) (idempotency_level = NO_SIDE_EFFECTS)",
      "   */",
      '  get: MethodType<GetRequest, GetResponse, "unary">;',
      "",
    ].join("\n"));
    assert.equal(section(text, '}>("svc.v1.Store", {', "/**\n * Triple-slash"), [
      '}>("svc.v1.Store", {',
      '  get: { name: "Get", kind: "unary", input: GetRequest, output: GetResponse, idempotency: "no_side_effects" },',
      '  watch: { name: "Watch", kind: "server_streaming", input: GetRequest, output: GetResponse },',
      '  putMany: { name: "PutMany", kind: "client_streaming", input: $dep0.Common, output: GetResponse, idempotency: "idempotent" },',
      '  sync: { name: "Sync", kind: "bidi_streaming", input: GetRequest, output: $dep0.Common },',
      '  ping: { name: "Ping", kind: "unary", input: $dep1.Empty, output: $dep1.Empty },',
      "});",
      "/** A client of `svc.v1.Store` (see @sgwire/grpc createClient). */",
      "export type StoreClient = Client<typeof Store>;",
      "/** What a server of `svc.v1.Store` implements (see @sgwire/grpc GrpcServer#addService). */",
      "export type StoreServer = ServiceImplementation<typeof Store>;",
      "",
      "",
    ].join("\n"));
    // streaming kinds in the type parameter, types of other files and packages through their modules
    assert.match(text, /\n {2}watch: MethodType<GetRequest, GetResponse, "server_streaming">;\n/);
    assert.match(text, /\n {2}putMany: MethodType<\$dep0\.Common, GetResponse, "client_streaming">;\n/);
    assert.match(text, /\n {2}sync: MethodType<GetRequest, \$dep0\.Common, "bidi_streaming">;\n/);
    assert.match(text, /\n {2}ping: MethodType<\$dep1\.Empty, \$dep1\.Empty, "unary">;\n/);
    // comments: a block comment's stars and indentation, `*/` kept from ending the JSDoc, deprecation
    assert.match(text, /\n {3}\* Streams every change of a key\.\n {3}\*\n {3}\* {3}Indented example line\.\n/);
    assert.match(text, /\n {3}\* A `\*\\\/` in a line comment must not end the generated JSDoc\.\n/);
    assert.match(text, / {3}\* rpc Ping\(google\.protobuf\.Empty\) returns \(google\.protobuf\.Empty\)\n {3}\* @deprecated\n/);
    assert.equal(section(text, "/**\n * Triple-slash", "/** protobuf service `svc.v1.Empty`"), [
      "/**",
      " * Triple-slash comment.",
      " *",
      " * protobuf service `svc.v1.Legacy`",
      " * @deprecated",
      " */",
      "export const Legacy = defineService<{",
      "  /** rpc Old(svc.v1.GetRequest) returns (svc.v1.GetResponse) */",
      '  old: MethodType<GetRequest, GetResponse, "unary">;',
      '}>("svc.v1.Legacy", {',
      '  old: { name: "Old", kind: "unary", input: GetRequest, output: GetResponse },',
      "});",
      "/**",
      " * A client of `svc.v1.Legacy` (see @sgwire/grpc createClient).",
      " * @deprecated",
      " */",
      "export type LegacyClient = Client<typeof Legacy>;",
      "/**",
      " * What a server of `svc.v1.Legacy` implements (see @sgwire/grpc GrpcServer#addService).",
      " * @deprecated",
      " */",
      "export type LegacyServer = ServiceImplementation<typeof Legacy>;",
      "",
      "",
    ].join("\n"));
    assert.match(text, /\nexport const Empty = defineService<\{\}>\("svc\.v1\.Empty", \{\}\);\n/);
  });

  it("keys methods by their local names and keeps every exported name free", () => {
    const text = byPath(compile(["service_names.proto"])).get("service_names.sg.ts")!;
    // @sgwire/core and @sgwire/grpc names that the file's own types take are imported under aliases
    assert.match(text, /\nimport \{ [^}]*type MethodType as \$MethodType, [^}]*defineService as \$defineService[^}]* \} from "@sgwire\/core";\n/);
    assert.match(text, /\nimport type \{ Client as \$Client, ServiceImplementation as \$ServiceImplementation \} from "@sgwire\/grpc";\n/);
    const keys = [...section(text, "export const Kv =", "}>(").matchAll(/\n {2}(\S+): \$MethodType</g)].map((m) => m[1]);
    assert.deepEqual(keys, ["constructor$", "toString$", "then$", "get", "get$", "hasOwnProperty$"]);
    assert.match(text, /\n {2}get\$: \{ name: "get", kind: "unary", input: Req, output: Req \},\n/);
    assert.match(text, /\n {2}then\$: \{ name: "Then", /);
    // the client type of Kv would be the message KvClient's name: it gets a `$`
    assert.match(text, /\nexport type KvClient\$ = \$Client<typeof Kv>;\n/);
    assert.match(text, /\nexport type KvServer = \$ServiceImplementation<typeof Kv>;\n/);
    assert.match(text, /\nexport interface KvClient \{/);
    // a service named like a JavaScript global is exported with a `$`, its types are not
    assert.match(text, /\nexport const Object\$ = \$defineService<\{\n/);
    assert.match(text, /\}>\("svc\.names\.Object", \{\n {2}keys: \{ name: "Keys", kind: "unary", input: Req, output: KvClient \},\n\}\);\n/);
    assert.match(text, /\nexport type ObjectClient = \$Client<typeof Object\$>;\n/);
    assert.match(text, /\nexport const MethodType = \$defineService<\{\n/);
    assert.match(text, /\nexport const defineService = \$defineService<\{\n/);
  });

  it("protoc-gen-sgwire generates the same service code as sgwire compile, in every services mode", function () {
    this.timeout(120000);
    for (const mode of ["", "services=grpc", "services=descriptors", "services=none"]) {
      const services = mode === "" ? undefined : (mode.slice("services=".length) as CompileOptions["services"]);
      assertSameFiles(protoc(FILES, mode), byPath(compile(FILES, services === undefined ? {} : { services })), `protoc ${mode}`);
    }
    const js = protoc(FILES, "target=js,services=descriptors");
    assertSameFiles(js, byPath(compile(FILES, { target: "js", services: "descriptors" })), "protoc target=js");
    assert.match(js.get("services.sg.d.ts")!, /\nexport declare const Store: ServiceType<\{\n/);
  });

  it("both front ends build the same services, with the comments protoc records", () => {
    writeFileSync(join(tmp, "c.proto"), [
      'syntax = "proto3";',
      "package cm;",
      'import "other.proto";',
      "message M {}",
      "/* a block comment, then line comments right after it */",
      "// line one",
      "//  line two",
      "service A {   // trailing on the brace",
      "  // leading of X",
      "  rpc X(M) returns (other.O); // trailing of X",
      "  // after X with no blank line: leading of Y",
      "  rpc Y(other.O) returns (stream M) {",
      "    option deprecated = true; // trailing",
      "    option idempotency_level = IDEMPOTENT;",
      "  }",
      "",
      "  // detached by a blank line",
      "",
      "  // leading of Z, with trailing spaces   ",
      "  //",
      "  //   indented",
      "  rpc Z(stream M) returns (M) {}",
      "  /*",
      "   * starred",
      "   *   block",
      "   */",
      "  rpc W(stream M) returns (stream M);",
      "  /* one */ /* two */",
      "  rpc V(M) returns (M);",
      "  rpc U(M) returns (M); /* trailing block */",
      "  rpc T(M) returns (M) { option idempotency_level = NO_SIDE_EFFECTS; }",
      "\t/** tab-indented javadoc */",
      "\trpc S(M) returns (M);",
      "}",
      "// leading of B",
      "service B { option deprecated = true; }",
      "",
    ].join("\n"));
    writeFileSync(join(tmp, "other.proto"), 'syntax = "proto3";\npackage other;\nmessage O { bytes b = 1; }\n');
    const fromSource = loadProtoFiles([join(tmp, "c.proto")], { includeDirs: [tmp] });
    const fromDescriptors = fileModelsFromDescriptors(descriptors(tmp, ["c.proto"]));
    const services = (models: FileModel[]) => models.find((f) => f.name === "c.proto")!.services;
    assert.deepEqual(services(fromSource), services(fromDescriptors));
    assert.deepEqual(fromSource.find((f) => f.name === "c.proto")!.dependencies, ["other.proto"]);
    const [a, b] = services(fromSource);
    assert.equal(a!.comment, " line one\n  line two\n");
    assert.deepEqual(commentLines(a!.comment), ["line one", " line two"]);
    const comments = Object.fromEntries(a!.methods.map((m) => [m.name, m.comment]));
    assert.deepEqual(comments, {
      X: " leading of X\n",
      Y: " after X with no blank line: leading of Y\n",
      Z: " leading of Z, with trailing spaces   \n\n   indented\n",
      W: "\n starred\n   block\n",
      V: " two ",
      U: undefined,
      T: undefined,
      S: "* tab-indented javadoc ",
    });
    assert.deepEqual(commentLines(comments["S"]), ["tab-indented javadoc"]);
    assert.deepEqual(commentLines(comments["W"]), ["starred", "  block"]);
    assert.deepEqual(a!.methods.map((m) => [m.name, m.kind, m.idempotency ?? "", m.deprecated]), [
      ["X", "unary", "", false],
      ["Y", "server_streaming", "idempotent", true],
      ["Z", "client_streaming", "", false],
      ["W", "bidi_streaming", "", false],
      ["V", "unary", "", false],
      ["U", "unary", "", false],
      ["T", "unary", "no_side_effects", false],
      ["S", "unary", "", false],
    ]);
    assert.deepEqual(a!.methods[0]!.output, { fullName: "other.O", tsName: "O", file: "other.proto" });
    assert.equal(b!.comment, " leading of B\n");
    assert.equal(b!.deprecated, true);
    // and the fixtures (whose well-known type protobufjs serves from its own copy: compared by service only)
    const src = loadProtoFiles(FILES.map((f) => join(FIXTURES, f)), { includeDirs: [FIXTURES] });
    const desc = fileModelsFromDescriptors(descriptors(FIXTURES, FILES));
    for (const f of FILES) assert.deepEqual(src.find((m) => m.name === f)!.services, desc.find((m) => m.name === f)!.services, f);
  });

  it("reads comments as protoc does wherever they are put (200 random layouts, checked against protoc's descriptors)", function () {
    this.timeout(120000);
    let k = 0;
    const piece = fc.constantFrom(
      () => "\n", () => "\n\n", () => " ", () => "\t",
      () => `// c${k++}\n`, () => `  // c${k++}\n`, () => `//\n`, () => `/// t${k++}\n`,
      () => `/* b${k++} */`, () => `/* b${k++} */\n`, () => `/**\n * s${k++}\n *  x\n */\n`, () => `/* m${k++}\n   n */ `,
    );
    const gap = fc.array(piece, { maxLength: 5 }).map((ps) => ps.map((p) => p()).join(""));
    const layout = fc.array(gap, { minLength: 14, maxLength: 14 });
    const files = fc.sample(layout, { numRuns: 200, seed: 17 }).map((g, i) => [
      'syntax = "proto3";', `package f${i};`, "message M {}",
      // protobufjs needs a space after a name before a comment ("S// c" is one token there)
      `${g[0]}service S ${g[1]}{${g[2]}rpc A(M) returns (M);${g[3]}rpc B(M) returns (stream M)${g[4]}{${g[5]}option deprecated = true;${g[6]}}`,
      `${g[7]}rpc C(stream M) returns (M) {}${g[8]}rpc D(M) returns (M)${g[9]};${g[10]}}${g[11]}service T {${g[12]}}${g[13]}`,
      "",
    ].join("\n"));
    const names = files.map((_, i) => `f${i}.proto`);
    files.forEach((text, i) => writeFileSync(join(tmp, names[i]!), text));
    const fromSource = loadProtoFiles(names.map((f) => join(tmp, f)), { includeDirs: [tmp] });
    const fromDescriptors = fileModelsFromDescriptors(descriptors(tmp, names));
    let commented = 0;
    for (let i = 0; i < names.length; i++) {
      const a = fromSource.find((f) => f.name === names[i])!.services;
      const b = fromDescriptors.find((f) => f.name === names[i])!.services;
      assert.deepEqual(a, b, `${names[i]}:\n${files[i]}`);
      commented += [...a, ...a.flatMap((s) => s.methods)].filter((x) => x.comment !== undefined).length;
    }
    assert.ok(commented > 200, `the layouts put leading comments in many places (${commented})`);
  });

  it("type-checks under strict options with @sgwire/grpc, and the client and server types mean what they say", function () {
    this.timeout(120000);
    // three variants of the generated code, one program using them each
    const variants: [string, CompileOptions][] = [["ts", {}], ["js", { target: "js" }], ["desc", { services: "descriptors" }]];
    const sources: string[] = [];
    for (const [dir, options] of variants) {
      for (const g of compile(FILES, options)) {
        if (g.path.endsWith(".sg.js")) continue; // the declarations are what tsc checks
        mkdirSync(dirname(join(tmp, dir, g.path)), { recursive: true });
        writeFileSync(join(tmp, dir, g.path), g.content);
        sources.push(join(dir, g.path));
      }
    }
    const grpcUse = [
      'import { Common } from "./common.sg.js";',
      'import { GetRequest, GetResponse, Store, type StoreClient, type StoreServer } from "./services.sg.js";',
      'import { Kv, Object$, Req, type KvClient$, type KvServer, type ObjectClient } from "./service_names.sg.js";',
      "export async function use(client: StoreClient, names: KvClient$, objects: ObjectClient): Promise<number> {",
      '  const one: GetResponse = await client.get({ key: "k" });',
      "  let n = one.value.length;",
      '  for await (const r of client.watch(GetRequest.create({ key: "k" }))) n += r.version;',
      '  const put: GetResponse = await client.putMany([{ id: "a", blob: new Uint8Array(1), values: [1n] }]);',
      "  async function* requests() { yield GetRequest.create(); }",
      "  for await (const c of client.sync(requests())) n += c.blob.length;",
      "  await client.ping({}, { deadline: 1000 });",
      "  // @ts-expect-error a unary method takes one request, not a stream",
      "  await client.get([GetRequest.create()]);",
      "  // @ts-expect-error a client-streaming method takes requests, not one",
      "  await client.putMany(Common.create());",
      "  // @ts-expect-error the input of get is a GetRequest",
      "  await client.get({ id: 1 });",
      "  await names.constructor$({});",
      "  await names.then$({});",
      "  await names.get$(Req.create());",
      "  const k: {} = await objects.keys({});",
      "  return n + put.version + Object.keys(k).length;",
      "}",
      "export const server: StoreServer = {",
      "  get: (req) => ({ value: new TextEncoder().encode(req.key), version: 1 }),",
      "  async *watch(req, ctx) { if (!ctx.signal.aborted) yield GetResponse.create({ value: new TextEncoder().encode(req.key) }); },",
      "  async putMany(reqs) { let v = 0; for await (const c of reqs) v += c.values.length; return GetResponse.create({ version: v }); },",
      "  async *sync(reqs) { for await (const r of reqs) yield Common.create({ id: r.key }); },",
      "  ping: () => ({}),",
      "};",
      "// @ts-expect-error a server implements every method",
      "export const partial: StoreServer = { get: server.get };",
      "export const names: KvServer = {",
      "  constructor$: (r) => r, toString$: (r) => r, then$: (r) => r, get: (r) => r, get$: (r) => r, hasOwnProperty$: (r) => r,",
      "};",
      'export const kinds: ["server_streaming", "client_streaming", "bidi_streaming"] = [Store.methods.watch.kind, Store.methods.putMany.kind, Store.methods.sync.kind];',
      'export const paths: string[] = [Kv.methods.constructor$.path, Object$.methods.keys.path];',
      "",
    ].join("\n");
    for (const dir of ["ts", "js"]) {
      writeFileSync(join(tmp, dir, "use.ts"), grpcUse);
      sources.push(join(dir, "use.ts"));
    }
    writeFileSync(join(tmp, "desc", "use.ts"), [
      'import { Store, GetRequest, GetResponse } from "./services.sg.js";',
      'import type { MethodType } from "@sgwire/core";',
      'export const get: MethodType<GetRequest, GetResponse, "unary"> = Store.methods.get;',
      'export const kind: "bidi_streaming" = Store.methods.sync.kind;',
      "",
    ].join("\n"));
    sources.push(join("desc", "use.ts"));
    mkdirSync(join(tmp, "node_modules", "@sgwire"), { recursive: true });
    for (const p of ["core", "grpc"]) symlinkSync(join(PKG, "node_modules", "@sgwire", p), join(tmp, "node_modules", "@sgwire", p));
    writeFileSync(join(tmp, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true,
        noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noUnusedLocals: true,
        noImplicitReturns: true, skipLibCheck: true, types: [], lib: ["ES2022", "DOM"],
      },
      files: sources,
    }));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", join(tmp, "tsconfig.json")], { stdio: "pipe" });
    } catch (e) {
      assert.fail(`tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? String(e)}`);
    }
    // the descriptors-only code needs no @sgwire/grpc
    const desc = readTree(join(tmp, "desc"));
    assert.ok(desc.has("services.sg.ts") && desc.has("service_names.sg.ts"));
    for (const [f, text] of desc) assert.doesNotMatch(text, /@sgwire\/grpc/, f);
  });

  describe("at run time", () => {
    // inside the package, so the generated modules resolve @sgwire/core from its node_modules
    let out: string;
    before(() => {
      out = mkdtempSync(join(PKG, "test", ".tmp-services-"));
    });
    after(() => rmSync(out, { recursive: true, force: true }));

    const load = async (target: "ts" | "js", file: string) => {
      const dir = join(out, target);
      for (const g of compile(FILES, { target })) {
        mkdirSync(dirname(join(dir, g.path)), { recursive: true });
        writeFileSync(join(dir, g.path), g.content);
      }
      return (await import(pathToFileURL(join(dir, file.replace(/\.proto$/, `.sg.${target}`))).href)) as Record<string, unknown>;
    };

    for (const target of ["ts", "js"] as const) {
      it(`descriptors carry path, kind, streams, idempotency and the message codecs (target ${target})`, async () => {
        const svc = await load(target, "services.proto");
        const common = await import(pathToFileURL(join(out, target, `common.sg.${target}`)).href) as Record<string, unknown>;
        const Store = svc["Store"] as ServiceType;
        const GetRequest = svc["GetRequest"] as MessageType<{ key: string }>;
        const GetResponse = svc["GetResponse"] as MessageType<{ value: Uint8Array; version: number }>;
        assert.equal(Store.typeName, "svc.v1.Store");
        assert.deepEqual(Object.keys(Store.methods), ["get", "watch", "putMany", "sync", "ping"]);
        const row = (m: AnyMethod) => [m.name, m.localName, m.path, m.kind, m.requestStream, m.responseStream, m.idempotency, m.serviceName];
        assert.deepEqual(Object.values(Store.methods).map(row), [
          ["Get", "get", "/svc.v1.Store/Get", "unary", false, false, "no_side_effects", "svc.v1.Store"],
          ["Watch", "watch", "/svc.v1.Store/Watch", "server_streaming", false, true, undefined, "svc.v1.Store"],
          ["PutMany", "putMany", "/svc.v1.Store/PutMany", "client_streaming", true, false, "idempotent", "svc.v1.Store"],
          ["Sync", "sync", "/svc.v1.Store/Sync", "bidi_streaming", true, true, undefined, "svc.v1.Store"],
          ["Ping", "ping", "/svc.v1.Store/Ping", "unary", false, false, undefined, "svc.v1.Store"],
        ]);
        const get = Store.methods["get"]!;
        assert.equal(get.input, GetRequest);
        assert.equal(get.output, GetResponse);
        assert.equal(Store.methods["putMany"]!.input, common["Common"]);
        assert.equal(Store.methods["sync"]!.output, common["Common"]);
        // a request and a response through the method's codecs: bytes decode as views of the input
        const req = get.input.fromBinary(get.input.toBinary({ key: "user:42" })) as { key: string };
        assert.equal(req.key, "user:42");
        const value = new Uint8Array(4096).map((_, i) => i & 0xff);
        const wire = get.output.encode({ value, version: 7 }).toBinary();
        const res = get.output.fromBinary(wire) as { value: Uint8Array; version: number };
        assert.equal(res.version, 7);
        assert.deepEqual(res.value, value);
        assert.equal(res.value.buffer, wire.buffer);
        const empty = svc["Empty"] as ServiceType;
        assert.deepEqual([empty.typeName, Object.keys(empty.methods)], ["svc.v1.Empty", []]);
        assert.equal((svc["Legacy"] as ServiceType).methods["old"]!.path, "/svc.v1.Legacy/Old");
      });
    }

    it("method keys and service names that need care work as keys and paths", async () => {
      const names = await load("ts", "service_names.proto");
      const Kv = names["Kv"] as ServiceType;
      const paths = Object.fromEntries(Object.entries(Kv.methods).map(([k, m]) => [k, m.path]));
      assert.deepEqual(paths, {
        constructor$: "/svc.names.Kv/constructor",
        toString$: "/svc.names.Kv/ToString",
        then$: "/svc.names.Kv/Then",
        get: "/svc.names.Kv/Get",
        get$: "/svc.names.Kv/get",
        hasOwnProperty$: "/svc.names.Kv/hasOwnProperty",
      });
      for (const [k, m] of Object.entries(Kv.methods)) assert.equal(m.localName, k);
      const obj = names["Object$"] as ServiceType;
      assert.equal(obj.typeName, "svc.names.Object");
      assert.equal(obj.methods["keys"]!.output, names["KvClient"]);
      assert.equal((names["MethodType"] as ServiceType).methods["call"]!.path, "/svc.names.MethodType/Call");
      assert.equal((names["defineService"] as ServiceType).typeName, "svc.names.defineService");
    });
  });

  it("services=descriptors writes the descriptors only, services=none nothing for services; the header says which", () => {
    const grpc = byPath(compile(FILES)).get("services.sg.ts")!;
    const desc = byPath(compile(FILES, { services: "descriptors" })).get("services.sg.ts")!;
    const none = byPath(compile(FILES, { services: "none" })).get("services.sg.ts")!;
    assert.match(desc.split("\n")[1]!, /, services=descriptors$/);
    assert.match(none.split("\n")[1]!, /, services=none$/);
    assert.doesNotMatch(desc, /@sgwire\/grpc|StoreClient|StoreServer/);
    assert.match(desc, /\nexport const Store = defineService<\{\n/);
    assert.equal(section(desc, "export const Store", "/**\n * Triple"), `${section(grpc, "export const Store", "/** A client")}\n`);
    assert.doesNotMatch(none, /defineService|MethodType|@sgwire\/grpc|protobuf service/);
    // the messages are the same in every mode
    const messages = (t: string) => t.slice(t.indexOf("\n\n"), t.indexOf("});", t.indexOf("export const GetResponse:")));
    assert.equal(messages(none), messages(grpc));
    assert.equal(messages(desc), messages(grpc));
    // a file that declares only services
    writeFileSync(join(tmp, "only.proto"), 'syntax = "proto3";\npackage only;\nimport "m.proto";\nservice S { rpc Call(m.M) returns (m.M); }\n');
    writeFileSync(join(tmp, "m.proto"), 'syntax = "proto3";\npackage m;\nmessage M {}\n');
    const only = (services: CompileOptions["services"]) => byPath(compile(["only.proto"], { services }, tmp)).get("only.sg.ts")!;
    // services=none: no service, but the file's reflection data still names the file it imports
    assert.doesNotMatch(only("none"), /defineService|@sgwire\/grpc/);
    assert.match(only("none"), /\n {2}messages: \[\],\n {2}enums: \[\],\n {2}dependencies: \[\$dep0\.\$file\],\n\}\);\n$/);
    assert.match(only("grpc"), /\nimport \* as \$dep0 from "\.\/m\.sg\.js";\n/);
    assert.match(only("grpc"), /\n {2}call: \{ name: "Call", kind: "unary", input: \$dep0\.M, output: \$dep0\.M \},\n/);
  });

  it("an unknown services mode is a clear error in generate, the CLI and the plugin", () => {
    assert.throws(() => compile(["services.proto"], { services: "rest" as never }), /^RangeError: services must be one of grpc, descriptors, none, got "rest"$/);
    const cli = spawnSync(process.execPath, [BIN, "compile", "--services", "rest", "--out", tmp, "-I", FIXTURES, join(FIXTURES, "services.proto")], { encoding: "utf8" });
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /^sgwire: --services must be one of grpc, descriptors, none, got rest\n/);
    assert.deepEqual(readdirSync(tmp), []);
    assert.throws(() => parsePluginParameter("services=rest"), (e: unknown) => e instanceof PluginParameterError && e.message === "services must be one of grpc, descriptors, none, got rest");
    assert.throws(() => parsePluginParameter("services"), /parameter services needs a value/);
    assert.equal(parsePluginParameter("services=none").services, "none");
    const response = runPlugin(CodeGeneratorRequest.create({ parameter: "services=grpc,services=x", fileToGenerate: [] }));
    assert.equal(response.error, "services must be one of grpc, descriptors, none, got x");
    const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=services=soap:${tmp}`, "-I", FIXTURES, "services.proto"], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /services must be one of grpc, descriptors, none, got soap/);
    // and a good one through the CLI
    const ok = spawnSync(process.execPath, [BIN, "compile", "--services=descriptors", "--out", tmp, "-I", FIXTURES, join(FIXTURES, "services.proto")], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(readFileSync(join(tmp, "services.sg.ts"), "utf8"), /services=descriptors\n[\s\S]*export const Store = defineService</);
  });

  it("generates the README's example as the README shows it", () => {
    const readme = readFileSync(join(PKG, "README.md"), "utf8");
    const part = section(readme, "## Services", "\n## ");
    const proto = /```proto\n\/\/ kv\.proto\n([\s\S]*?)```/.exec(part)?.[1];
    const code = /writes, after the messages of `gen\/kv\.sg\.ts`:\n\n```ts\n([\s\S]*?)```/.exec(part)?.[1];
    assert.ok(proto !== undefined && code !== undefined, "the README's Services section has the example");
    writeFileSync(join(tmp, "kv.proto"), proto);
    const text = byPath(compile(["kv.proto"], {}, tmp)).get("kv.sg.ts")!;
    // the module ends with the services, then the file's reflection data
    const services = text.slice(0, text.lastIndexOf("\n/** reflection: kv.proto */\n"));
    assert.ok(services.endsWith(`\n${code}`), `the README's generated code is what kv.sg.ts has before its reflection data:\n${text}`);
    assert.match(text, /\nimport type \{ Client, ServiceImplementation \} from "@sgwire\/grpc";\n/);
    assert.match(part, /`Kv\.methods\.get\.path` is `"\/kv\.Kv\/Get"`/);
  });

  it("a service whose TypeScript name a message takes is a located error in both front ends", () => {
    writeFileSync(join(tmp, "clash.proto"), [
      'syntax = "proto3";',
      "package clash;",
      "message A { message B {} }",
      "service A_B { rpc Get(A) returns (A); }",
      "",
    ].join("\n"));
    assert.throws(() => loadProtoFiles([join(tmp, "clash.proto")], { includeDirs: [tmp] }),
      (e: unknown) => e instanceof SchemaError && e.message === "clash.proto:4:9: clash.A_B and clash.A.B both become the TypeScript name A_B");
    const r = spawnSync("protoc", [`--plugin=protoc-gen-sgwire=${PLUGIN}`, `--sgwire_out=${tmp}`, "-I", tmp, "clash.proto"], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /clash\.proto:4:1: clash\.A_B and clash\.A\.B both become the TypeScript name A_B/);
  });

  it("rejects what protoc rejects and protobufjs lets through (a service inside a message, a method whose type is an enum), and unknown types", () => {
    writeFileSync(join(tmp, "nested.proto"), 'syntax = "proto3";\npackage n;\nmessage M {\n  service Inner { rpc Get(M) returns (M); }\n}\n');
    assert.throws(() => loadProtoFiles([join(tmp, "nested.proto")], { includeDirs: [tmp] }),
      (e: unknown) => e instanceof SchemaError && e.message === "nested.proto:4:11: service Inner is declared inside message n.M: services must be declared at the top level of a file");
    writeFileSync(join(tmp, "enum.proto"), 'syntax = "proto3";\npackage e;\nenum E { E_ZERO = 0; }\nmessage M {}\nservice S { rpc Get(M) returns (E); }\n');
    assert.throws(() => loadProtoFiles([join(tmp, "enum.proto")], { includeDirs: [tmp] }),
      (e: unknown) => e instanceof SchemaError && e.message.endsWith("enum.proto:5:17: the output type of e.S.Get is the enum e.E: a method's input and output must be messages"));
    // a type that does not exist is located where protoc puts it ("Missing" is not defined)
    writeFileSync(join(tmp, "unknown.proto"), 'syntax = "proto3";\npackage u;\nmessage M {}\nservice S {\n  rpc Get(M) returns (Missing);\n}\n');
    assert.throws(() => loadProtoFiles([join(tmp, "unknown.proto")], { includeDirs: [tmp] }),
      (e: unknown) => e instanceof SchemaError && e.message.endsWith('unknown.proto:5:23: unknown type "Missing"'));
  });
});
