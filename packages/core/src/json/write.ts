// Message -> ProtoJSON value, driven by reflection (MessageType.fields / oneofs, EnumType).

import type { MessageType } from "../codec/message.js";
import type { EnumType, FieldInfo, ScalarType } from "../reflect/types.js";
import type { Registry } from "../reflect/registry.js";
import { extensionsOf, getExtension, hasExtension, type AnyExtension } from "../reflect/extension.js";
import type { JsonObject, JsonValue } from "../wkt/struct.js";
import { validateDuration } from "../wkt/duration.js";
import { validateTimestamp } from "../wkt/timestamp.js";
import { base64Encode } from "./base64.js";
import { JsonError, describeJson } from "./error.js";
import { NULL_VALUE, VALUE_IN_ANY, WRAPPERS, fieldMaskPathToJson, keyPath, setOwn } from "./names.js";
import { typeNameOfUrl } from "../wkt/any.js";
import { formatDuration, formatTimestamp } from "./time.js";
import { checkDepthOption, type JsonWriteOptions } from "./options.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = MessageType<any>;
type Msg = Record<string, unknown>;

interface Ctx {
  emitDefaults: boolean;
  enumAsInteger: boolean;
  protoNames: boolean;
  registry: Registry | undefined;
  maxDepth: number;
}

export function writeContext(o: JsonWriteOptions | undefined, fn: string): Ctx {
  return {
    emitDefaults: o?.emitDefaultValues === true,
    enumAsInteger: o?.enumAsInteger === true,
    protoNames: o?.useProtoFieldName === true,
    registry: o?.registry,
    maxDepth: checkDepthOption(o?.maxDepth, fn),
  };
}

function fail(path: string, detail: string): never {
  throw new JsonError(detail, path);
}

/** How a field is printed, precomputed per message type (one object shape: monomorphic loops). */
interface FieldPlan {
  readonly f: FieldInfo;
  /** the property holding the field, or the oneof's property */
  readonly prop: string;
  /** for a oneof member, its case name; else undefined */
  readonly oneofCase: string | undefined;
  /** MAP, LIST, EXPLICIT (printed when set), IMPLICIT (printed unless at its default) */
  readonly mode: number;
  readonly jsonKey: string;
  readonly protoKey: string;
  /** the scalar type of a scalar field (or of a repeated scalar field's elements) */
  readonly scalar: ScalarType | undefined;
}
const MAP = 0;
const LIST = 1;
const EXPLICIT = 2;
const IMPLICIT = 3;

const plans = new WeakMap<AnyType, readonly FieldPlan[]>();
function planOf(type: AnyType): readonly FieldPlan[] {
  let p = plans.get(type);
  if (p === undefined) {
    p = type.fields.map((f): FieldPlan => ({
      f,
      prop: f.oneof ?? f.localName,
      oneofCase: f.oneof === undefined ? undefined : f.localName,
      mode: f.kind === "map" ? MAP : f.repeated ? LIST : f.oneof !== undefined || f.presence !== "implicit" || f.kind === "message" ? EXPLICIT : IMPLICIT,
      jsonKey: f.jsonName,
      protoKey: f.name,
      scalar: f.kind === "scalar" ? f.scalar : undefined,
    }));
    plans.set(type, p);
  }
  return p;
}

