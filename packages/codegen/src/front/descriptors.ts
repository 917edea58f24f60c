import {
  Edition,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type ServiceDescriptorProto,
} from "../gen/google/protobuf/descriptor.sg.js";
import {
  SchemaError, extensionTsName, idempotencyOf, lowerCamelCase, methodKind, nameMethods, nameProperties, tsTypeName,
  type EnumModel, type ExtensionModel, type FieldModel, type FieldType, type FileModel, type MessageModel, type MethodModel, type OneofModel,
  type ScalarType, type ServiceModel, type TypeRef,
} from "../model.js";
import {
  EnumType, FieldPresence, MessageEncoding, RepeatedFieldEncoding, Utf8Validation,
  editionDefaults, editionName, mergeFeatures, type Features,
} from "./features.js";
import { unescapeBytes } from "./escapes.js";

/**
 * Front end over descriptors (google.protobuf.FileDescriptorProto), as protoc and buf hand them to
 * a plugin: builds the same schema model as the protobufjs front end (front/protobufjs.ts) builds
 * from the .proto source, so both generate the same code. protoc has already parsed, resolved and
 * validated the schema; this file resolves features (editions; proto2/proto3 legacy syntax mapped
 * onto features) and maps every field the way the protobufjs front end does.
 */

export interface DescriptorOptions {
  /** names (import paths) of the files to build models for; default: every file given */
  files?: readonly string[];
}

const SCALAR_OF: Partial<Record<Type, ScalarType>> = {
  [Type.TYPE_DOUBLE]: "double", [Type.TYPE_FLOAT]: "float",
  [Type.TYPE_INT64]: "int64", [Type.TYPE_UINT64]: "uint64", [Type.TYPE_INT32]: "int32",
  [Type.TYPE_FIXED64]: "fixed64", [Type.TYPE_FIXED32]: "fixed32", [Type.TYPE_BOOL]: "bool",
  [Type.TYPE_STRING]: "string", [Type.TYPE_BYTES]: "bytes", [Type.TYPE_UINT32]: "uint32",
  [Type.TYPE_SFIXED32]: "sfixed32", [Type.TYPE_SFIXED64]: "sfixed64",
  [Type.TYPE_SINT32]: "sint32", [Type.TYPE_SINT64]: "sint64",
};

// field numbers of descriptor.proto, for source locations (SourceCodeInfo paths)
const FILE_MESSAGE = 4, FILE_ENUM = 5, FILE_SERVICE = 6, FILE_EXTENSION = 7, MESSAGE_FIELD = 2, MESSAGE_NESTED = 3, MESSAGE_ENUM = 4,
  MESSAGE_EXTENSION = 6, SERVICE_METHOD = 2;

interface FileInfo {
  desc: FileDescriptorProto;
  edition: Edition;
  features: Features;
}

interface MessageInfo {
  kind: "message";
  desc: DescriptorProto;
  ref: TypeRef;
  file: FileInfo;
  features: Features;
  /** SourceCodeInfo path of the message */
  path: number[];
  /** a map field's synthesized entry type (not a message of the model) */
  mapEntry: boolean;
}

interface EnumInfo {
  kind: "enum";
  desc: EnumDescriptorProto;
  ref: TypeRef;
  file: FileInfo;
  closed: boolean;
  path: number[];
}

/** Everything one file declares, in the model's order. */
interface FileTypes {
  file: FileInfo;
  /** messages in pre-order (a message, then its nested messages), map entries included */
  messages: MessageInfo[];
  /** file-level enums, then each message's enums in the order of `messages` */
  enums: EnumInfo[];
}

/**
 * Builds the schema models of `files` (every file, or those named in `options.files`) from
 * descriptors. Every file that a built file imports must be among `files` (protoc sends them all,
 * dependencies first). Throws SchemaError, located through the descriptors' SourceCodeInfo when
 * they carry it.
 */
