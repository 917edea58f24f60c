/**
 * Helpers for `google.protobuf.Struct`, `Value` and `ListValue`: conversion to and from plain
 * JSON values (null, boolean, finite number, string, array, plain object).
 */

import { describe } from "./util.js";

/**
 * `google.protobuf.NullValue`: the only value is `NULL_VALUE = 0`. Generated code declares it as a
 * TypeScript enum; this literal type accepts that enum's member and produces a value assignable to it.
 */
export type NullValue = 0;

/**
 * The shape of generated `google.protobuf.Struct` messages (`sgwire compile` output for
 * google/protobuf/struct.proto): a JSON object. Generated `Struct` objects are assignable to this
 * type and back.
 */
export interface Struct {
  /** map<string, google.protobuf.Value> fields = 1 */
  fields: { [key: string]: Value };
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** The shape of generated `google.protobuf.Value` messages: one JSON value, the oneof `kind`. */
export interface Value {
  /** oneof `kind` */
  kind?:
    | { case: "nullValue"; value: NullValue }
    | { case: "numberValue"; value: number }
    | { case: "stringValue"; value: string }
    | { case: "boolValue"; value: boolean }
    | { case: "structValue"; value: Struct }
    | { case: "listValue"; value: ListValue }
    | { case: undefined; value?: undefined };
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** The shape of generated `google.protobuf.ListValue` messages: a JSON array. */
export interface ListValue {
  /** repeated google.protobuf.Value values = 1 */
  values: Value[];
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** A plain JSON value, as `JSON.parse` returns. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A plain JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Default nesting limit of the Struct/Value conversions (objects and arrays inside each other). */
export const DEFAULT_JSON_MAX_DEPTH = 100;

/** Options of the Struct/Value/ListValue conversions. */
export interface JsonConversionOptions {
  /**
   * The deepest nesting of objects and arrays accepted (the top-level object or array is depth 1);
   * deeper input is a RangeError naming where. Default {@link DEFAULT_JSON_MAX_DEPTH}.
   */
  maxDepth?: number;
}

interface Walk {
  maxDepth: number;
  /** objects and arrays being converted, outermost first: a repeat is a cycle */
  ancestors: Set<object>;
}

function walk(options: JsonConversionOptions | undefined, fn: string): Walk {
  const maxDepth = options?.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new RangeError(`${fn}: options.maxDepth must be a positive integer, got ${describe(maxDepth)}`);
  }
  return { maxDepth, ancestors: new Set() };
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function keyPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function enter(w: Walk, container: object, path: string, depth: number): void {
  if (w.ancestors.has(container)) {
    throw new TypeError(`${path}: cyclic reference (the value contains itself)`);
  }
  if (depth > w.maxDepth) {
    throw new RangeError(`${path}: nesting deeper than the limit of ${w.maxDepth} objects/arrays`);
  }
  w.ancestors.add(container);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** sets `key` as an own data property, also when it is "__proto__" */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

// ---- JSON -> Value ----

function jsonToValue(v: unknown, path: string, depth: number, w: Walk): Value {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) {
        throw new TypeError(`${path}: ${v} is not a JSON number (google.protobuf.Value holds finite numbers only)`);
      }
      return { kind: { case: "numberValue", value: v } };
    case "string":
      return { kind: { case: "stringValue", value: v } };
    case "boolean":
      return { kind: { case: "boolValue", value: v } };
    case "object":
      if (v === null) return { kind: { case: "nullValue", value: 0 } };
      if (Array.isArray(v)) return { kind: { case: "listValue", value: jsonToList(v, path, depth, w) } };
      return { kind: { case: "structValue", value: jsonToStruct(v, path, depth, w) } };
    default:
      throw new TypeError(`${path}: ${describe(v)} is not a JSON value`);
  }
}

function jsonToList(arr: unknown[], path: string, depth: number, w: Walk): ListValue {
  enter(w, arr, path, depth + 1);
  const values: Value[] = new Array<Value>(arr.length);
  for (let i = 0; i < arr.length; i++) values[i] = jsonToValue(arr[i], `${path}[${i}]`, depth + 1, w);
  w.ancestors.delete(arr);
  return { values };
}

function jsonToStruct(obj: object, path: string, depth: number, w: Walk): Struct {
  if (!isPlainObject(obj)) {
    throw new TypeError(`${path}: ${describe(obj)} is not a JSON value (expected a plain object)`);
  }
  enter(w, obj, path, depth + 1);
  const fields: { [key: string]: Value } = Object.create(null) as { [key: string]: Value };
  for (const key of Object.keys(obj)) {
    setOwn(fields, key, jsonToValue((obj as Record<string, unknown>)[key], keyPath(path, key), depth + 1, w));
  }
  w.ancestors.delete(obj);
  return { fields };
}

/**
 * The `google.protobuf.Value` of a plain JSON value. Objects become `structValue`, arrays
 * `listValue`, `null` `nullValue`.
 * @throws TypeError naming the path (like `$.a[2].b`) of a value that is not JSON: undefined, a
 * function, a bigint, a symbol, NaN or ±Infinity, an object that is not plain (Date, Map, class
 * instance, typed array), or a cyclic reference; RangeError when nesting exceeds `options.maxDepth`
 */
export function valueFromJson(json: JsonValue, options?: JsonConversionOptions): Value {
  return jsonToValue(json, "$", 0, walk(options, "valueFromJson"));
}

/**
 * The `google.protobuf.Struct` of a plain JSON object.
 * @throws TypeError when `json` is not a plain object, or as {@link valueFromJson} for its contents
 */
export function structFromJson(json: JsonObject, options?: JsonConversionOptions): Struct {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new TypeError(`structFromJson: expected a plain JSON object, got ${describe(json)}`);
  }
  return jsonToStruct(json, "$", 0, walk(options, "structFromJson"));
}

/**
 * The `google.protobuf.ListValue` of a JSON array.
 * @throws TypeError when `json` is not an array, or as {@link valueFromJson} for its elements
 */
export function listValueFromJson(json: JsonValue[], options?: JsonConversionOptions): ListValue {
  if (!Array.isArray(json)) {
    throw new TypeError(`listValueFromJson: expected an array, got ${describe(json)}`);
  }
  return jsonToList(json, "$", 0, walk(options, "listValueFromJson"));
}

// ---- Value -> JSON ----

function valueToJsonAt(v: Value, path: string, depth: number, w: Walk): JsonValue {
  if (v === null || typeof v !== "object") {
    throw new TypeError(`${path}: expected a google.protobuf.Value object, got ${describe(v)}`);
  }
  const kind = v.kind;
  if (kind === undefined || kind === null || kind.case === undefined) {
    throw new TypeError(`${path}: google.protobuf.Value has no kind set (it must hold null, a number, a string, a boolean, a struct or a list)`);
  }
  switch (kind.case) {
    case "nullValue":
      return null;
    case "numberValue":
      if (typeof kind.value !== "number" || !Number.isFinite(kind.value)) {
        throw new TypeError(`${path}: numberValue ${describe(kind.value)} has no JSON form (finite numbers only)`);
      }
      return kind.value;
    case "stringValue":
      if (typeof kind.value !== "string") throw new TypeError(`${path}: stringValue is ${describe((kind as { value: unknown }).value)}, not a string`);
      return kind.value;
    case "boolValue":
      if (typeof kind.value !== "boolean") throw new TypeError(`${path}: boolValue is ${describe((kind as { value: unknown }).value)}, not a boolean`);
      return kind.value;
    case "structValue":
      return structToJsonAt(kind.value, path, depth, w);
    case "listValue":
      return listToJsonAt(kind.value, path, depth, w);
    default:
      throw new TypeError(`${path}: google.protobuf.Value kind ${describe((kind as { case: unknown }).case)} is not one of nullValue, numberValue, stringValue, boolValue, structValue, listValue`);
  }
}

function structToJsonAt(s: Struct, path: string, depth: number, w: Walk): JsonObject {
  if (s === null || typeof s !== "object" || s.fields === null || typeof s.fields !== "object") {
    throw new TypeError(`${path}: expected a google.protobuf.Struct with a fields object, got ${describe(s)}`);
  }
  enter(w, s, path, depth + 1);
  const out: JsonObject = {};
  const fields = s.fields;
  for (const key of Object.keys(fields)) {
    setOwn(out, key, valueToJsonAt(fields[key]!, keyPath(path, key), depth + 1, w));
  }
  w.ancestors.delete(s);
  return out;
}

function listToJsonAt(l: ListValue, path: string, depth: number, w: Walk): JsonValue[] {
  if (l === null || typeof l !== "object" || !Array.isArray(l.values)) {
    throw new TypeError(`${path}: expected a google.protobuf.ListValue with a values array, got ${describe(l)}`);
  }
  enter(w, l, path, depth + 1);
  const values = l.values;
  const out: JsonValue[] = new Array<JsonValue>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = valueToJsonAt(values[i]!, `${path}[${i}]`, depth + 1, w);
  w.ancestors.delete(l);
  return out;
}

/**
 * The plain JSON value of a `google.protobuf.Value` (objects are ordinary objects with the
 * struct's keys as own properties, "__proto__" included).
 * @throws TypeError naming the path of a Value with no kind set, a non-finite numberValue, a
 * malformed Struct/ListValue or a cycle; RangeError when nesting exceeds `options.maxDepth`
 */
export function valueToJson(value: Value, options?: JsonConversionOptions): JsonValue {
  return valueToJsonAt(value, "$", 0, walk(options, "valueToJson"));
}

/**
 * The plain JSON object of a `google.protobuf.Struct`.
 * @throws as {@link valueToJson}
 */
export function structToJson(struct: Struct, options?: JsonConversionOptions): JsonObject {
  return structToJsonAt(struct, "$", 0, walk(options, "structToJson"));
}

/**
 * The JSON array of a `google.protobuf.ListValue`.
 * @throws as {@link valueToJson}
 */
export function listValueToJson(list: ListValue, options?: JsonConversionOptions): JsonValue[] {
  return listToJsonAt(list, "$", 0, walk(options, "listValueToJson"));
}
