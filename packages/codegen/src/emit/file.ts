import { posix } from "node:path";
import { enumMemberName, lowerCamelCase, type ExtensionModel, type FieldModel, type FieldType, type FileModel, type TypeRef } from "../model.js";
import { CodeWriter } from "./writer.js";
import { emitCreate, emitInterface, emitRead, emitSize, emitWrite } from "./message.js";
import { literal, tsValueType, type Scope } from "./names.js";
import { SCALARS } from "./scalars.js";
import type { MessageModel, ServiceModel } from "../model.js";
import { emitService, isServicesMode, SERVICES_MODES, type ServiceScope, type ServicesMode } from "./service.js";

export const GENERATOR_VERSION = "0.1.0";

export interface EmitOptions {
  /** extension used in import specifiers of other generated modules: ".js" (default), ".ts" or "" */
  importExtension?: string;
  /** default copy threshold baked into the codecs (bytes); undefined: the runtime default */
  copyThreshold?: number;
  /** what the header says the target is */
  target?: "ts" | "js";
  /** what to generate for services (default "grpc"; see ServicesMode) */
  services?: ServicesMode;
}

/** The services mode of `opts`, checked: a RangeError names a bad one. */
export function servicesMode(opts: EmitOptions): ServicesMode {
  const mode = opts.services ?? "grpc";
  if (!isServicesMode(mode)) {
    throw new RangeError(`services must be one of ${SERVICES_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  }
  return mode;
}

/** Output path of a .proto file's module, without extension: "shop/order.proto" -> "shop/order.sg". */
export function modulePath(protoName: string): string {
  return protoName.replace(/\.proto$/, "") + ".sg";
}

function importSpecifier(from: string, to: string, ext: string): string {
  let rel = posix.relative(posix.dirname(modulePath(from)), modulePath(to));
  if (!rel.startsWith(".")) rel = "./" + rel;
  return rel + ext;
}

class FileScope implements Scope, ServiceScope {
  readonly used = new Set<string>();
  readonly deps = new Map<string, string>(); // proto file -> alias
  /** @sgwire/grpc types used */
  readonly grpcUsed = new Set<string>();
  private readonly serviceTypes = new Map<ServiceModel, { client: string; server: string }>();
  constructor(private readonly file: FileModel, mode: ServicesMode) {
    this.localNames = new Set([...file.messages, ...file.enums, ...file.extensions].map((x) => x.tsName));
    if (mode === "none") return;
    for (const s of file.services) this.localNames.add(s.tsName);
    if (mode !== "grpc") return;
    // a service's client and server types are named after it (Kv: KvClient, KvServer); a name
    // a message, enum or service of the file already has gets `$` appended until it is free
    for (const s of file.services) {
      const free = (name: string): string => {
        while (this.localNames.has(name)) name += "$";
        this.localNames.add(name);
        return name;
      };
      this.serviceTypes.set(s, { client: free(`${s.name}Client`), server: free(`${s.name}Server`) });
    }
  }
  typeNames(s: ServiceModel): { client: string; server: string } {
    return this.serviceTypes.get(s)!;
  }
  /** Marks an @sgwire/grpc type as used; returns its local name (aliased when the module has that name). */
  grpc(symbol: "Client" | "ServiceImplementation"): string {
    this.grpcUsed.add(symbol);
    return this.localNames.has(symbol) ? `$${symbol}` : symbol;
  }
  ref(r: TypeRef): string {
    if (r.file === this.file.name) return r.tsName;
    return `${this.depAlias(r.file)}.${r.tsName}`;
  }
  /** The alias this module imports another generated module under. */
  depAlias(file: string): string {
    let alias = this.deps.get(file);
    if (alias === undefined) {
      // "$" cannot occur in protobuf names, so aliases never collide with a generated type
      alias = `$dep${this.deps.size}`;
      this.deps.set(file, alias);
    }
    return alias;
  }
  isLocal(r: TypeRef): boolean {
    return r.file === this.file.name;
  }
  /** local enums referenced as values under an alias: alias -> enum name */
  readonly enumAliases = new Map<string, string>();
  enumValue(r: TypeRef): string {
    // an enum of this file whose name could be a local variable of the generated functions (an
    // enum called `m` or `v`): referenced through a module-level alias `enum$m`, a name no
    // protobuf type can have
    if (!this.isLocal(r) || !/^[a-z_]/.test(r.tsName)) return this.ref(r);
    const alias = `enum$${r.tsName}`;
    this.enumAliases.set(alias, r.tsName);
    return alias;
  }
  /** Marks a core symbol as used; returns the local name (aliased when a type of this file has that name). */
  use(symbol: string): string {
    this.used.add(symbol);
    return this.localNames.has(symbol) ? `$${symbol}` : symbol;
  }
  readonly localNames: Set<string>;
}

function header(file: FileModel, opts: EmitOptions): string {
  const o = [
    `target=${opts.target ?? "ts"}`,
    `import-extension=${JSON.stringify(opts.importExtension ?? ".js")}`,
    `copy-threshold=${opts.copyThreshold ?? "runtime default"}`,
    `services=${opts.services ?? "grpc"}`,
  ];
  return [
    `// @generated by sgwire-codegen ${GENERATOR_VERSION} from ${file.name} (${file.syntax}). DO NOT EDIT.`,
    `// options: ${o.join(", ")}`,
    "/* eslint-disable */",
  ].join("\n");
}

function emitEnums(w: CodeWriter, file: FileModel, scope: FileScope, declare: boolean): void {
  for (const en of file.enums) {
    w.line(`/** protobuf enum \`${en.fullName}\` (${en.closed ? "closed" : "open"}) */`);
    w.block(`export ${declare ? "declare " : ""}enum ${en.tsName}`, () => {
      for (const v of en.values) w.line(`${JSON.stringify(enumMemberName(v.name))} = ${v.number},`);
    });
    w.line(`/** reflection: protobuf enum \`${en.fullName}\` */`);
    if (declare) w.line(`export declare const ${enumInfoName(en.tsName)}: ${scope.use("EnumType")};`);
    else {
      const values = en.values.map((v) => `[${JSON.stringify(v.name)}, ${v.number}]`).join(", ");
      w.line(`export const ${enumInfoName(en.tsName)}: ${scope.use("EnumType")} = ${scope.use("defineEnum")}(${JSON.stringify(en.fullName)}, [${values}], ${en.closed});`);
    }
    w.line();
  }
}

/** The exported name of an enum's reflection object (`EnumType`): `Corpus` -> `Corpus$enum`. */
export function enumInfoName(tsName: string): string {
  return `${tsName}$enum`;
}

/** The exported name of a module's file description (`FileInfo`); no protobuf type name starts with `$`. */
export const FILE_INFO_NAME = "$file";

/** The reflection FieldSpec literal of a field (see FieldSpec in @sgwire/core). */
function fieldSpec(f: FieldModel, scope: FileScope): string {
  const typeRef = (t: FieldType): string =>
    t.kind === "scalar" ? JSON.stringify(t.scalar) : t.kind === "enum" ? `${scope.ref(t.ref)}$enum` : scope.ref(t.ref);
  const parts = [`no: ${f.number}`, `name: ${JSON.stringify(f.protoName)}`, `T: ${typeRef(f.map?.value ?? f.type)}`];
  if (f.map !== undefined) parts.push(`K: ${JSON.stringify(f.map.key)}`);
  const json = lowerCamelCase(f.protoName);
  if (f.jsonName !== json) parts.push(`json: ${JSON.stringify(f.jsonName)}`);
  if (f.jsName !== f.jsonName) parts.push(`local: ${JSON.stringify(f.jsName)}`);
  if (f.oneof !== undefined) parts.push(`oneof: ${JSON.stringify(f.oneof)}`);
  if (f.presence !== "implicit") parts.push(`presence: "${f.presence}"`);
  if (f.repeated) parts.push("repeated: true");
  if (f.packed) parts.push("packed: true");
  if (f.map === undefined && f.type.kind === "message" && f.type.delimited) parts.push("delimited: true");
  return `{ ${parts.join(", ")} }`;
}

const TYPE_ONLY = new Set(["Encoder", "Reader", "MessageType", "MethodType", "ServiceType", "EnumType", "FileInfo", "Extension", "ExtensionField"]);

/** TypeScript type of an extension's value (an array for a repeated one). */
function extensionValueType(x: ExtensionModel, scope: Scope): string {
  const t = tsValueType(x.type, scope);
  return x.repeated ? `${t}[]` : t;
}

function describeExtension(x: ExtensionModel): string {
  const label = x.repeated ? "repeated " : "optional ";
  const type = x.type.kind === "scalar" ? x.type.scalar : x.type.ref.fullName;
  const opts: string[] = [];
  if (x.packed) opts.push("packed");
  if (x.type.kind === "message" && x.type.delimited) opts.push("group encoding");
  return `protobuf extension \`${x.fullName}\` of \`${x.extendee.fullName}\`: ${label}${type} ${x.protoName} = ${x.number}${opts.length ? ` (${opts.join(", ")})` : ""}`;
}

/** `export const <name>$ext = defineExtension(...)`: each extension of the file (or its declaration). */
function emitExtensions(w: CodeWriter, file: FileModel, scope: FileScope, declare: boolean): void {
  for (const x of file.extensions) {
    const E = scope.ref(x.extendee);
    const V = extensionValueType(x, scope);
    const type = `${scope.use("Extension")}<${E}, ${V}>`;
    w.line(`/** ${describeExtension(x)} */`);
    if (declare) {
      w.line(`export declare const ${x.tsName}: ${type};`);
      continue;
    }
    const typeRef = x.type.kind === "scalar" ? JSON.stringify(x.type.scalar) : x.type.kind === "enum" ? `${scope.ref(x.type.ref)}$enum` : scope.ref(x.type.ref);
    const field = [`no: ${x.number}`, `name: ${JSON.stringify(x.protoName)}`, `T: ${typeRef}`];
    if (x.presence !== "implicit") field.push(`presence: "${x.presence}"`);
    if (x.repeated) field.push("repeated: true");
    if (x.packed) field.push("packed: true");
    if (x.type.kind === "message" && x.type.delimited) field.push("delimited: true");
    const parts = [`typeName: ${JSON.stringify(x.fullName)}`, `extendee: ${E}`, `field: { ${field.join(", ")} }`];
    if (x.defaultValue !== undefined) parts.push(`default: ${literal(x.defaultValue, scope)}`);
    if (x.validateUtf8 && x.type.kind === "scalar" && x.type.scalar === "string") parts.push("utf8: true");
    w.line(`export const ${x.tsName}: ${type} = ${scope.use("defineExtension")}<${E}, ${V}>({`);
    w.line(`  ${parts.join(", ")},`);
    w.line("});");
  }
  if (file.extensions.length > 0) w.line();
}

function importLines(file: FileModel, scope: FileScope, ext: string, typeOnlyCore: boolean): string[] {
  const lines: string[] = [];
  const core = [...scope.used].sort();
  if (core.length > 0) {
    const specs = core.map((s) => {
      const local = scope.use(s);
      const spec = local === s ? s : `${s} as ${local}`;
      return !typeOnlyCore && TYPE_ONLY.has(s) ? `type ${spec}` : spec;
    });
    lines.push(`import ${typeOnlyCore ? "type " : ""}{ ${specs.join(", ")} } from "@sgwire/core";`);
  }
  const grpc = [...scope.grpcUsed].sort().map((s) => {
    const local = scope.grpc(s as "Client" | "ServiceImplementation");
    return local === s ? s : `${s} as ${local}`;
  });
  if (grpc.length > 0) lines.push(`import type { ${grpc.join(", ")} } from "@sgwire/grpc";`);
  for (const [proto, alias] of scope.deps) {
    lines.push(`import * as ${alias} from "${importSpecifier(file.name, proto, ext)}";`);
  }
  return lines;
}

/** `name: value` pairs for the codec's `defaults`: singular scalar and enum fields outside oneofs. */
function defaultsOf(m: MessageModel, scope: Scope): string[] {
  const out: string[] = [];
  for (const f of m.fields) {
    if (f.repeated || f.map !== undefined || f.oneof !== undefined || f.type.kind === "message") continue;
    let v: string;
    if (f.defaultValue !== undefined) v = literal(f.defaultValue, scope);
    else if (f.type.kind === "enum") v = "0";
    else {
      const z = SCALARS[f.type.scalar].zero;
      v = z === "EMPTY_BYTES" ? scope.use("EMPTY_BYTES") : z;
    }
    out.push(`${f.jsName}: ${v}`);
  }
  return out;
}

/** `$file`: the file's reflection description (FileInfo). */
function emitFileInfo(w: CodeWriter, file: FileModel, scope: FileScope, mode: ServicesMode, declare: boolean): void {
  w.line(`/** reflection: ${file.name} */`);
  const type = scope.use("FileInfo");
  if (declare) {
    w.line(`export declare const ${FILE_INFO_NAME}: ${type};`);
    return;
  }
  const list = (names: string[]) => `[${names.join(", ")}]`;
  w.line(`export const ${FILE_INFO_NAME}: ${type} = ${scope.use("defineFile")}({`);
  w.line(`  name: ${JSON.stringify(file.name)}, package: ${JSON.stringify(file.package)}, syntax: ${JSON.stringify(file.syntax)},`);
  w.line(`  messages: ${list(file.messages.map((m) => m.tsName))},`);
  w.line(`  enums: ${list(file.enums.map((e) => enumInfoName(e.tsName)))},`);
  if (mode !== "none" && file.services.length > 0) w.line(`  services: ${list(file.services.map((s) => s.tsName))},`);
  if (file.extensions.length > 0) w.line(`  extensions: ${list(file.extensions.map((x) => x.tsName))},`);
  w.line(`  dependencies: ${list(file.dependencies.map((d) => `${scope.depAlias(d)}.${FILE_INFO_NAME}`))},`);
  w.line("});");
}

/** The TypeScript module for one .proto file. */
export function emitTypeScript(file: FileModel, opts: EmitOptions = {}): string {
  const mode = servicesMode(opts);
  const scope = new FileScope(file, mode);
  const w = new CodeWriter();
  emitEnums(w, file, scope, false);
  const ALIASES = "\u0000enum aliases\u0000";
  w.line(ALIASES);
  for (const m of file.messages) {
    emitInterface(w, m, scope);
    w.line();
  }
  for (const m of file.messages) {
    emitCreate(w, m, scope);
    w.line();
    emitSize(w, m, scope);
    w.line();
    emitWrite(w, m, scope);
    w.line();
    emitRead(w, m, scope);
    w.line();
  }
  const thr = opts.copyThreshold !== undefined ? `, copyThreshold: ${opts.copyThreshold}` : "";
  for (const m of file.messages) {
    const define = scope.use("defineMessage");
    const messageType = scope.use("MessageType");
    w.line(`export const ${m.tsName}: ${messageType}<${m.tsName}> = ${define}<${m.tsName}>({`);
    w.line(`  typeName: "${m.fullName}", size: size$${m.tsName}, write: write$${m.tsName}, read: read$${m.tsName}, create: create$${m.tsName}${thr},`);
    const defaults = defaultsOf(m, scope);
    if (defaults.length > 0) w.line(`  defaults: { ${defaults.join(", ")} },`);
    if (m.fields.length === 0) w.line("  fields: () => [],");
    else {
      w.line("  fields: () => [");
      for (const f of m.fields) w.line(`    ${fieldSpec(f, scope)},`);
      w.line("  ],");
    }
    if (m.reservedNames.length > 0) w.line(`  reservedNames: [${m.reservedNames.map((n) => JSON.stringify(n)).join(", ")}],`);
    if (m.oneofs.length > 0) {
      w.line(`  oneofs: [${m.oneofs.map((o) => `[${JSON.stringify(o.protoName)}, ${JSON.stringify(o.jsName)}]`).join(", ")}],`);
    }
    w.line("});");
    w.line();
  }
  emitExtensions(w, file, scope, false);
  for (const s of file.services) emitService(w, s, scope, mode, false);
  emitFileInfo(w, file, scope, mode, false);
  // a file that declares no types is still a module (protoc-gen-sgwire and sgwire compile write one)
  const aliases = [...scope.enumAliases].map(([alias, name]) => `const ${alias} = ${name};\n\n`).join("");
  const body = w.toString().replace(`${ALIASES}\n`, aliases).trimEnd() || "export {};";
  const imports = importLines(file, scope, opts.importExtension ?? ".js", false);
  return [header(file, opts), ...imports, "", body, ""].join("\n");
}

/** The declaration file (.d.ts) for the JavaScript target. */
export function emitDeclarations(file: FileModel, opts: EmitOptions = {}): string {
  const mode = servicesMode(opts);
  const scope = new FileScope(file, mode);
  const w = new CodeWriter();
  emitEnums(w, file, scope, true);
  for (const m of file.messages) {
    emitInterface(w, m, scope);
    w.line();
  }
  for (const m of file.messages) w.line(`export declare const ${m.tsName}: ${scope.use("MessageType")}<${m.tsName}>;`);
  if (file.messages.length > 0 && (file.extensions.length > 0 || (file.services.length > 0 && mode !== "none"))) w.line();
  emitExtensions(w, file, scope, true);
  for (const s of file.services) emitService(w, s, scope, mode, true);
  emitFileInfo(w, file, scope, mode, true);
  const imports = importLines(file, scope, opts.importExtension ?? ".js", true);
  return [header(file, { ...opts, target: "js" }), ...imports, "", w.toString().trimEnd() || "export {};", ""].join("\n");
}

