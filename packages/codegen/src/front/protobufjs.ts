import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import protobuf from "protobufjs";
import {
  SchemaError, extensionTsName, idempotencyOf, jsonNameConflict, lowerCamelCase, methodKind, nameMethods, nameProperties, tsTypeName, SCALAR_TYPES,
  type EnumModel, type ExtensionModel, type FieldModel, type FieldType, type FileModel, type MessageModel, type MethodModel, type OneofModel,
  type ScalarType, type ServiceModel, type TypeRef,
} from "../model.js";
import { loadFiles, type LoadedFile, type ParseFailure } from "./load.js";
import { unescapeNames } from "./escape-names.js";
import { defaultLiteralBytes, exactInt64Default } from "./default-literal.js";
import { locate, locateField, locateFieldNumber, locateRpc } from "./locate.js";
import { serviceComments, type ServiceComments } from "./comments.js";

/**
 * Front end over protobufjs's parser: loads .proto files (following imports through the include
 * directories) and builds the schema model. protobufjs does the parsing, name resolution and
 * feature resolution (proto2/proto3/editions); this file maps its reflection objects onto the
 * model and turns its errors into file:line:column SchemaErrors.
 */

export interface LoadOptions {
  /** include directories searched for imports (and for the input files themselves), in order */
  includeDirs?: string[];
}

type RObject = protobuf.ReflectionObject;

// protobufjs keeps these on its reflection objects without declaring them in its types
interface Internals {
  _edition?: string | null;
  _features?: Record<string, string | undefined>;
  filename?: string | null;
  group?: boolean;
}
const internals = (o: unknown): Internals => o as Internals;