export function fileModelsFromDescriptors(files: readonly FileDescriptorProto[], options: DescriptorOptions = {}): FileModel[] {
  const types = new Map<string, MessageInfo | EnumInfo>();
  const byFile = new Map<string, FileTypes>();
  for (const desc of files) {
    const name = desc.name ?? "";
    if (byFile.has(name)) throw new SchemaError(`file ${name} is given twice`, name, 1, 1);
    byFile.set(name, indexFile(desc, types));
  }
  const wanted = options.files ?? files.map((f) => f.name ?? "");
  const models: FileModel[] = [];
  for (const name of wanted) {
    const ft = byFile.get(name);
    if (ft === undefined) throw new SchemaError(`no descriptor for file ${name}`, name, 1, 1);
    const desc = files.find((f) => f.name === name)!;
    models.push(buildFile(desc, ft, types));
  }
  models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return models;
}

function fileEdition(desc: FileDescriptorProto): Edition {
  switch (desc.syntax) {
    case undefined: case "": case "proto2": return Edition.EDITION_PROTO2;
    case "proto3": return Edition.EDITION_PROTO3;
    case "editions": return desc.edition ?? Edition.EDITION_UNKNOWN;
    default:
      throw new SchemaError(`unknown syntax "${desc.syntax}"`, desc.name ?? "", 1, 1);
  }
}

/** Registers every message and enum of a file under its full name. */
function indexFile(desc: FileDescriptorProto, types: Map<string, MessageInfo | EnumInfo>): FileTypes {
  const name = desc.name ?? "";
  const edition = fileEdition(desc);
  const defaults = editionDefaults(edition);
  if (defaults === undefined) {
    throw new SchemaError(`edition ${editionName(edition)} is not supported by sgwire (supported: proto2, proto3, 2023, 2024)`, name, 1, 1);
  }
  const file: FileInfo = { desc, edition, features: mergeFeatures(defaults, desc.options?.features) };
  const pkg = desc.package ?? "";
  const out: FileTypes = { file, messages: [], enums: [] };
  const ref = (scope: string[], n: string): TypeRef => ({
    fullName: [pkg, ...scope, n].filter((s) => s !== "").join("."),
    tsName: tsTypeName([...scope, n]),
    file: name,
  });
  const addEnum = (e: EnumDescriptorProto, scope: string[], features: Features, path: number[]) => {
    const info: EnumInfo = {
      kind: "enum", desc: e, ref: ref(scope, e.name ?? ""), file, path,
      closed: mergeFeatures(features, e.options?.features).enumType === EnumType.CLOSED,
    };
    types.set(info.ref.fullName, info);
    out.enums.push(info);
  };
  // messages in pre-order; enums collected per scope and appended scope by scope
  const scopes: [EnumDescriptorProto[], string[], Features, number[]][] = [[desc.enumType, [], file.features, [FILE_ENUM]]];
  const addMessage = (m: DescriptorProto, scope: string[], parent: Features, path: number[]) => {
    const features = mergeFeatures(parent, m.options?.features);
    const info: MessageInfo = {
      kind: "message", desc: m, ref: ref(scope, m.name ?? ""), file, features, path,
      mapEntry: m.options?.mapEntry === true,
    };
    types.set(info.ref.fullName, info);
    out.messages.push(info);
    const inner = [...scope, m.name ?? ""];
    scopes.push([m.enumType, inner, features, [...path, MESSAGE_ENUM]]);
    m.nestedType.forEach((n, i) => addMessage(n, inner, features, [...path, MESSAGE_NESTED, i]));
  };
  desc.messageType.forEach((m, i) => addMessage(m, [], file.features, [FILE_MESSAGE, i]));
  for (const [enums, scope, features, path] of scopes) enums.forEach((e, i) => addEnum(e, scope, features, [...path, i]));
  return out;
}

/** The SourceCodeInfo location of the element at `path`, if the descriptor carries it. */
function locationOf(file: FileDescriptorProto, path: number[]) {
  return file.sourceCodeInfo?.location.find((loc) => loc.path.length === path.length && loc.path.every((p, i) => p === path[i]));
}

