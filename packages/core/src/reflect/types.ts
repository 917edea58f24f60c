import type { MessageType } from "../codec/message.js";
import type { ServiceType } from "../codec/service.js";
import type { AnyExtension } from "./extension.js";

/**
 * Reflection: what generated code records about its schema at run time, so generic code (ProtoJSON,
 * equals, clone, a pretty-printer, a JSON gateway) can walk any message without its .proto source.
 */

/** A protobuf scalar type, as spelled in a .proto file. */
export type ScalarType =
  | "double" | "float"
  | "int32" | "uint32" | "sint32" | "fixed32" | "sfixed32"
  | "int64" | "uint64" | "sint64" | "fixed64" | "sfixed64"
  | "bool" | "string" | "bytes";

export const SCALAR_TYPES: readonly ScalarType[] = [
  "double", "float", "int32", "uint32", "sint32", "fixed32", "sfixed32",
  "int64", "uint64", "sint64", "fixed64", "sfixed64", "bool", "string", "bytes",
];

/** The 64-bit scalar types: their TypeScript values are bigints. */
export function is64Bit(t: ScalarType): boolean {
  return t === "int64" || t === "uint64" || t === "sint64" || t === "fixed64" || t === "sfixed64";
}

/** One value of an enum. */
export interface EnumValueInfo {
  /** as declared, e.g. "CORPUS_WEB" */
  readonly name: string;
  readonly number: number;
}

/** The run-time description of a protobuf enum (generated as `<Enum>$enum`). */
export interface EnumType {
  /** Fully qualified protobuf name, e.g. "shop.Order.Status". */
  readonly typeName: string;
  /** In declaration order; aliases (`allow_alias`) included. */
  readonly values: readonly EnumValueInfo[];
  /** A closed enum (proto2) keeps numbers it does not declare as unknown fields. */
  readonly closed: boolean;
  /** The first declared value with this number, or undefined. */
  byNumber(n: number): EnumValueInfo | undefined;
  /** The value with this name, or undefined. */
  byName(name: string): EnumValueInfo | undefined;
}

/** Presence of a singular field: see FieldInfo.presence. */
export type FieldPresence = "implicit" | "explicit" | "required";

interface FieldCommon {
  /** The field number. */
  readonly number: number;
  /** The name as declared in the .proto file, e.g. "content_type". */
  readonly name: string;
  /** The ProtoJSON name: the `json_name` option, else lowerCamelCase of `name` ("contentType"). */
  readonly jsonName: string;
  /**
   * The property that holds the field in a generated message ("contentType"); for a member of a
   * oneof, its `case` name within the oneof's property.
   */
  readonly localName: string;
  /** The oneof's property name when the field is a member of a oneof. */
  readonly oneof?: string;
  /**
   * "implicit": no presence (proto3 singular; repeated and map fields); "explicit": the field is
   * absent (undefined) until set (proto2 optional, proto3 `optional`, messages, oneof members);
   * "required": proto2 required.
   */
  readonly presence: FieldPresence;
  /** A repeated field (not a map): the property holds an array. */
  readonly repeated: boolean;
  /** Repeated scalars and enums written packed. */
  readonly packed: boolean;
}

export interface ScalarFieldInfo extends FieldCommon {
  readonly kind: "scalar";
  readonly scalar: ScalarType;
}
export interface EnumFieldInfo extends FieldCommon {
  readonly kind: "enum";
  readonly enum: EnumType;
}
export interface MessageFieldInfo extends FieldCommon {
  readonly kind: "message";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly message: MessageType<any>;
  /** Group encoding (proto2 `group`, editions `DELIMITED`). */
  readonly delimited: boolean;
}
/** The value side of a map field. */
export type MapValueInfo =
  | { readonly kind: "scalar"; readonly scalar: ScalarType }
  | { readonly kind: "enum"; readonly enum: EnumType }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { readonly kind: "message"; readonly message: MessageType<any> };
export interface MapFieldInfo extends FieldCommon {
  readonly kind: "map";
  /** The key type (an integral type, bool or string); keys are the property's string keys. */
  readonly key: ScalarType;
  readonly value: MapValueInfo;
}