export function loadProtoFiles(files: string[], options: LoadOptions = {}): FileModel[] {
  const includeDirs = (options.includeDirs ?? []).map((d) => resolve(d));
  // absolute path -> import path ("a/b.proto"), for naming output files and imports
  const importName = new Map<string, string>();

  const nameFor = (abs: string): string => {
    for (const dir of includeDirs) {
      const rel = relative(dir, abs);
      if (!rel.startsWith("..") && !isAbsolute(rel)) return rel.split(sep).join("/");
    }
    const rel = relative(process.cwd(), abs);
    return (!rel.startsWith("..") && !isAbsolute(rel) ? rel : abs).split(sep).join("/");
  };

  const root = new protobuf.Root();
  // where an import is looked for: the include directories in order, then the importing file's
  // directory (protoc looks in the include directories only)
  const candidates = (origin: string, target: string): string[] => isAbsolute(target) ? [target] : [
    ...includeDirs.map((dir) => resolve(dir, target)),
    origin ? resolve(dirname(origin), target) : resolve(target),
  ];
  const resolvePath = (origin: string, target: string): string | null => {
    const hit = [...new Set(candidates(origin, target))].find((p) => existsSync(p));
    if (hit !== undefined) return hit;
    // protobufjs serves well-known types it bundles; keep their import name
    if (target.startsWith("google/protobuf/") && protobuf.common.get(target) !== null) return target;
    return null;
  };
  // where an import was looked for, for the error
  const searched = (origin: string, target: string): string => {
    if (isAbsolute(target)) return "(absolute path)";
    const show = (d: string) => (relative(process.cwd(), d) === "" ? "." : displayPath(d));
    const own = show(origin ? dirname(origin) : process.cwd());
    if (includeDirs.length === 0) return `the importing file's directory ${own} (no include paths given with -I)`;
    return `the include paths (-I) ${includeDirs.map(show).join(", ")}, then the importing file's directory ${own}`;
  };

  const inputs: string[] = [];
  for (const f of files) {
    let abs = resolve(f);
    if (!existsSync(abs)) {
      const hit = includeDirs.map((d) => resolve(d, f)).find((p) => existsSync(p));
      if (hit === undefined) throw new SchemaError(`file not found: ${f}`, f, 1, 1);
      abs = hit;
    }
    inputs.push(abs);
  }

  const fileOf = (o: RObject): string => {
    let p: RObject | null = o;
    while (p !== null && internals(p).filename == null) p = p.parent;
    return p === null ? "unknown.proto" : internals(p).filename!;
  };
  let loaded: Map<string, LoadedFile>;
  try {
    // not root.loadSync: it leaves some objects without their file (see load.ts)
    loaded = loadFiles(root, inputs, { keepCase: true, alternateCommentMode: true }, resolvePath, searched, displayPath);
    checkMethodTypes(root, (o) => nameFor(resolveFile(fileOf(o))), (o) => resolveFile(fileOf(o)));
    root.resolveAll();
  } catch (err) {
    throw toSchemaError(err as Error, inputs);
  }

  // group files: every top-level object knows its file
  const byFile = new Map<string, {
    messages: protobuf.Type[]; enums: protobuf.Enum[]; services: protobuf.Service[]; extensions: protobuf.Field[]; edition: string; pkg: string;
  }>();
  const editionOf = (o: RObject): string => {
    let p: RObject | null = o;
    while (p !== null && !internals(p)._edition) p = p.parent;
    return p === null ? "proto2" : internals(p)._edition!;
  };
  const entry = (file: string, o: RObject) => {
    let e = byFile.get(file);
    if (e === undefined) {
      e = { messages: [], enums: [], services: [], extensions: [], edition: editionOf(o), pkg: packageOf(o) };
      byFile.set(file, e);
    }
    return e;
  };
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) {
        entry(fileOf(o), o).messages.push(o);
        walk(o);
      } else if (o instanceof protobuf.Enum) {
        entry(fileOf(o), o).enums.push(o);
      } else if (o instanceof protobuf.Service) {
        if (ns instanceof protobuf.Type) {
          // protobufjs's parser accepts a service inside a message; protoc does not
          const abs = resolveFile(fileOf(o));
          const at = locate(abs, unescapeNames(o.name));
          throw new SchemaError(`service ${unescapeNames(o.name)} is declared inside message ${unescapeNames(ns.fullName.slice(1))}: services must be declared at the top level of a file`, nameFor(abs), at.line, at.column);
        }
        entry(fileOf(o), o).services.push(o);
      } else if (o instanceof protobuf.Field && o.extend !== undefined) {
        entry(fileOf(o), o).extensions.push(o);
      } else if (o instanceof protobuf.Namespace) {
        walk(o);
      }
    }
  };
  walk(root);
  // files that declare no types get a module too, as the plugin writes one for every file
  for (const [file, info] of loaded) {
    if (!byFile.has(file)) byFile.set(file, { messages: [], enums: [], services: [], extensions: [], edition: info.syntax, pkg: unescapeNames(info.package) });
  }

  const refOf = (t: protobuf.Type | protobuf.Enum): TypeRef => ({
    fullName: unescapeNames(t.fullName.replace(/^\./, "")),
    tsName: tsNameOf(t),
    file: nameFor(resolveFile(fileOf(t))),
  });

  const models: FileModel[] = [];
  for (const [file, e] of byFile) {
    const abs = resolveFile(file);
    const name = nameFor(abs);
    const deps = new Set<string>();
    const messages = e.messages.map((t) => buildMessage(t, abs, refOf, deps, name));
    // file-level enums first, then each message's in message order (the order descriptors give)
    const scope = (en: protobuf.Enum) => (en.parent instanceof protobuf.Type ? e.messages.indexOf(en.parent) : -1);
    const enums = [...e.enums].sort((a, b) => scope(a) - scope(b)).map((en) => buildEnum(en, refOf, abs, name, e.edition));
    const comments = e.services.length > 0 ? commentsOf(abs) : new Map<string, ServiceComments>();
    const services = e.services.map((sv) => buildService(sv, abs, refOf, deps, name, comments));
    // top-level extensions first, then each message's in message order (the order descriptors give)
    const extScope = (f: protobuf.Field) => (f.parent instanceof protobuf.Type ? e.messages.indexOf(f.parent) : -1);
    const extensions = [...e.extensions].sort((a, b) => extScope(a) - extScope(b))
      .map((f) => buildExtension(f, abs, refOf, deps, name, e.pkg))
      .filter((x): x is ExtensionModel => x !== undefined);
    const seen = new Map<string, string>();
    for (const x of [...messages, ...enums, ...services, ...extensions]) {
      const prev = seen.get(x.tsName);
      if (prev !== undefined) {
        const at = locate(abs, x.fullName.split(".").pop()!);
        throw new SchemaError(`${x.fullName} and ${prev} both become the TypeScript name ${x.tsName}`, name, at.line, at.column);
      }
      seen.set(x.tsName, x.fullName);
    }
    deps.delete(name);
    models.push({ name, package: e.pkg, syntax: e.edition, messages, enums, services, extensions, dependencies: [...deps].sort() });
  }
  models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return models;
}