/** Line and column (1-based) of the element at `path`, from the file's SourceCodeInfo; else 1:1. */
function locate(file: FileDescriptorProto, path: number[]): { line: number; column: number } {
  for (const loc of file.sourceCodeInfo?.location ?? []) {
    if (loc.path.length === path.length && loc.path.every((p, i) => p === path[i]) && loc.span.length >= 3) {
      return { line: loc.span[0]! + 1, column: loc.span[1]! + 1 };
    }
  }
  return { line: 1, column: 1 };
}

/** The leading comment of the element at `path` (protoc and buf send them for the files they were asked to generate). */
function leadingComment(file: FileDescriptorProto, path: number[]): string | undefined {
  return locationOf(file, path)?.leadingComments;
}

function buildService(
  desc: FileDescriptorProto,
  sv: ServiceDescriptorProto,
  index: number,
  types: Map<string, MessageInfo | EnumInfo>,
  deps: Set<string>,
): ServiceModel {
  const name = sv.name ?? "";
  const fullName = [desc.package ?? "", name].filter((s) => s !== "").join(".");
  const path = [FILE_SERVICE, index];
  const methods = sv.method.map((m, i): MethodModel => {
    const where = [...path, SERVICE_METHOD, i];
    const [input, output] = [m.inputType, m.outputType].map((typeName, k) => {
      const t = types.get((typeName ?? "").replace(/^\./, ""));
      if (t?.kind !== "message") {
        const at = locate(desc, where);
        const what = t === undefined ? "unresolved" : "not a message:";
        throw new SchemaError(`${k === 0 ? "input" : "output"} type of ${fullName}.${m.name ?? ""} is ${what} "${typeName ?? ""}"`, desc.name ?? "", at.line, at.column);
      }
      deps.add(t.ref.file);
      return t.ref;
    });
    const idempotency = idempotencyOf(m.options?.idempotencyLevel);
    const comment = leadingComment(desc, where);
    return {
      name: m.name ?? "",
      localName: "", // named by nameMethods
      kind: methodKind(m.clientStreaming === true, m.serverStreaming === true),
      input: input!,
      output: output!,
      ...(idempotency !== undefined ? { idempotency } : {}),
      ...(comment !== undefined ? { comment } : {}),
      deprecated: m.options?.deprecated === true,
    };
  });
  nameMethods(methods);
  const comment = leadingComment(desc, path);
  return {
    name,
    fullName,
    tsName: tsTypeName([name]),
    ...(comment !== undefined ? { comment } : {}),
    deprecated: sv.options?.deprecated === true,
    methods,
  };
}

function schemaError(file: FileInfo, path: number[], message: string): SchemaError {
  const at = locate(file.desc, path);
  return new SchemaError(message, file.desc.name ?? "", at.line, at.column);
}

function buildFile(desc: FileDescriptorProto, ft: FileTypes, types: Map<string, MessageInfo | EnumInfo>): FileModel {
  const name = desc.name ?? "";
  const deps = new Set<string>();
  const messages = ft.messages.filter((m) => !m.mapEntry).map((m) => buildMessage(m, types, deps));
  const enums: EnumModel[] = ft.enums.map((e) => ({
    ...e.ref,
    values: e.desc.value.map((v) => ({ name: v.name ?? "", number: v.number ?? 0 })),
    closed: e.closed,
  }));
  const services = desc.service.map((sv, i) => buildService(desc, sv, i, types, deps));
  const extensions = buildExtensions(desc, ft, types, deps);
  const seen = new Map<string, string>();
  const infos: (MessageInfo | EnumInfo)[] = [...ft.messages.filter((m) => !m.mapEntry), ...ft.enums];
  // a service's descriptor takes a name in the module too (a service A_B and a message A.B clash)
  const named: { ref: { fullName: string; tsName: string }; path: number[] }[] = [
    ...infos,
    ...services.map((s, i) => ({ ref: s, path: [FILE_SERVICE, i] })),
    ...extensions.map((x) => ({ ref: x.model, path: x.path })),
  ];
  for (const x of named) {
    const prev = seen.get(x.ref.tsName);
    if (prev !== undefined) {
      const at = locate(desc, x.path);
      throw new SchemaError(`${x.ref.fullName} and ${prev} both become the TypeScript name ${x.ref.tsName}`, name, at.line, at.column);
    }
    seen.set(x.ref.tsName, x.ref.fullName);
  }
  deps.delete(name);
  const edition = fileEdition(desc);
  return {
    name, package: desc.package ?? "", syntax: editionName(edition), messages, enums, services,
    extensions: extensions.map((x) => x.model), dependencies: [...deps].sort(),
  };
}

