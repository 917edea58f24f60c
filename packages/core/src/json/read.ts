// ProtoJSON value -> message, driven by reflection (MessageType.fields / oneofs, EnumType).

import type { MessageType } from "../codec/message.js";
import type { EnumType, FieldInfo, MapValueInfo, ScalarType } from "../reflect/types.js";
import type { Registry } from "../reflect/registry.js";
import { extensionsOf, setExtension, type AnyExtension } from "../reflect/extension.js";
import { base64Decode } from "./base64.js";
import { JsonError, LosslessNumber, describeJson } from "./error.js";
import { NULL_VALUE, VALUE, VALUE_IN_ANY, WRAPPERS, fieldMaskPathFromJson, keyPath, setOwn } from "./names.js";
import { parseDuration, parseTimestamp } from "./time.js";
import { resolveAny } from "./write.js";
import { checkDepthOption, type JsonReadOptions } from "./options.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = MessageType<any>;
type Msg = Record<string, unknown>;
type JsonObj = { [key: string]: unknown };

interface Ctx {
  ignoreUnknown: boolean;
  registry: Registry | undefined;
  maxDepth: number;
}

export function readContext(o: JsonReadOptions | undefined, fn: string): Ctx {
  return { ignoreUnknown: o?.ignoreUnknownFields === true, registry: o?.registry, maxDepth: checkDepthOption(o?.maxDepth, fn) };
}

/** A value left out: an unknown enum name under ignoreUnknownFields. */
const SKIP = Symbol("skip");

function fail(path: string, detail: string): never {
  throw new JsonError(detail, path);
}

function isObject(v: unknown): v is JsonObj {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

/** json name and .proto name -> field, per message type */
const lookups = new WeakMap<AnyType, Map<string, FieldInfo>>();
function lookup(type: AnyType): Map<string, FieldInfo> {
  let l = lookups.get(type);
  if (l === undefined) {
    l = new Map();
    for (const f of type.fields) {
      l.set(f.name, f);
      l.set(f.jsonName, f);
    }
    lookups.set(type, l);
  }
  return l;
}

/** The message of `type` that `json` describes; `depth` counts messages above it. */
export function messageFromJson(type: AnyType, json: unknown, c: Ctx, path: string, depth: number): unknown {
  if (depth > c.maxDepth) fail(path, `nesting deeper than the limit of ${c.maxDepth}`);
  const name = type.typeName;
  if (name.startsWith("google.protobuf.")) {
    const special = wktFromJson(type, json, c, path, depth);
    if (special !== NOT_SPECIAL) return special;
  }
  if (!isObject(json)) fail(path, `expected a JSON object for ${name}, got ${describeJson(json)}`);
  return fieldsFromJson(type, json, c, path, depth, undefined);
}

function fieldsFromJson(type: AnyType, json: JsonObj, c: Ctx, path: string, depth: number, skipKey: string | undefined): Msg {
  const m = type.create() as Msg;
  const names = lookup(type);
  const seen = new Map<FieldInfo, string>();
  const oneofs = new Map<string, string>();
  for (const key of Object.keys(json)) {
    if (key === skipKey) continue;
    let f = names.get(key);
    let ext: AnyExtension | undefined;
    if (f === undefined && key.length > 2 && key.startsWith("[") && key.endsWith("]")) {
      ext = extensionNamed(type, key.slice(1, -1), c.registry);
      f = ext?.field;
    }
    if (f === undefined) {
      if (c.ignoreUnknown) continue;
      fail(keyPath(path, key), `${type.typeName} has no field named ${JSON.stringify(key)}`);
    }
    const fp = keyPath(path, key);
    const had = seen.get(f);
    if (had !== undefined) fail(fp, `field ${f.name} is given twice (as ${JSON.stringify(had)} and ${JSON.stringify(key)})`);
    seen.set(f, key);
    const v = json[key];
    if (v === null && !takesNull(f)) continue; // null: the field is absent
    if (f.kind === "map") {
      m[f.localName] = mapFromJson(f, v, c, fp, depth);
    } else if (f.repeated) {
      // a repeated field and a repeated extension read their elements alike
      const what = ext !== undefined ? `repeated extension ${ext.typeName}` : `repeated field ${f.name}`;
      if (!Array.isArray(v)) fail(fp, `expected an array for ${what}, got ${describeJson(v)}`);
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        const e = v[i] as unknown;
        if (e === null && !takesNull(f)) fail(`${fp}[${i}]`, "null is not allowed in a repeated field");
        const x = singularFromJson(f, e, c, `${fp}[${i}]`, depth);
        if (x !== SKIP) out.push(x);
      }
      if (ext !== undefined) setExtension(m, ext, out);
      else m[f.localName] = out;
    } else {
      const x = singularFromJson(f, v, c, fp, depth);
      if (x === SKIP) continue;
      if (ext !== undefined) setExtension(m, ext, x);
      else if (f.oneof !== undefined) {
        const other = oneofs.get(f.oneof);
        if (other !== undefined) fail(fp, `oneof ${f.oneof} is given twice (${JSON.stringify(other)} and ${JSON.stringify(key)})`);
        oneofs.set(f.oneof, key);
        m[f.oneof] = { case: f.localName, value: x };
      } else m[f.localName] = x;
    }
  }
  return m;
}