/**
 * protobufjs resolves a method's input and output among messages only, and reports an enum there
 * as an unknown type; protoc says it is not a message. So does this, before resolving.
 */
function checkMethodTypes(ns: protobuf.NamespaceBase, nameOf: (o: RObject) => string, pathOf: (o: RObject) => string): void {
  for (const o of ns.nestedArray) {
    if (o instanceof protobuf.Service) {
      for (const m of o.methodsArray) {
        for (const [side, typeName] of [["input", m.requestType], ["output", m.responseType]] as const) {
          const t = o.lookup(typeName);
          if (t instanceof protobuf.Enum) {
            const at = locateRpc(pathOf(o), unescapeNames(m.name));
            const method = `${unescapeNames(o.fullName.slice(1))}.${unescapeNames(m.name)}`;
            throw new SchemaError(`the ${side} type of ${method} is the enum ${unescapeNames(t.fullName.slice(1))}: a method's input and output must be messages`, nameOf(o), at.line, at.column);
          }
        }
      }
    } else if (o instanceof protobuf.Namespace) checkMethodTypes(o, nameOf, pathOf);
  }
}

function resolveFile(file: string): string {
  return file.startsWith("google/protobuf/") ? file : resolve(file);
}

function packageOf(o: RObject): string {
  const parts: string[] = [];
  let p = o.parent;
  while (p !== null && p.parent !== null) {
    if (!(p instanceof protobuf.Type)) parts.unshift(unescapeNames(p.name));
    p = p.parent;
  }
  return parts.join(".");
}

function tsNameOf(o: RObject): string {
  const parts = [unescapeNames(o.name)];
  let p = o.parent;
  while (p instanceof protobuf.Type) {
    parts.unshift(unescapeNames(p.name));
    p = p.parent;
  }
  return tsTypeName(parts);
}

/** protoc's leading comments of the services in a file (none for a file that cannot be read, like a bundled one). */
function commentsOf(abs: string): Map<string, ServiceComments> {
  let source: string;
  try {
    source = readFileSync(abs, "utf8");
  } catch {
    return new Map();
  }
  return serviceComments(source);
}

function buildService(
  sv: protobuf.Service,
  abs: string,
  refOf: (t: protobuf.Type | protobuf.Enum) => TypeRef,
  deps: Set<string>,
  fileName: string,
  fileComments: Map<string, ServiceComments>,
): ServiceModel {
  const name = unescapeNames(sv.name);
  const fullName = unescapeNames(sv.fullName.replace(/^\./, ""));
  const comments = fileComments.get(name);
  const methods: MethodModel[] = sv.methodsArray.map((m) => {
    // resolveAll() has resolved both to messages: Method.resolve throws for a missing type, and
    // checkMethodTypes refused enums
    const ends = [m.resolvedRequestType!, m.resolvedResponseType!].map((t) => {
      const ref = refOf(t);
      deps.add(ref.file);
      return ref;
    });
    const comment = comments?.methods.get(unescapeNames(m.name));
    const options = (m.options ?? {}) as Record<string, unknown>;
    const idempotency = idempotencyOf(options["idempotency_level"] as string | number | undefined);
    return {
      name: unescapeNames(m.name),
      localName: "", // named by nameMethods
      kind: methodKind(m.requestStream === true, m.responseStream === true),
      input: ends[0]!,
      output: ends[1]!,
      ...(idempotency !== undefined ? { idempotency } : {}),
      ...(comment !== undefined ? { comment } : {}),
      deprecated: options["deprecated"] === true,
    };
  });
  nameMethods(methods);
  const options = (sv.options ?? {}) as Record<string, unknown>;
  return {
    name,
    fullName,
    tsName: tsTypeName([name]),
    ...(comments?.comment !== undefined ? { comment: comments.comment } : {}),
    deprecated: options["deprecated"] === true,
    methods,
  };
}

function buildEnum(en: protobuf.Enum, refOf: (t: protobuf.Enum) => TypeRef, abs: string, fileName: string, syntax: string): EnumModel {
  const closed = internals(en)._features?.enum_type === "CLOSED";
  const values = Object.entries(en.values).map(([name, number]) => ({ name: unescapeNames(name), number }));
  // protoc: an open enum's first value is its default, which must be zero
  const first = values[0];
  if (!closed && first !== undefined && first.number !== 0) {
    const at = locateField(abs, first.name, first.number);
    const why = syntax === "proto3" ? "in proto3" : "for open enums";
    throw new SchemaError(`the first enum value must be zero ${why} (${unescapeNames(en.fullName.slice(1))}.${first.name} = ${first.number})`, fileName, at.line, at.column);
  }
  return { ...refOf(en), values, closed };
}