/** The JSON of message `m` of `type`; `depth` counts messages above it. */
export function messageToJson(type: AnyType, m: unknown, c: Ctx, path: string, depth: number): JsonValue {
  if (m === null || typeof m !== "object" || Array.isArray(m)) fail(path, `expected a ${type.typeName} message object, got ${describeJson(m)}`);
  if (depth > c.maxDepth) fail(path, `message nesting deeper than the limit of ${c.maxDepth} (does the message contain itself?)`);
  const msg = m as Msg;
  const name = type.typeName;
  if (name.startsWith("google.protobuf.")) {
    const special = wktToJson(type, msg, c, path, depth);
    if (special !== NOT_SPECIAL) return special;
  }
  const out: JsonObject = {};
  const plan = planOf(type);
  const emit = c.emitDefaults;
  for (let k = 0; k < plan.length; k++) {
    const p = plan[k]!;
    let v = msg[p.prop];
    if (p.oneofCase !== undefined) {
      if (v === undefined || v === null || (v as { case?: unknown }).case !== p.oneofCase) continue;
      v = (v as { value?: unknown }).value;
    }
    const key = c.protoNames ? p.protoKey : p.jsonKey;
    const f = p.f;
    let j: JsonValue;
    switch (p.mode) {
      case MAP:
        if (v === undefined || v === null) {
          if (!emit) continue;
          v = {};
        } else if (typeof v !== "object" || Array.isArray(v)) fail(keyPath(path, key), `expected a map object, got ${describeJson(v)}`);
        else if (!emit && Object.keys(v).length === 0) continue;
        j = mapToJson(f as FieldInfo & { kind: "map" }, v as Msg, c, keyPath(path, key), depth);
        break;
      case LIST: {
        if (v === undefined || v === null) {
          if (!emit) continue;
          v = [];
        } else if (!Array.isArray(v)) fail(keyPath(path, key), `expected an array, got ${describeJson(v)}`);
        else if (!emit && v.length === 0) continue;
        const arr = v as unknown[];
        const list: JsonValue[] = new Array<JsonValue>(arr.length);
        if (p.scalar !== undefined) {
          for (let i = 0; i < arr.length; i++) {
            const x = scalarJson(p.scalar, arr[i]);
            list[i] = x === BAD ? scalarToJson(p.scalar, arr[i], `${keyPath(path, key)}[${i}]`) : x;
          }
        } else if (f.kind === "enum") {
          for (let i = 0; i < arr.length; i++) list[i] = enumToJson(f.enum, arr[i], c, path, key, i);
        } else {
          const fp = keyPath(path, key);
          for (let i = 0; i < arr.length; i++) list[i] = singularToJson(f, arr[i], c, `${fp}[${i}]`, depth);
        }
        j = list;
        break;
      }
      case EXPLICIT:
        if (v === undefined || v === null) continue;
        j = p.scalar !== undefined ? scalarOrFail(p.scalar, v, path, key) : f.kind === "enum" ? enumToJson(f.enum, v, c, path, key) : singularToJson(f, v, c, keyPath(path, key), depth);
        break;
      default:
        if (v === undefined || v === null) {
          if (!emit) continue;
          v = zeroOf(f);
        } else if (!emit && isZero(f, v)) continue;
        j = p.scalar !== undefined ? scalarOrFail(p.scalar, v, path, key) : f.kind === "enum" ? enumToJson(f.enum, v, c, path, key) : singularToJson(f, v, c, keyPath(path, key), depth);
    }
    setOwn(out, key, j);
  }
  if (msg.$extensions !== undefined || msg.$unknown !== undefined) extensionsToJson(name, msg, out, c, path, depth);
  return out;
}

/** A scalar's JSON; the path is built only for an error. */
function scalarOrFail(t: ScalarType, v: unknown, path: string, key: string): JsonValue {
  const x = scalarJson(t, v);
  return x === BAD ? scalarToJson(t, v, keyPath(path, key)) : x;
}

/**
 * Prints the extensions `msg` holds as `"[pkg.ext]"` keys, in field-number order: those set or
 * decoded, those of options.registry, and those whose generated modules are loaded.
 */