/** Whether a message uses the MessageSet wire format (its extensions are not generated). */
function isMessageSet(t: MessageInfo | EnumInfo | undefined): boolean {
  return t?.kind === "message" && t.desc.options?.messageSetWireFormat === true;
}

/**
 * The extensions of a file: its top-level ones, then each message's (messages in pre-order), in
 * declaration order, with their SourceCodeInfo paths.
 */
function buildExtensions(
  desc: FileDescriptorProto,
  ft: FileTypes,
  types: Map<string, MessageInfo | EnumInfo>,
  deps: Set<string>,
): { model: ExtensionModel; path: number[] }[] {
  const file = ft.file;
  const out: { model: ExtensionModel; path: number[] }[] = [];
  const scopes: { list: FieldDescriptorProto[]; scope?: MessageInfo; features: Features; path: number[] }[] = [
    { list: desc.extension, features: file.features, path: [FILE_EXTENSION] },
    ...ft.messages.map((m) => ({ list: m.desc.extension, scope: m, features: m.features, path: [...m.path, MESSAGE_EXTENSION] })),
  ];
  for (const { list, scope, features: parent, path } of scopes) {
    list.forEach((f, i) => {
      const where = [...path, i];
      const fail = (message: string): never => {
        throw schemaError(file, where, `${message} in extension ${f.name ?? "?"}`);
      };
      const extendee = types.get((f.extendee ?? "").replace(/^\./, ""));
      if (extendee?.kind !== "message") fail(`unresolved extendee "${f.extendee ?? ""}"`);
      if (isMessageSet(extendee)) return;
      let features = mergeFeatures(parent, f.options?.features);
      if (file.edition === Edition.EDITION_PROTO2 || file.edition === Edition.EDITION_PROTO3) features = { ...features, ...legacyFeatures(f) };
      const type = fieldTypeOf(f, features, types, deps, fail);
      const repeated = f.label === Label.LABEL_REPEATED;
      const packable = type.kind === "enum" || (type.kind === "scalar" && type.scalar !== "string" && type.scalar !== "bytes");
      const protoName = f.name ?? "";
      const scopeName = scope?.ref.fullName ?? desc.package ?? "";
      const fullName = scopeName === "" ? protoName : `${scopeName}.${protoName}`;
      const scopePath = scope === undefined ? [] : scope.ref.fullName.slice((desc.package ?? "") === "" ? 0 : (desc.package ?? "").length + 1).split(".");
      deps.add(extendee!.ref.file);
      const model: ExtensionModel = {
        protoName,
        fullName,
        tsName: extensionTsName(scopePath, protoName),
        jsonName: `[${fullName}]`,
        extendee: extendee!.ref,
        number: f.number ?? 0,
        type,
        presence: repeated ? "implicit" : "explicit",
        repeated,
        packed: repeated && packable && features.repeatedFieldEncoding === RepeatedFieldEncoding.PACKED,
        validateUtf8: features.utf8Validation === Utf8Validation.VERIFY,
      };
      if (scope !== undefined) model.scope = scope.ref.fullName;
      if (!repeated) {
        const d = defaultOf(f, type, types);
        if (d === null) fail(`cannot read default value ${JSON.stringify(f.defaultValue)}`);
        if (d !== undefined && d !== null) model.defaultValue = d;
      }
      out.push({ model, path: where });
    });
  }
  return out;
}