/**
 * The extension of `type` named `name` ("pkg.ext"): from the registry, else among the extensions
 * whose generated modules are loaded.
 */
function extensionNamed(type: AnyType, name: string, registry: Registry | undefined): AnyExtension | undefined {
  const r = registry?.getExtension(name);
  if (r !== undefined && r.extendee.typeName === type.typeName) return r;
  for (const e of extensionsOf(type.typeName).values()) if (e.typeName === name) return e;
  return undefined;
}

/** Fields whose JSON null is a value, not "absent": google.protobuf.Value and NullValue. */
function takesNull(f: FieldInfo): boolean {
  return (f.kind === "message" && f.message.typeName === VALUE) || (f.kind === "enum" && f.enum.typeName === NULL_VALUE);
}

function singularFromJson(f: FieldInfo | MapValueInfo, v: unknown, c: Ctx, path: string, depth: number): unknown {
  switch (f.kind) {
    case "scalar":
      return scalarFromJson(f.scalar, v, path);
    case "enum":
      return enumFromJson(f.enum, v, c, path);
    case "message":
      return messageFromJson(f.message, v, c, path, depth + 1);
    default:
      fail(path, "a map cannot be an element");
  }
}

function mapFromJson(f: FieldInfo & { kind: "map" }, v: unknown, c: Ctx, path: string, depth: number): Msg {
  if (!isObject(v)) fail(path, `expected a JSON object for map field ${f.name}, got ${describeJson(v)}`);
  const out = Object.create(null) as Msg;
  const nullOk = (f.value.kind === "message" && f.value.message.typeName === VALUE) || (f.value.kind === "enum" && f.value.enum.typeName === NULL_VALUE);
  for (const k of Object.keys(v)) {
    const p = keyPath(path, k);
    const key = mapKeyFromJson(f.key, k, p);
    const e = v[k];
    if (e === null && !nullOk) fail(p, "null is not allowed as a map value");
    const x = singularFromJson(f.value, e, c, p, depth);
    if (x !== SKIP) setOwn(out, key, x);
  }
  return out;
}

/** A map key's canonical string form (the property name generated maps use). */
function mapKeyFromJson(t: ScalarType, k: string, path: string): string {
  switch (t) {
    case "string":
      return k;
    case "bool":
      if (k === "true" || k === "false") return k;
      fail(path, `map key ${JSON.stringify(k)} is not "true" or "false"`);
    // eslint-disable-next-line no-fallthrough
    default:
      return String(intFromJson(t, k, path, "map key"));
  }
}