function extensionsToJson(name: string, msg: Msg, out: JsonObject, c: Ctx, path: string, depth: number): void {
  const exts = new Map<number, AnyExtension>(extensionsOf(name));
  const store = msg.$extensions;
  if (Array.isArray(store)) {
    for (const e of store as { no?: unknown; ext?: AnyExtension }[]) {
      if (e === null || typeof e !== "object" || typeof e.no !== "number") continue;
      if (e.ext !== undefined) exts.set(e.no, e.ext);
      else if (!exts.has(e.no)) {
        const r = c.registry?.getExtensionFor(name, e.no);
        if (r !== undefined) exts.set(e.no, r);
      }
    }
  }
  if (exts.size === 0) return;
  const list = [...exts.values()].sort((a, b) => a.number - b.number);
  for (const ext of list) {
    const f = ext.field;
    const fp = `${path}[${JSON.stringify(f.jsonName)}]`;
    let v: unknown;
    try {
      if (!hasExtension(msg, ext)) continue;
      v = getExtension(msg, ext);
    } catch (err) {
      fail(fp, (err as Error).message);
    }
    let j: JsonValue;
    if (f.repeated) {
      const arr = v as unknown[];
      j = arr.map((x, i) => singularToJson(f, x, c, `${fp}[${i}]`, depth));
    } else j = singularToJson(f, v, c, fp, depth);
    setOwn(out, f.jsonName, j);
  }
}

function zeroOf(f: FieldInfo): unknown {
  if (f.kind === "enum") return 0;
  if (f.kind !== "scalar") return undefined;
  switch (f.scalar) {
    case "bool": return false;
    case "string": return "";
    case "bytes": return new Uint8Array(0);
    default: return is64(f.scalar) ? 0n : 0;
  }
}

function isZero(f: FieldInfo, v: unknown): boolean {
  if (f.kind === "enum") return v === 0;
  if (f.kind !== "scalar") return false;
  switch (f.scalar) {
    case "bool": return v === false;
    case "string": return v === "";
    case "bytes": return v instanceof Uint8Array && v.length === 0;
    // -0 is not the default (protobuf writes it): only +0 is skipped
    default: return v === 0n || Object.is(v, 0);
  }
}

function is64(t: ScalarType): boolean {
  return t === "int64" || t === "uint64" || t === "sint64" || t === "fixed64" || t === "sfixed64";
}

function singularToJson(f: FieldInfo, v: unknown, c: Ctx, path: string, depth: number): JsonValue {
  switch (f.kind) {
    case "scalar":
      return scalarToJson(f.scalar, v, path);
    case "enum":
      return enumToJson(f.enum, v, c, path);
    case "message":
      return messageToJson(f.message, v, c, path, depth + 1);
    default:
      fail(path, "a map field cannot be an element");
  }
}

function mapToJson(f: FieldInfo & { kind: "map" }, m: Msg, c: Ctx, path: string, depth: number): JsonObject {
  const out: JsonObject = {};
  const val = f.value;
  for (const k of Object.keys(m)) {
    const v = m[k];
    const p = keyPath(path, k);
    let j: JsonValue;
    if (val.kind === "scalar") j = scalarToJson(val.scalar, v, p);
    else if (val.kind === "enum") j = enumToJson(val.enum, v, c, p);
    else j = messageToJson(val.message, v, c, p, depth + 1);
    setOwn(out, k, j);
  }
  return out;
}

const BAD = Symbol("bad");

/** The JSON of a valid scalar of type `t`, or BAD (then scalarToJson says what is wrong). */
function scalarJson(t: ScalarType, v: unknown): JsonValue | typeof BAD {
  switch (t) {
    case "double":
      return typeof v !== "number" ? BAD : Number.isFinite(v) ? v : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    case "float":
      return typeof v !== "number" ? BAD : Number.isFinite(v) ? Math.fround(v) : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    case "int32": case "sint32": case "sfixed32":
      return typeof v === "number" && (v | 0) === v ? v : BAD;
    case "uint32": case "fixed32":
      return typeof v === "number" && v >>> 0 === v ? v : BAD;
    case "bool":
      return typeof v === "boolean" ? v : BAD;
    case "string":
      return typeof v === "string" ? v : BAD;
    case "bytes":
      return v instanceof Uint8Array ? base64Encode(v) : BAD;
    default:
      return typeof v === "bigint" ? v.toString() : BAD;
  }
}

const INT32_RANGE: Partial<Record<ScalarType, [number, number]>> = {
  int32: [-0x80000000, 0x7fffffff], sint32: [-0x80000000, 0x7fffffff], sfixed32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff], fixed32: [0, 0xffffffff],
};

