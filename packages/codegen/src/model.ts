import { methodLocalName, protoCamelCase, type MethodIdempotency, type MethodKind } from "@sgwire/core";

/**
 * The schema model: what the generator needs to know about a set of .proto files, independent of
 * the front end that read them (the protobufjs parser here; descriptors from protoc or buf in the
 * plugin). Both front ends build exactly this, so both generate the same code.
 */

export type ScalarType =
  | "double" | "float"
  | "int32" | "uint32" | "sint32" | "fixed32" | "sfixed32"
  | "int64" | "uint64" | "sint64" | "fixed64" | "sfixed64"
  | "bool" | "string" | "bytes";

export const SCALAR_TYPES: readonly ScalarType[] = [
  "double", "float", "int32", "uint32", "sint32", "fixed32", "sfixed32",
  "int64", "uint64", "sint64", "fixed64", "sfixed64", "bool", "string", "bytes",
];

/** A reference to a message or enum defined in some file of the set. */
export interface TypeRef {
  /** fully qualified protobuf name without leading dot, e.g. "shop.Order.Item" */
  fullName: string;
  /** exported TypeScript name in its module, e.g. "Order_Item" */
  tsName: string;
  /** the .proto file (its import path) that defines it */
  file: string;
}

export type FieldType =
  | { kind: "scalar"; scalar: ScalarType }
  | { kind: "enum"; ref: TypeRef; closed: boolean }
  | { kind: "message"; ref: TypeRef; delimited: boolean };

export interface FieldModel {
  /** name as declared in the .proto file */
  protoName: string;
  /** property name in TypeScript (lowerCamelCase) */
  jsName: string;
  /** ProtoJSON name: the `json_name` option, else lowerCamelCase(protoName) */
  jsonName: string;
  number: number;
  type: FieldType;
  /** "implicit" (proto3 singular), "explicit" (has presence), "required" (proto2 required) */
  presence: "implicit" | "explicit" | "required";
  repeated: boolean;
  /** repeated scalars/enums: written packed */
  packed: boolean;
  /** string fields: reject invalid UTF-8 when decoding */
  validateUtf8: boolean;
  /** map fields: key and value types (then `type` is the value type and repeated is false) */
  map?: { key: ScalarType; value: FieldType };
  /** member of this oneof (its jsName), if any; proto3 `optional` is not a oneof here */
  oneof?: string;
  /**
   * declared default (proto2 `[default = ...]`), already converted: number, bigint, boolean,
   * string, Uint8Array; also set for enum fields whose first declared value is not 0 (that value
   * is their default)
   */
  defaultValue?: number | bigint | boolean | string | Uint8Array;
}

export interface OneofModel {
  protoName: string;
  jsName: string;
  /** member field numbers, in declaration order */
  fields: number[];
}

export interface MessageModel {
  fullName: string;
  tsName: string;
  /** fields sorted by field number */
  fields: FieldModel[];
  oneofs: OneofModel[];
  /**
   * extension ranges, [first, last] inclusive, ascending (`extensions 100 to max` is
   * [100, 536870911]); empty for a message without them, and for a message with
   * `message_set_wire_format` (its extensions are not generated: see ExtensionModel)
   */
  extensionRanges: [number, number][];
  /** names of fields the message reserves (`reserved "old_name";`), in declaration order */
  reservedNames: string[];
}

/**
 * An extension (`extend Foo { ... }`), at the top level of a file or nested in a message. Extensions
 * of a message with `option message_set_wire_format = true` are left out: sgwire does not write the
 * MessageSet wire format, so they stay unknown fields.
 */
export interface ExtensionModel {
  /** name as declared (a group's field name: the group's name in lower case) */
  protoName: string;
  /** fully qualified name: the scope (package, or the message it is declared in) and protoName */
  fullName: string;
  /**
   * exported TypeScript name of its descriptor: the message scope's path (as in type names) and
   * protoName joined with "_", then "$ext" (`extend Foo { int32 bar = 100; }` in message `Outer`:
   * `Outer_bar$ext`; at the top level: `bar$ext`). No type name contains "$ext".
   */
  tsName: string;
  /** ProtoJSON name: "[" + fullName + "]" */
  jsonName: string;
  /** the message it extends */
  extendee: TypeRef;
  number: number;
  type: FieldType;
  /** "explicit" (singular) or "implicit" (repeated) */
  presence: "implicit" | "explicit";
  repeated: boolean;
  packed: boolean;
  validateUtf8: boolean;
  /** declared default, as for fields */
  defaultValue?: number | bigint | boolean | string | Uint8Array;
  /** full name of the message it is declared in; undefined at the top level */
  scope?: string;
}