const LIMITS: Partial<Record<ScalarType, [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n], sint32: [-(2n ** 31n), 2n ** 31n - 1n], sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n], fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], sint64: [-(2n ** 63n), 2n ** 63n - 1n], sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n], fixed64: [0n, 2n ** 64n - 1n],
};

const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact integer a JSON number literal denotes ("1e3", "100.000" included), or a string
 * saying why it is not one. Exponents are bounded before any BigInt is built.
 */
function integerOfText(text: string): bigint | string {
  const m = NUMBER_TEXT.exec(text);
  if (m === null) return "not a number";
  const neg = text.startsWith("-");
  const mant = text.slice(neg ? 1 : 0).split(/[eE]/)[0]!;
  const [ip, fp = ""] = mant.split(".") as [string, string?];
  let digits = (ip + fp).replace(/^0+/, "");
  if (digits === "") return 0n;
  const expText = m[2] ?? "0";
  // an exponent beyond 5 digits makes the value either not an integer or far out of every range
  if (expText.replace(/^[+-]?0*/, "").length > 5) return expText.startsWith("-") ? "not an integer" : "out of range";
  let exp = Number(expText) - fp.length;
  while (exp < 0 && digits.endsWith("0")) {
    digits = digits.slice(0, -1);
    exp++;
  }
  if (exp < 0) return "not an integer";
  if (digits.length + exp > 40) return "out of range";
  const v = BigInt(digits) * 10n ** BigInt(exp);
  return neg ? -v : v;
}

/** An integer of type `t` from a JSON number or a string holding one: number for 32-bit types, bigint for 64-bit. */
function intFromJson(t: ScalarType, v: unknown, path: string, what = t as string): number | bigint {
  let n: bigint | string;
  if (typeof v === "number") {
    if (Number.isInteger(v)) n = BigInt(v);
    else n = Number.isFinite(v) ? "not an integer" : "not a finite number";
  } else if (typeof v === "bigint") n = v; // not JSON, but what int64 fields hold
  else if (v instanceof LosslessNumber) n = integerOfText(v.text);
  else if (typeof v === "string") n = integerOfText(v);
  else fail(path, `expected a number or a numeric string for ${what}, got ${describeJson(v)}`);
  if (typeof n === "string") fail(path, `${describeJson(v)} is ${n === "out of range" ? `out of the range of ${t}` : `not a valid ${what} (${n})`}`);
  const [lo, hi] = LIMITS[t]!;
  if (n < lo || n > hi) fail(path, `${describeJson(v)} is out of the range of ${t} [${lo}, ${hi}]`);
  return t === "int64" || t === "uint64" || t === "sint64" || t === "fixed64" || t === "sfixed64" ? n : Number(n);
}

const FLOAT_MAX = 3.4028234663852886e38;

function floatFromJson(t: "float" | "double", v: unknown, path: string): number {
  let n: number;
  if (typeof v === "number") n = v;
  else if (v instanceof LosslessNumber) n = v.value;
  else if (typeof v === "string") {
    if (v === "NaN") return NaN;
    if (v === "Infinity") return Infinity;
    if (v === "-Infinity") return -Infinity;
    if (!NUMBER_TEXT.test(v)) fail(path, `${describeJson(v)} is not a number for ${t} (numbers, numeric strings, "NaN", "Infinity", "-Infinity")`);
    n = Number(v);
  } else fail(path, `expected a number for ${t}, got ${describeJson(v)}`);
  if (!Number.isFinite(n)) {
    // ±Infinity and NaN come only as strings; a literal that overflows a double is out of range
    fail(path, `${describeJson(v)} is out of the range of ${t}`);
  }
  if (t === "float" && !Number.isFinite(Math.fround(n))) fail(path, `${describeJson(v)} is out of the range of float (±${FLOAT_MAX})`);
  return n;
}