/** The JSON of a scalar value of type `t`. */
export function scalarToJson(t: ScalarType, v: unknown, path: string): JsonValue {
  switch (t) {
    case "double":
    case "float":
      if (typeof v !== "number") fail(path, `expected a number for ${t}, got ${describeJson(v)}`);
      // a float field holds the float nearest the number (what its binary encoding keeps)
      if (Number.isFinite(v)) return t === "float" ? Math.fround(v) : v;
      return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    case "bool":
      if (typeof v !== "boolean") fail(path, `expected a boolean, got ${describeJson(v)}`);
      return v;
    case "string":
      if (typeof v !== "string") fail(path, `expected a string, got ${describeJson(v)}`);
      return v;
    case "bytes":
      if (!(v instanceof Uint8Array)) fail(path, `expected a Uint8Array for bytes, got ${describeJson(v)}`);
      return base64Encode(v);
    default: {
      if (is64(t)) {
        if (typeof v === "bigint") return v.toString();
        if (typeof v === "number" && Number.isInteger(v)) return String(v);
        fail(path, `expected a bigint for ${t}, got ${describeJson(v)}`);
      }
      const [lo, hi] = INT32_RANGE[t]!;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) fail(path, `expected an integer in [${lo}, ${hi}] for ${t}, got ${describeJson(v)}`);
      return v;
    }
  }
}

/** An enum value's JSON; `key` and `index` (when given) complete `path`, built only for an error. */
function enumToJson(e: EnumType, v: unknown, c: Ctx, path: string, key?: string, index?: number): JsonValue {
  if (typeof v !== "number" || (v | 0) !== v) {
    const p = key === undefined ? path : index === undefined ? keyPath(path, key) : `${keyPath(path, key)}[${index}]`;
    fail(p, `expected an int32 number for enum ${e.typeName}, got ${describeJson(v)}`);
  }
  if (e.typeName === NULL_VALUE) return null;
  if (c.enumAsInteger) return v;
  // an open enum's unknown value prints as its number
  return e.byNumber(v)?.name ?? v;
}

const NOT_SPECIAL = Symbol("not special");

function prop(type: AnyType, m: Msg, no: number): unknown {
  const f = type.field(no);
  if (f === undefined) throw new JsonError(`${type.typeName} has no field ${no}: not the well-known type it is named after`, "");
  return m[f.localName];
}