/** The model's type of a (non-map) field or extension. */
function fieldTypeOf(
  f: FieldDescriptorProto,
  features: Features,
  types: Map<string, MessageInfo | EnumInfo>,
  deps: Set<string>,
  fail: (message: string) => never,
): FieldType {
  const scalar = f.type !== undefined ? SCALAR_OF[f.type] : undefined;
  if (scalar !== undefined) return { kind: "scalar", scalar };
  const t = types.get((f.typeName ?? "").replace(/^\./, "")) ?? fail(`unresolved type "${f.typeName ?? ""}"`);
  deps.add(t.ref.file);
  if (t.kind === "enum") return { kind: "enum", ref: t.ref, closed: t.closed };
  const delimited = f.type === Type.TYPE_GROUP || features.messageEncoding === MessageEncoding.DELIMITED;
  return { kind: "message", ref: t.ref, delimited };
}

/**
 * The default of a singular field or extension: the declared one (null when it cannot be read),
 * else for an enum whose first value is not 0 that value, else undefined.
 */
function defaultOf(f: FieldDescriptorProto, type: FieldType, types: Map<string, MessageInfo | EnumInfo>): FieldModel["defaultValue"] | null {
  if (f.defaultValue !== undefined) return convertDefault(f.defaultValue, type, types);
  if (type.kind === "enum") {
    // an enum field's default is its first declared value (not 0 when a proto2 enum starts elsewhere)
    const first = (types.get(type.ref.fullName) as EnumInfo).desc.value[0]?.number;
    if (first !== undefined && first !== 0) return first;
  }
  return undefined;
}

function buildMessage(info: MessageInfo, types: Map<string, MessageInfo | EnumInfo>, deps: Set<string>): MessageModel {
  const m = info.desc;
  const legacy = info.file.edition === Edition.EDITION_PROTO2 || info.file.edition === Edition.EDITION_PROTO3;
  const fail = (fieldIndex: number, message: string): never => {
    throw schemaError(info.file, [...info.path, MESSAGE_FIELD, fieldIndex], `${message} in ${info.ref.fullName}.${m.field[fieldIndex]?.name ?? "?"}`);
  };
  // a oneof is synthetic (proto3 `optional`) when its members are proto3_optional fields
  const synthetic = m.oneofDecl.map((_, i) => {
    const members = m.field.filter((f) => f.oneofIndex === i);
    return members.length > 0 && members.every((f) => f.proto3Optional === true);
  });
  const oneofs: OneofModel[] = [];
  m.oneofDecl.forEach((o, i) => {
    if (synthetic[i]) return;
    const name = o.name ?? "";
    oneofs.push({ protoName: name, jsName: "" /* named by nameProperties */, fields: m.field.filter((f) => f.oneofIndex === i).map((f) => f.number ?? 0) });
  });

  const typeOf = (f: FieldDescriptorProto, i: number, features: Features): FieldType =>
    fieldTypeOf(f, features, types, deps, (message) => fail(i, message));

  const fields: FieldModel[] = [];
  m.field.forEach((f, i) => {
    const inOneof = f.oneofIndex !== undefined ? m.oneofDecl[f.oneofIndex] : undefined;
    let features = mergeFeatures(info.features, inOneof?.options?.features);
    features = mergeFeatures(features, f.options?.features);
    if (legacy) features = { ...features, ...legacyFeatures(f) };
    const protoName = f.name ?? "";
    const base = {
      protoName,
      jsName: "", // named by nameProperties
      jsonName: f.jsonName ?? lowerCamelCase(protoName),
      number: f.number ?? 0,
      validateUtf8: features.utf8Validation === Utf8Validation.VERIFY,
    };
    const repeated = f.label === Label.LABEL_REPEATED;
    const target = f.type === Type.TYPE_MESSAGE && repeated ? types.get((f.typeName ?? "").replace(/^\./, "")) : undefined;
    if (target?.kind === "message" && target.mapEntry) {
      const entry = target.desc.field;
      const k = entry.find((x) => x.number === 1);
      const v = entry.find((x) => x.number === 2);
      const key = k?.type !== undefined ? SCALAR_OF[k.type] : undefined;
      if (k === undefined || v === undefined || key === undefined || key === "float" || key === "double" || key === "bytes") {
        fail(i, `invalid map entry ${target.ref.fullName}`);
      }
      const value = typeOf(v!, i, features);
      if (value.kind === "message") value.delimited = false; // map values are always length-prefixed
      deps.add(target.ref.file);
      fields.push({ ...base, type: value, presence: "implicit", repeated: false, packed: false, map: { key: key!, value } });
      return;
    }
    const type = typeOf(f, i, features);
    const packable = type.kind === "enum" || (type.kind === "scalar" && type.scalar !== "string" && type.scalar !== "bytes");
    const required = f.label === Label.LABEL_REQUIRED || features.fieldPresence === FieldPresence.LEGACY_REQUIRED;
    const hasPresence = inOneof !== undefined || f.proto3Optional === true || features.fieldPresence !== FieldPresence.IMPLICIT;
    const presence: FieldModel["presence"] = required ? "required" : !repeated && hasPresence ? "explicit" : "implicit";
    const packed = repeated && packable && features.repeatedFieldEncoding === RepeatedFieldEncoding.PACKED;
    const model: FieldModel = { ...base, type, presence, repeated, packed };
    if (inOneof !== undefined && !synthetic[f.oneofIndex!]) model.oneof = inOneof.name ?? "";
    if (!repeated) {
      const d = defaultOf(f, type, types);
      if (d === null) fail(i, `cannot read default value ${JSON.stringify(f.defaultValue)}`);
      if (d !== undefined && d !== null) model.defaultValue = d;
    }
    fields.push(model);
  });
  fields.sort((a, b) => a.number - b.number);
  nameProperties(fields, oneofs);
  const extensionRanges: [number, number][] = m.options?.messageSetWireFormat === true ? []
    : m.extensionRange.map((r): [number, number] => [r.start ?? 0, (r.end ?? 1) - 1]).sort((a, b) => a[0] - b[0]);
  return { fullName: info.ref.fullName, tsName: info.ref.tsName, fields, oneofs, extensionRanges, reservedNames: [...m.reservedName] };
}

