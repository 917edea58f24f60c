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
}

export interface EnumModel {
  fullName: string;
  tsName: string;
  values: { name: string; number: number }[];
  closed: boolean;
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

/** protobuf's json_name rule: drop underscores, upper-case the letter after each one. */
export function lowerCamelCase(name: string): string {
  let out = "";
  let upper = false;
  for (const ch of name) {
    if (ch === "_") {
      upper = true;
      continue;
    }
    out += upper ? ch.toUpperCase() : ch;
    upper = false;
  }
  return out;
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

/** The exported TypeScript name of a message or enum: its nesting path joined with "_", made safe. */
export function tsTypeName(path: string[]): string {
  const name = path.join("_");
  return RESERVED_TS_NAMES.has(name) ? `${name}$` : name;
}