function buildMessage(
  t: protobuf.Type,
  abs: string,
  refOf: (t: protobuf.Type | protobuf.Enum) => TypeRef,
  deps: Set<string>,
  fileName: string,
): MessageModel {
  const fail = (msg: string, word: string): never => {
    const at = locate(abs, unescapeNames(word));
    throw new SchemaError(unescapeNames(msg), fileName, at.line, at.column);
  };
  const fields: FieldModel[] = [];
  const oneofs: OneofModel[] = [];
  for (const o of t.oneofsArray) {
    if (o.isProto3Optional) continue;
    oneofs.push({ protoName: unescapeNames(o.name), jsName: "", fields: o.fieldsArray.map((f) => f.id) }); // named by nameProperties
  }
  const typeOf = (f: protobuf.Field, typeName: string, resolved: protobuf.Type | protobuf.Enum | null): FieldType => {
    if (resolved instanceof protobuf.Type) {
      const ref = refOf(resolved);
      deps.add(ref.file);
      return { kind: "message", ref, delimited: f.delimited };
    }
    if (resolved instanceof protobuf.Enum) {
      const ref = refOf(resolved);
      deps.add(ref.file);
      return { kind: "enum", ref, closed: internals(resolved)._features?.enum_type === "CLOSED" };
    }
    if ((SCALAR_TYPES as readonly string[]).includes(typeName)) return { kind: "scalar", scalar: typeName as ScalarType };
    return fail(`unsupported field type "${typeName}" in ${t.fullName.slice(1)}.${f.name}`, f.name);
  };
  for (const f of t.fieldsArray) {
    if (f.declaringField || (f as unknown as { extend?: string }).extend) continue; // extensions: kept as unknown fields
    const features = internals(f)._features ?? {};
    // protoc names a group's field after the group in lower case (MultiWord -> multiword)
    const rt = f.resolvedType;
    const protoName = rt instanceof protobuf.Type && internals(rt).group && rt.parent === t ? f.name.toLowerCase() : unescapeNames(f.name);
    const base: Omit<FieldModel, "type" | "presence" | "repeated" | "packed"> = {
      protoName,
      jsName: "", // named by nameProperties
      jsonName: (f.options?.["json_name"] as string | undefined) ?? lowerCamelCase(protoName),
      number: f.id,
      validateUtf8: features.utf8_validation === "VERIFY",
    };
    if (f instanceof protobuf.MapField) {
      const key = f.keyType as ScalarType;
      if (!(SCALAR_TYPES as readonly string[]).includes(key) || key === "float" || key === "double" || key === "bytes") {
        fail(`invalid map key type "${f.keyType}" in ${t.fullName.slice(1)}.${f.name}`, f.name);
      }
      const value = typeOf(f, f.type, f.resolvedType);
      if (value.kind === "message") value.delimited = false; // map values are always length-prefixed
      fields.push({ ...base, type: value, presence: "implicit", repeated: false, packed: false, map: { key, value } });
      continue;
    }
    const type = typeOf(f, f.type, f.resolvedType);
    const repeated = f.repeated;
    const packable = type.kind === "enum" || (type.kind === "scalar" && type.scalar !== "string" && type.scalar !== "bytes");
    const presence: FieldModel["presence"] = f.required ? "required" : !repeated && f.hasPresence ? "explicit" : "implicit";
    const model: FieldModel = { ...base, type, presence, repeated, packed: repeated && packable && f.packed };
    const po = f.partOf;
    if (po && !po.isProto3Optional) model.oneof = unescapeNames(po.name);
    const dflt = f.options?.["default"] as unknown;
    if (dflt !== undefined && !repeated) model.defaultValue = convertDefault(dflt, type, f, fail, abs);
    else if (!repeated && f.resolvedType instanceof protobuf.Enum) {
      // an enum field's default is its first declared value (not 0 when a proto2 enum starts elsewhere)
      const first = Object.values(f.resolvedType.values)[0];
      if (first !== undefined && first !== 0) model.defaultValue = first;
    }
    fields.push(model);
  }
  // protoc and buf reject conflicting JSON names; the plugin never sees such a schema
  const declared = t.fieldsArray.filter((f) => !f.declaringField && !(f as unknown as { extend?: string }).extend);
  const conflict = jsonNameConflict(
    declared.map((f) => ({ name: unescapeNames(f.name), jsonName: f.options?.["json_name"] as string | undefined })),
    internals(t)._features?.json_format === "ALLOW" && t.options?.["deprecated_legacy_json_field_conflicts"] !== true,
  );
  if (conflict !== undefined) {
    const f = declared[conflict.index]!;
    const at = locateField(abs, unescapeNames(f.name), f.id);
    throw new SchemaError(`${conflict.message} in ${unescapeNames(t.fullName.slice(1))}`, fileName, at.line, at.column);
  }
  fields.sort((a, b) => a.number - b.number);
  nameProperties(fields, oneofs);
  const extensionRanges: [number, number][] = isMessageSet(t) ? []
    : (t.extensions ?? []).map(([lo, hi]): [number, number] => [lo, hi]).sort((a, b) => a[0] - b[0]);
  // protobufjs keeps reserved numbers as [from, to] and names as strings, in declaration order
  const reservedNames = (t.reserved ?? []).filter((r): r is string => typeof r === "string").map(unescapeNames);
  return { fullName: unescapeNames(t.fullName.replace(/^\./, "")), tsName: tsNameOf(t), fields, oneofs, extensionRanges, reservedNames };
}