/** A scalar of type `t` from JSON. */
function scalarFromJson(t: ScalarType, v: unknown, path: string): unknown {
  switch (t) {
    case "double":
    case "float":
      return floatFromJson(t, v, path);
    case "bool":
      if (typeof v !== "boolean") fail(path, `expected true or false, got ${describeJson(v)}`);
      return v;
    case "string":
      if (typeof v !== "string") fail(path, `expected a string, got ${describeJson(v)}`);
      return v;
    case "bytes": {
      if (typeof v !== "string") fail(path, `expected a base64 string for bytes, got ${describeJson(v)}`);
      const b = base64Decode(v);
      if (typeof b === "string") fail(path, `invalid base64: ${b}`);
      return b;
    }
    default:
      return intFromJson(t, v, path);
  }
}

function enumFromJson(e: EnumType, v: unknown, c: Ctx, path: string): number | typeof SKIP {
  if (e.typeName === NULL_VALUE && v === null) return 0;
  if (typeof v === "string") {
    const x = e.byName(v);
    if (x !== undefined) return x.number;
    if (c.ignoreUnknown) return SKIP;
    fail(path, `${describeJson(v)} is not a value of enum ${e.typeName}`);
  }
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) fail(path, `${describeJson(v)} is not an int32 value for enum ${e.typeName}`);
    if (e.closed && e.byNumber(v) === undefined) {
      if (c.ignoreUnknown) return SKIP;
      fail(path, `${v} is not a value of closed enum ${e.typeName}`);
    }
    return v;
  }
  fail(path, `expected an enum name or number for ${e.typeName}, got ${describeJson(v)}`);
}

const NOT_SPECIAL = Symbol("not special");

function field(type: AnyType, no: number): FieldInfo {
  const f = type.field(no);
  if (f === undefined) throw new JsonError(`${type.typeName} has no field ${no}: not the well-known type it is named after`, "");
  return f;
}

function wktFromJson(type: AnyType, json: unknown, c: Ctx, path: string, depth: number): unknown {
  const name = type.typeName;
  if (WRAPPERS.has(name)) {
    const f = field(type, 1);
    if (f.kind !== "scalar") return NOT_SPECIAL;
    const m = type.create() as Msg;
    m[f.localName] = scalarFromJson(f.scalar, json, path);
    return m;
  }
  switch (name) {
    case "google.protobuf.Timestamp":
    case "google.protobuf.Duration": {
      const ts = name.endsWith("Timestamp");
      if (typeof json !== "string") fail(path, `expected a string for ${name}, got ${describeJson(json)}`);
      const r = ts ? parseTimestamp(json) : parseDuration(json);
      if (typeof r === "string") fail(path, r);
      const m = type.create() as Msg;
      m[field(type, 1).localName] = r.seconds;
      m[field(type, 2).localName] = r.nanos;
      return m;
    }
    case "google.protobuf.FieldMask": {
      if (typeof json !== "string") fail(path, `expected a string for google.protobuf.FieldMask, got ${describeJson(json)}`);
      const paths = json === "" ? [] : json.split(",").map((p, i) => {
        const s = fieldMaskPathFromJson(p);
        if (s === undefined) fail(`${path}[${i}]`, `FieldMask path ${JSON.stringify(p)} is not lowerCamelCase (JSON field masks have no '_')`);
        return s;
      });
      const m = type.create() as Msg;
      m[field(type, 1).localName] = paths;
      return m;
    }
    case "google.protobuf.Struct": {
      if (!isObject(json)) fail(path, `expected a JSON object for google.protobuf.Struct, got ${describeJson(json)}`);
      const f = field(type, 1);
      if (f.kind !== "map") return NOT_SPECIAL;
      const m = type.create() as Msg;
      const fields = Object.create(null) as Msg;
      for (const k of Object.keys(json)) setOwn(fields, k, valueFromJsonAt(f.value, json[k], c, keyPath(path, k), depth + 1));
      m[f.localName] = fields;
      return m;
    }
    case "google.protobuf.ListValue": {
      if (!Array.isArray(json)) fail(path, `expected an array for google.protobuf.ListValue, got ${describeJson(json)}`);
      const f = field(type, 1);
      const m = type.create() as Msg;
      m[f.localName] = json.map((x: unknown, i) => valueFromJsonAt(f as MapValueInfo, x, c, `${path}[${i}]`, depth + 1));
      return m;
    }
    case "google.protobuf.Value":
      return valueMessage(type, json, c, path, depth);
    case "google.protobuf.Any":
      return anyFromJson(type, json, c, path, depth);
    default:
      return NOT_SPECIAL;
  }
}