export interface EnumModel {
  fullName: string;
  tsName: string;
  values: { name: string; number: number }[];
  closed: boolean;
}

/** How a method exchanges messages, and its `option idempotency_level`: @sgwire/core's types. */
export type { MethodIdempotency, MethodKind };

export interface MethodModel {
  /** name as declared in the .proto file, e.g. "GetValue" */
  name: string;
  /**
   * key of the method in the generated service (methodLocalName of @sgwire/core: "getValue",
   * "constructor$"); a `$` more when two methods of a service would get the same key
   */
  localName: string;
  kind: MethodKind;
  input: TypeRef;
  output: TypeRef;
  idempotency?: MethodIdempotency;
  /** leading comment, as protoc records it (SourceCodeInfo leading_comments) */
  comment?: string;
  deprecated: boolean;
}

export interface ServiceModel {
  /** name as declared, e.g. "Kv" */
  name: string;
  /** fully qualified name, e.g. "kv.Kv" */
  fullName: string;
  /** exported TypeScript name of the service descriptor (`name`, or `name$` for a reserved word) */
  tsName: string;
  /** leading comment, as protoc records it (SourceCodeInfo leading_comments) */
  comment?: string;
  deprecated: boolean;
  /** in declaration order */
  methods: MethodModel[];
}

export interface FileModel {
  /** import path of the file, e.g. "shop/order.proto" */
  name: string;
  package: string;
  /** "proto2", "proto3" or the edition, e.g. "2023" */
  syntax: string;
  /** every message in the file, nested ones included (map entry types excluded) */
  messages: MessageModel[];
  /** every enum in the file, nested ones included */
  enums: EnumModel[];
  /** the file's services, in declaration order */
  services: ServiceModel[];
  /**
   * the file's extensions: top-level ones in declaration order, then those nested in each message
   * (in the order of `messages`), each group in declaration order
   */
  extensions: ExtensionModel[];
  /** import paths of files whose types this file references */
  dependencies: string[];
}