function isMessageSet(t: protobuf.Type): boolean {
  return t.options?.["message_set_wire_format"] === true;
}

/**
 * The model of an extension (a field declared in an `extend` block), or undefined for an
 * extension of a MessageSet (not generated).
 */
function buildExtension(
  f: protobuf.Field,
  abs: string,
  refOf: (t: protobuf.Type | protobuf.Enum) => TypeRef,
  deps: Set<string>,
  fileName: string,
  pkg: string,
): ExtensionModel | undefined {
  const fail = (msg: string): never => {
    const at = locate(abs, unescapeNames(f.name));
    throw new SchemaError(unescapeNames(msg), fileName, at.line, at.column);
  };
  const extendee = f.extensionField?.parent;
  if (!(extendee instanceof protobuf.Type)) return fail(`unresolved extendee "${f.extend ?? ""}" of extension ${f.name}`);
  if (isMessageSet(extendee)) return undefined;
  const features = internals(f)._features ?? {};
  const rt = f.resolvedType;
  // protoc names a group's field after the group in lower case (GroupField -> groupfield)
  const protoName = rt instanceof protobuf.Type && internals(rt).group && rt.parent === f.parent ? unescapeNames(f.name).toLowerCase() : unescapeNames(f.name);
  let type: FieldType;
  if (rt instanceof protobuf.Type || rt instanceof protobuf.Enum) {
    const ref = refOf(rt);
    deps.add(ref.file);
    type = rt instanceof protobuf.Type
      ? { kind: "message", ref, delimited: f.delimited }
      : { kind: "enum", ref, closed: internals(rt)._features?.enum_type === "CLOSED" };
  } else if ((SCALAR_TYPES as readonly string[]).includes(f.type)) type = { kind: "scalar", scalar: f.type as ScalarType };
  else return fail(`unsupported field type "${f.type}" in extension ${f.name}`);
  const extRef = refOf(extendee);
  deps.add(extRef.file);
  const scope = f.parent instanceof protobuf.Type ? unescapeNames(f.parent.fullName.slice(1)) : undefined;
  const fullName = scope !== undefined ? `${scope}.${protoName}` : pkg === "" ? protoName : `${pkg}.${protoName}`;
  const scopePath = scope === undefined ? [] : scope.slice(pkg === "" ? 0 : pkg.length + 1).split(".");
  const repeated = f.repeated;
  const packable = type.kind === "enum" || (type.kind === "scalar" && type.scalar !== "string" && type.scalar !== "bytes");
  const model: ExtensionModel = {
    protoName,
    fullName,
    tsName: extensionTsName(scopePath, protoName),
    jsonName: `[${fullName}]`,
    extendee: extRef,
    number: f.id,
    type,
    presence: repeated ? "implicit" : "explicit",
    repeated,
    packed: repeated && packable && f.packed,
    validateUtf8: features.utf8_validation === "VERIFY",
  };
  if (scope !== undefined) model.scope = scope;
  if (!repeated) {
    const dflt = f.options?.["default"] as unknown;
    if (dflt !== undefined) model.defaultValue = convertDefault(dflt, type, f, (msg) => fail(msg), abs);
    else if (rt instanceof protobuf.Enum) {
      const first = Object.values(rt.values)[0];
      if (first !== undefined && first !== 0) model.defaultValue = first;
    }
  }
  return model;
}