/** An element of a Struct/ListValue: a google.protobuf.Value, at the container's depth. */
function valueFromJsonAt(f: FieldInfo | MapValueInfo, v: unknown, c: Ctx, path: string, depth: number): unknown {
  if (f.kind !== "message") fail(path, "Struct/ListValue of an unexpected shape");
  if (depth > c.maxDepth) fail(path, `nesting deeper than the limit of ${c.maxDepth}`);
  return valueMessage(f.message, v, c, path, depth);
}

function valueMessage(type: AnyType, json: unknown, c: Ctx, path: string, depth: number): Msg {
  const oneof = type.oneofs[0];
  if (oneof === undefined) throw new JsonError(`${type.typeName} has no oneof: not the well-known type it is named after`, path);
  const by = (no: number): FieldInfo => field(type, no);
  let f: FieldInfo;
  let value: unknown;
  if (json === null) {
    f = by(1);
    value = 0;
  } else if (typeof json === "number" || json instanceof LosslessNumber) {
    f = by(2);
    value = typeof json === "number" ? json : json.value;
    if (!Number.isFinite(value)) fail(path, `${describeJson(json)} is out of the range of a double`);
  } else if (typeof json === "string") {
    f = by(3);
    value = json;
  } else if (typeof json === "boolean") {
    f = by(4);
    value = json;
  } else if (Array.isArray(json)) {
    f = by(6);
    value = messageFromJson((f as FieldInfo & { kind: "message" }).message, json, c, path, depth);
  } else if (isObject(json)) {
    f = by(5);
    value = messageFromJson((f as FieldInfo & { kind: "message" }).message, json, c, path, depth);
  } else fail(path, `${describeJson(json)} is not a JSON value`);
  const m = type.create() as Msg;
  m[oneof.localName] = { case: f.localName, value };
  return m;
}

function anyFromJson(type: AnyType, json: unknown, c: Ctx, path: string, depth: number): Msg {
  if (!isObject(json)) fail(path, `expected a JSON object for google.protobuf.Any, got ${describeJson(json)}`);
  const m = type.create() as Msg;
  const keys = Object.keys(json);
  if (keys.length === 0) return m;
  const url = json["@type"];
  if (url === undefined) fail(path, `google.protobuf.Any needs an "@type" key (has ${keys.slice(0, 3).map((k) => JSON.stringify(k)).join(", ")})`);
  if (typeof url !== "string") fail(keyPath(path, "@type"), `expected a type URL string, got ${describeJson(url)}`);
  const inner = resolveAny(url, c.registry, path);
  let msg: unknown;
  if (VALUE_IN_ANY.has(inner.typeName)) {
    for (const k of keys) {
      if (k !== "@type" && k !== "value" && !c.ignoreUnknown) fail(keyPath(path, k), `an Any holding ${inner.typeName} has only "@type" and "value"`);
    }
    if (!("value" in json)) fail(path, `an Any holding ${inner.typeName} needs a "value" key`);
    msg = messageFromJson(inner, json.value, c, keyPath(path, "value"), depth + 1);
  } else {
    if (depth + 1 > c.maxDepth) fail(path, `nesting deeper than the limit of ${c.maxDepth}`);
    msg = fieldsFromJson(inner, json, c, path, depth + 1, "@type");
  }
  let bytes: Uint8Array;
  try {
    bytes = inner.toBinary(msg);
  } catch (err) {
    fail(path, `the Any's ${inner.typeName} does not encode: ${(err as Error).message}`);
  }
  m[field(type, 1).localName] = url;
  m[field(type, 2).localName] = bytes;
  return m;
}