/** A field of a message, as reflection describes it. */
export type FieldInfo = ScalarFieldInfo | EnumFieldInfo | MessageFieldInfo | MapFieldInfo;

/** A oneof of a message. */
export interface OneofInfo {
  /** As declared, e.g. "payload". */
  readonly name: string;
  /** The property that holds `{ case, value }`. */
  readonly localName: string;
  /** Its member fields, in field-number order. */
  readonly fields: readonly FieldInfo[];
}

/**
 * A field as generated code writes it: terse, normalized to FieldInfo on first use. `T` is a
 * scalar type name, an EnumType or a MessageType (which gives `kind`); `K` makes it a map with
 * that key type. Absent properties take their usual values: `json` = lowerCamelCase(name),
 * `local` = `json`, presence implicit, not repeated, not packed, not delimited.
 */
export interface FieldSpec {
  no: number;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  T: ScalarType | EnumType | MessageType<any>;
  K?: ScalarType;
  json?: string;
  local?: string;
  oneof?: string;
  presence?: "explicit" | "required";
  repeated?: true;
  packed?: true;
  delimited?: true;
}

/** A oneof as generated code writes it: its .proto name and its property name. */
export type OneofSpec = readonly [name: string, localName: string];

/** protobuf's default JSON name: drop underscores, upper-case the letter after each one. */
export function protoCamelCase(name: string): string {
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

function isEnumType(t: unknown): t is EnumType {
  return typeof t === "object" && t !== null && "values" in t && "closed" in t;
}

/** FieldInfo from a generated FieldSpec. */
export function fieldFromSpec(s: FieldSpec, owner: string): FieldInfo {
  const jsonName = s.json ?? protoCamelCase(s.name);
  const common = {
    number: s.no,
    name: s.name,
    jsonName,
    localName: s.local ?? jsonName,
    ...(s.oneof !== undefined ? { oneof: s.oneof } : {}),
    // a singular message field always has presence (generated code writes it only for oneofs,
    // proto3 `optional`, proto2 and editions' explicit presence)
    presence: s.presence ?? (s.K === undefined && s.repeated !== true && typeof s.T === "object" && !isEnumType(s.T) ? "explicit" : "implicit"),
    repeated: s.repeated === true,
    packed: s.packed === true,
  } as const;
  const t = s.T;
  if (t === undefined || t === null) {
    // a type referenced before its module finished loading (an import cycle read too early)
    throw new Error(`${owner}.${s.name}: the field's type is not defined yet (reflection used while modules load?)`);
  }
  if (s.K !== undefined) {
    const value: MapValueInfo = typeof t === "string" ? { kind: "scalar", scalar: t }
      : isEnumType(t) ? { kind: "enum", enum: t } : { kind: "message", message: t };
    return Object.freeze({ ...common, kind: "map", key: s.K, value });
  }
  if (typeof t === "string") return Object.freeze({ ...common, kind: "scalar", scalar: t });
  if (isEnumType(t)) return Object.freeze({ ...common, kind: "enum", enum: t });
  return Object.freeze({ ...common, kind: "message", message: t, delimited: s.delimited === true });
}

/** A .proto file, as generated code describes it (`$file` of each generated module). */
export interface FileInfo {
  /** The import path, e.g. "shop/order.proto". */
  readonly name: string;
  /** The package, e.g. "shop" ("" for none). */
  readonly package: string;
  /** "proto2", "proto3", or the edition ("2023"). */
  readonly syntax: string;
  /** Every message of the file, nested ones included (map entries excluded), in declaration order. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly messages: readonly MessageType<any>[];
  /** Every enum of the file, nested ones included. */
  readonly enums: readonly EnumType[];
  /** The file's services (when generated with services=grpc or descriptors), in declaration order. */
  readonly services: readonly ServiceType[];
  /**
   * The file's extensions (top-level ones, then those nested in messages), as `<name>$ext` of the
   * generated module.
   */
  readonly extensions: readonly AnyExtension[];
  /** The files this one imports (those whose types it references). */
  readonly dependencies: readonly FileInfo[];
}