function convertDefault(
  v: unknown,
  type: FieldType,
  f: protobuf.Field,
  fail: (msg: string, word: string) => never,
  abs: string,
): FieldModel["defaultValue"] {
  if (type.kind === "message") return undefined;
  if (type.kind === "enum") {
    const en = f.resolvedType as protobuf.Enum;
    if (typeof v === "number") return v;
    const n = en.values[String(v)];
    if (n === undefined) fail(`default value ${String(v)} is not a value of enum ${en.name}`, f.name);
    return n;
  }
  switch (type.scalar) {
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64":
      return typeof v === "number" ? exactInt64Default(abs, unescapeNames(f.name), f.id, v) : BigInt(String(v));
    case "bool":
      return v === true || v === "true";
    case "string": {
      const exact = defaultLiteralBytes(abs, unescapeNames(f.name), f.id, String(v)); // escapes are UTF-8 bytes
      return exact !== undefined ? new TextDecoder().decode(exact) : String(v);
    }
    case "bytes": {
      const s = String(v);
      const exact = defaultLiteralBytes(abs, unescapeNames(f.name), f.id, s);
      if (exact !== undefined) return exact;
      const b = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
      return b;
    }
    case "float": // the value the field holds: 9e9 is 8999999488 as a float
      return Math.fround(typeof v === "number" ? v : Number(v));
    default:
      return typeof v === "number" ? v : Number(v);
  }
}

/** Turns a protobufjs parse or resolve error into a SchemaError with file:line:column. */
function toSchemaError(err: Error, inputs: string[]): Error {
  if (err instanceof SchemaError) return err;
  const msg = unescapeNames(err.message);
  // "illegal token 'x' (path/file.proto, line 12)"
  const m = /^(.*) \((?:(.+), )?line (\d+)\)$/.exec(msg);
  if (m !== null) {
    const file = m[2] ?? inputs[0] ?? "input.proto";
    const line = Number(m[3]);
    const tok = /'([^']*)'/.exec(m[1]!)?.[1];
    const at = tok ? locate(file, tok, line) : { line, column: 1 };
    return new SchemaError(m[1]!, displayPath(file), at.line, at.column);
  }
  // "duplicate id 2 in Type .pkg.Msg" (Type.add, while parsing the file)
  const dup = /^duplicate id (\d+) in Type \.?(\S+)$/.exec(msg);
  const parsing = (err as ParseFailure).sgwireFile;
  if (dup !== null && parsing !== undefined) {
    const [, num, type] = dup;
    const message = type!.split(".").pop()!;
    const first = locateFieldNumber(parsing, message, Number(num), 0);
    const second = locateFieldNumber(parsing, message, Number(num), 1);
    const text = `field number ${num} has already been used in "${type}" by field "${first?.name ?? "?"}"`;
    return new SchemaError(text, displayPath(parsing), second?.line ?? 1, second?.column ?? 1);
  }
  // "no such type: Foo" / "no such Type or Enum 'Foo' in Type .Bar" (resolveAll)
  const nt = /^no such (?:type: |Type or Enum ')([^' ]+)/.exec(msg);
  if (nt !== null) {
    const word = nt[1]!;
    const inType = / in Type \.?(\S+)$/.exec(msg)?.[1];
    const text = `unknown type "${word}"${inType ? ` (referenced in ${inType})` : ""}`;
    for (const f of inputs) {
      const at = locate(f, word);
      if (at.line !== 1 || at.column !== 1) return new SchemaError(text, displayPath(f), at.line, at.column);
    }
  }
  const enoent = /ENOENT[^']*'([^']+)'/.exec(msg);
  if (enoent !== null) return new SchemaError(`cannot read ${enoent[1]}`, enoent[1]!, 1, 1);
  return new SchemaError(msg, inputs[0] !== undefined ? displayPath(inputs[0]) : "input.proto", 1, 1);
}

/** A path relative to the working directory when it lies below it, else as it is. */
function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : p;
}