/** A problem in a schema, located in its source file. */
export class SchemaError extends Error {
  override name = "SchemaError";
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${file}:${line}:${column}: ${message}`);
  }
}

/**
 * Gives a service's methods their keys (`localName`): methodLocalName of @sgwire/core (lower-case
 * first letter, `$` after a name every object has, and after `then`); when two methods of the
 * service would get the same key (`Get` and `get`, which protoc allows), the later one in
 * declaration order gets `$` appended until its key is free. Both front ends call this.
 */
export function nameMethods(methods: MethodModel[]): void {
  const taken = new Set<string>();
  for (const m of methods) {
    let n = methodLocalName(m.name);
    while (taken.has(n)) n += "$";
    taken.add(n);
    m.localName = n;
  }
}

/** `option idempotency_level`, as the model spells it (undefined for IDEMPOTENCY_UNKNOWN or unset). */
export function idempotencyOf(level: string | number | undefined): MethodIdempotency | undefined {
  if (level === "NO_SIDE_EFFECTS" || level === 1) return "no_side_effects";
  if (level === "IDEMPOTENT" || level === 2) return "idempotent";
  return undefined;
}

/** The kind of a method from its `stream` keywords. */
export function methodKind(clientStreaming: boolean, serverStreaming: boolean): MethodKind {
  if (clientStreaming) return serverStreaming ? "bidi_streaming" : "client_streaming";
  return serverStreaming ? "server_streaming" : "unary";
}

/** protobuf's json_name rule (protoCamelCase of @sgwire/core, which reflection uses at run time). */
export const lowerCamelCase: (name: string) => string = protoCamelCase;

/**
 * Property names a message must not use: the properties every plain object inherits from
 * Object.prototype, and `toJSON` (JSON.stringify calls it). A message property named `constructor`
 * would read `Object.prototype.constructor` from a message that does not set it, and one named
 * `toString` would break `String(message)`. Such a name gets a `$` appended (`constructor$`), as
 * protobuf-es does.
 */
const RESERVED_PROPERTIES = new Set([
  "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "toString", "valueOf",
  "__proto__", "__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__", "toJSON",
]);

/** `name`, with a `$` appended when it is one of the reserved property names. */
export function safePropertyName(name: string): string {
  return RESERVED_PROPERTIES.has(name) ? `${name}$` : name;
}

/**
 * Gives a message's fields and oneofs their TypeScript property names (`jsName`). On entry each
 * member field's `oneof` holds its oneof's .proto name; on return it holds the oneof's jsName.
 * Both front ends call this, so both name properties the same way. The rule:
 * - a property is named lowerCamelCase(.proto name) (protobuf's default JSON name:
 *   `val_str1` -> `valStr1`), with a `$` appended when Object.prototype or `toJSON` has it;
 * - when two names coincide (`val_str1` and `val_str_1` both give `valStr1`, which protoc allows
 *   in proto2), the field with the lower number keeps it and the other is named exactly as in
 *   the .proto file (`val_str_1`); should that be taken too, `$` is appended until it is free;
 * - a message's properties are its fields outside oneofs (by field number), then its oneofs (in
 *   declaration order); the members of one oneof (its `case` names) are named among themselves.
 */
export function nameProperties(fields: FieldModel[], oneofs: OneofModel[]): void {
  const name = (protoName: string, taken: Set<string>): string => {
    let n = safePropertyName(lowerCamelCase(protoName));
    if (taken.has(n)) n = safePropertyName(protoName);
    while (taken.has(n)) n += "$";
    taken.add(n);
    return n;
  };
  const byNumber = [...fields].sort((a, b) => a.number - b.number);
  const props = new Set<string>();
  for (const f of byNumber) if (f.oneof === undefined) f.jsName = name(f.protoName, props);
  const oneofJs = new Map<string, string>();
  for (const o of oneofs) {
    o.jsName = name(o.protoName, props);
    oneofJs.set(o.protoName, o.jsName);
    const cases = new Set<string>();
    for (const f of byNumber) if (f.oneof === o.protoName) f.jsName = name(f.protoName, cases);
  }
  for (const f of fields) if (f.oneof !== undefined) f.oneof = oneofJs.get(f.oneof);
}

/**
 * A field whose JSON name (its `json_name` option, else lowerCamelCase of its name) equals the
 * JSON name of an earlier field, as protoc and buf reject it: default names conflicting in proto3
 * (and in editions whose `json_format` is ALLOW), and custom `json_name`s conflicting in any
 * syntax. `fields` are in declaration order; returns the index of the second field of the first
 * conflict and the message protoc gives, or undefined.
 */
export function jsonNameConflict(
  fields: readonly { name: string; jsonName?: string }[],
  checkDefaults: boolean,
): { index: number; message: string } | undefined {
  for (const custom of [false, true]) {
    const seen = new Map<string, { name: string; custom: boolean }>();
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const isCustom = custom && f.jsonName !== undefined;
      const json = isCustom ? f.jsonName! : lowerCamelCase(f.name);
      const prev = seen.get(json);
      if (prev === undefined) {
        seen.set(json, { name: f.name, custom: isCustom });
        continue;
      }
      if (custom ? !isCustom && !prev.custom : !checkDefaults) continue;
      const kind = (c: boolean) => (c ? "custom" : "default");
      return {
        index: i,
        message: `the ${kind(isCustom)} JSON name of field "${f.name}" ("${json}") conflicts with the ${kind(prev.custom)} JSON name of field "${prev.name}"`,
      };
    }
  }
  return undefined;
}

/**
 * The member name of an enum value in the generated TypeScript enum: the value's name, except
 * `__proto__`, which an object cannot hold as an own property (assigning it sets the prototype):
 * that one becomes `__proto__$`.
 */
export function enumMemberName(name: string): string {
  return name === "__proto__" ? "__proto__$" : name;
}

/**
 * Names a generated module must not export: JavaScript globals the generated code uses (a message
 * called `Object` would shadow `Object.keys`), reserved words, and TypeScript's primitive type
 * names. Such a name gets a `$` appended (`Object$`), as protobuf-es does.
 */
const RESERVED_TS_NAMES = new Set([
  "Object", "Array", "Uint8Array", "BigInt", "Number", "String", "Boolean", "Symbol", "Error", "TypeError",
  "RangeError", "Math", "JSON", "Infinity", "NaN", "undefined", "globalThis", "Promise",
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum",
  "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "null",
  "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield",
  "let", "static", "implements", "interface", "package", "private", "protected", "public", "await", "arguments", "eval",
  "any", "unknown", "never", "object", "string", "number", "boolean", "bigint", "symbol", "type",
]);

/** Largest field number (`max` in `extensions 100 to max`). */
export const MAX_FIELD_NUMBER = 0x1fffffff;

/** The exported TypeScript name of an extension's descriptor (see ExtensionModel.tsName). */
export function extensionTsName(scopePath: string[], protoName: string): string {
  return [...scopePath, protoName].join("_") + "$ext";
}

/** The exported TypeScript name of a message or enum: its nesting path joined with "_", made safe. */
export function tsTypeName(path: string[]): string {
  const name = path.join("_");
  return RESERVED_TS_NAMES.has(name) ? `${name}$` : name;
}