/** The special JSON form of a well-known type, or NOT_SPECIAL. */
function wktToJson(type: AnyType, m: Msg, c: Ctx, path: string, depth: number): JsonValue | typeof NOT_SPECIAL {
  const name = type.typeName;
  if (WRAPPERS.has(name)) {
    const f = type.field(1);
    if (f === undefined || f.kind !== "scalar") return NOT_SPECIAL;
    return scalarToJson(f.scalar, m[f.localName] ?? zeroOf(f), path);
  }
  switch (name) {
    case "google.protobuf.Timestamp": {
      const ts = { seconds: prop(type, m, 1) as bigint, nanos: prop(type, m, 2) as number };
      try {
        validateTimestamp(ts, "Timestamp");
      } catch (err) {
        fail(path, (err as Error).message);
      }
      return formatTimestamp(ts.seconds, ts.nanos);
    }
    case "google.protobuf.Duration": {
      const d = { seconds: prop(type, m, 1) as bigint, nanos: prop(type, m, 2) as number };
      try {
        validateDuration(d, "Duration");
      } catch (err) {
        fail(path, (err as Error).message);
      }
      return formatDuration(d.seconds, d.nanos);
    }
    case "google.protobuf.FieldMask": {
      const paths = prop(type, m, 1);
      if (!Array.isArray(paths)) fail(path, `FieldMask paths: expected an array, got ${describeJson(paths)}`);
      const out: string[] = [];
      for (let i = 0; i < paths.length; i++) {
        const p = paths[i] as unknown;
        if (typeof p !== "string") fail(`${path}.paths[${i}]`, `expected a string, got ${describeJson(p)}`);
        const j = fieldMaskPathToJson(p);
        if (j === undefined) fail(`${path}.paths[${i}]`, `FieldMask path ${JSON.stringify(p)} has no JSON form (lowerCamelCase would not convert back to it)`);
        out.push(j);
      }
      return out.join(",");
    }
    case "google.protobuf.Struct":
    case "google.protobuf.ListValue": {
      // the JSON is the field itself (a map of Values / an array of Values)
      const f = type.field(1)!;
      const v = m[f.localName];
      if (name.endsWith("Struct")) {
        if (v === null || typeof v !== "object" || Array.isArray(v)) fail(path, `Struct fields: expected a map object, got ${describeJson(v)}`);
        return mapToJson(f as FieldInfo & { kind: "map" }, v as Msg, c, path, depth);
      }
      if (!Array.isArray(v)) fail(path, `ListValue values: expected an array, got ${describeJson(v)}`);
      return v.map((x, i) => singularToJson(f, x, c, `${path}[${i}]`, depth));
    }
    case "google.protobuf.Value": {
      const oneof = type.oneofs[0];
      if (oneof === undefined) return NOT_SPECIAL;
      const o = m[oneof.localName] as { case?: string; value?: unknown } | undefined;
      const f = o?.case === undefined ? undefined : oneof.fields.find((x) => x.localName === o.case);
      if (f === undefined) fail(path, "google.protobuf.Value has no kind set (it must hold null, a number, a string, a boolean, a struct or a list)");
      if (f.kind === "enum") return null;
      if (f.kind === "scalar" && f.scalar === "double" && !Number.isFinite(o!.value)) {
        fail(path, `google.protobuf.Value numberValue ${describeJson(o!.value)} has no JSON form (finite numbers only)`);
      }
      // Struct and ListValue inside a Value: the same nesting level as the Value itself
      return f.kind === "message" ? messageToJson(f.message, o!.value, c, path, depth) : singularToJson(f, o!.value, c, path, depth);
    }
    case "google.protobuf.Any":
      return anyToJson(type, m, c, path, depth);
    default:
      return NOT_SPECIAL;
  }
}

function anyToJson(type: AnyType, m: Msg, c: Ctx, path: string, depth: number): JsonValue {
  const url = prop(type, m, 1);
  const value = prop(type, m, 2);
  if (typeof url !== "string") fail(path, `Any type_url: expected a string, got ${describeJson(url)}`);
  if (value !== undefined && !(value instanceof Uint8Array)) fail(path, `Any value: expected a Uint8Array, got ${describeJson(value)}`);
  if (url === "") {
    if (value === undefined || value.length === 0) return {};
    fail(path, "Any has a value but no type_url");
  }
  const inner = resolveAny(url, c.registry, path);
  let msg: unknown;
  try {
    msg = inner.fromBinary(value ?? new Uint8Array(0));
  } catch (err) {
    fail(path, `Any value does not decode as ${inner.typeName}: ${(err as Error).message}`);
  }
  const j = messageToJson(inner, msg, c, path, depth + 1);
  const out: JsonObject = { "@type": url };
  if (VALUE_IN_ANY.has(inner.typeName)) out.value = j;
  else for (const k of Object.keys(j as JsonObject)) setOwn(out, k, (j as JsonObject)[k]);
  return out;
}

/** The type an Any's type URL names, from the registry. */
export function resolveAny(url: string, registry: Registry | undefined, path: string): AnyType {
  const name = typeNameOfUrl(url);
  if (name === undefined) fail(path, `Any type URL ${JSON.stringify(url)} is not of the form "type.googleapis.com/package.Message"`);
  const t = registry?.getMessage(name);
  if (t === undefined) {
    fail(path, `Any type URL ${JSON.stringify(url)}: ${name} is not in ${registry === undefined ? "a registry (pass options.registry: createRegistry(...))" : "options.registry"}`);
  }
  return t;
}