/** proto2/proto3 syntax expressed as features: `required`, groups and `[packed = ...]`. */
function legacyFeatures(f: FieldDescriptorProto): Partial<Features> {
  const out: Partial<Features> = {};
  if (f.label === Label.LABEL_REQUIRED) out.fieldPresence = FieldPresence.LEGACY_REQUIRED;
  if (f.type === Type.TYPE_GROUP) out.messageEncoding = MessageEncoding.DELIMITED;
  if (f.options?.packed === true) out.repeatedFieldEncoding = RepeatedFieldEncoding.PACKED;
  else if (f.options?.packed === false) out.repeatedFieldEncoding = RepeatedFieldEncoding.EXPANDED;
  return out;
}

/**
 * A descriptor's default_value (text, as protoc writes it) as the model's value. Returns null
 * when the text cannot be read.
 */
function convertDefault(text: string, type: FieldType, types: Map<string, MessageInfo | EnumInfo>): FieldModel["defaultValue"] | null {
  if (type.kind === "message") return undefined;
  if (type.kind === "enum") {
    const en = types.get(type.ref.fullName) as EnumInfo;
    const v = en.desc.value.find((x) => x.name === text);
    return v === undefined ? null : v.number ?? 0;
  }
  switch (type.scalar) {
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64":
      return /^-?\d+$/.test(text) ? BigInt(text) : null;
    case "bool":
      return text === "true";
    case "string":
      return text;
    case "bytes":
      return unescapeBytes(text);
    case "double": case "float": {
      const v = text === "inf" ? Infinity : text === "-inf" ? -Infinity : text === "nan" ? NaN : Number(text);
      if (Number.isNaN(v) && text !== "nan") return null;
      // the value a float field holds (protoc writes 9e9 as "9e+09", buf as "8.999999488e+09")
      return type.scalar === "float" ? Math.fround(v) : v;
    }
    default:
      return /^-?\d+$/.test(text) ? Number(text) : null;
  }
}
