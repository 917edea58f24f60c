import type { MessageType } from "../codec/message.js";
import type { FieldInfo } from "./types.js";
import { isStackOverflow } from "./util.js";

/**
 * Deep-partial initializers for `MessageType.create(init)`.
 *
 * A generated message interface has three kinds of object-valued properties, told apart by their
 * shape: a map (a string index signature), a message (it declares `$unknown`) and a oneof
 * (`{ case, value }`). Every message in an init — a field, an element of a repeated field, a map
 * value, a oneof's value — may itself be a partial init; scalars, enums, bigints and bytes are
 * taken as they are. Names and value types stay checked: an unknown field or a value of the wrong
 * type does not compile.
 */
export type MessageInit<T> = { [K in keyof T]?: InitValue<T[K]> };

/** Alias of MessageInit (the name protobuf-es users know from `create(Schema, init)`). */
export type DeepPartial<T> = MessageInit<T>;

type Primitive = string | number | boolean | bigint | symbol | null | undefined;

/** The init form of one property's value type (distributes over unions: oneof cases, `| undefined`). */
export type InitValue<V> =
  V extends Primitive ? V
  : V extends Uint8Array ? V
  : V extends readonly (infer E)[] ? InitValue<E>[]
  : V extends object
    ? string extends keyof V ? { [key: string]: InitValue<V[string & keyof V]> } // map
    : "$unknown" extends keyof V ? MessageInit<V> // message
    : V extends { case: infer C; value: infer X } ? { case: C; value: InitValue<X> } // oneof member
    : V // `{ case: undefined }` and other objects
  : V;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = MessageType<any>;
type Obj = Record<string, unknown>;

/** How create(init) handles the properties of an init, by name (objects without a prototype). */
interface InitPlan {
  /** localName -> field (oneof members excluded) */
  fields: Record<string, FieldInfo | undefined>;
  /** localName -> true for singular scalar and enum fields: their values are taken as they are */
  simple: Record<string, boolean | undefined>;
  /** oneof property -> its members by case name */
  oneofs: Record<string, Map<string, FieldInfo> | undefined>;
  /** the properties create() sets: a nested object that has all of them is a message already */
  createKeys: string[];
}

const plans = new WeakMap<AnyType, InitPlan | null>();
/** the plan last used: a stream of create(init) calls for one type skips the WeakMap */
let lastType: AnyType | undefined;
let lastPlan: InitPlan | null = null;

/** The type's plan, or null for a codec without reflection data (written by hand). */
function planOf(type: AnyType): InitPlan | null {
  if (type === lastType) return lastPlan;
  let plan = plans.get(type);
  if (plan === undefined) {
    if (!hasReflection(type)) {
      plans.set(type, null);
      return null;
    }
    plan = { fields: Object.create(null), simple: Object.create(null), oneofs: Object.create(null), createKeys: Object.keys(type.create() as object) } as InitPlan;
    for (const f of type.fields) {
      if (f.oneof !== undefined) continue;
      plan.fields[f.localName] = f;
      if (f.kind !== "map" && f.kind !== "message" && !f.repeated) plan.simple[f.localName] = true;
    }
    for (const o of type.oneofs) plan.oneofs[o.localName] = new Map(o.fields.map((f) => [f.localName, f]));
    plans.set(type, plan);
  }
  lastType = type;
  lastPlan = plan;
  return plan;
}

function hasReflection(type: AnyType): boolean {
  try {
    void type.fields;
    return true;
  } catch (err) {
    if (err instanceof Error && err.message.includes("no reflection data")) return false;
    throw err;
  }
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Map) return "a Map";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/** The TypeError create(init) throws for a value it cannot use, naming where it is. */
function bad(path: string, expected: string, got: unknown): never {
  throw new TypeError(`${path}: expected ${expected}, got ${describeValue(got)}`);
}

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Whether nested value `v` is a message of its type already: it has every property create() sets
 * (as messages from create() and fromBinary do). A type whose create() sets none cannot tell.
 */
function isMessage(plan: InitPlan, v: object): boolean {
  const keys = plan.createKeys;
  if (keys.length === 0) return false;
  for (let i = 0; i < keys.length; i++) if (!Object.prototype.hasOwnProperty.call(v, keys[i]!)) return false;
  return true;
}

/**
 * A message of `type` from a (partial) init; `path` names it in errors. A nested value (`nested`)
 * that is a message already is used as it is.
 */
function build(type: AnyType, init: unknown, path: string, nested: boolean): unknown {
  if (typeof init !== "object" || init === null || Array.isArray(init) || init instanceof Uint8Array || init instanceof Map) {
    bad(path, `a ${type.typeName} message or init object`, init);
  }
  const plan = planOf(type);
  if (nested && plan !== null && isMessage(plan, init)) return init;
  const m = type.create() as Obj;
  if (plan === null) return Object.assign(m, init);
  const src = init as Obj;
  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = src[key];
    if (v === undefined) continue;
    if (plan.simple[key] === true) {
      // a scalar or enum: as it is (null, for a field with presence, is absent)
      if (v !== null || plan.fields[key]!.presence === "implicit") m[key] = v;
      continue;
    }
    const f = plan.fields[key];
    if (f !== undefined) {
      m[key] = fieldValue(f, v, `${path}.${key}`);
      continue;
    }
    const members = plan.oneofs[key];
    if (members !== undefined) {
      if (v === null) continue;
      if (typeof v !== "object" || Array.isArray(v)) bad(`${path}.${key}`, "a oneof { case, value }", v);
      const c = (v as Obj).case;
      if (c === undefined) continue;
      const member = typeof c === "string" ? members.get(c) : undefined;
      // a case the oneof does not have is kept as it is: encoding refuses it, naming the case
      m[key] = member === undefined ? { ...v } : { case: c, value: singular(member, (v as Obj).value, `${path}.${key}.value`) };
      continue;
    }
    if (key === "$unknown") {
      if (!Array.isArray(v)) bad(`${path}.$unknown`, "an array of Uint8Array", v);
      m[key] = v.slice();
      continue;
    }
    if (key === "$extensions") {
      if (!Array.isArray(v)) bad(`${path}.$extensions`, "an array of extension fields", v);
      // a new list of new entries (values are taken as they are, like other fields' scalars)
      m[key] = v.map((e: unknown) => (typeof e === "object" && e !== null ? { ...e } : e));
      continue;
    }
    // other `$` properties belong to the runtime: kept as they are
    if (key.startsWith("$")) {
      m[key] = v;
      continue;
    }
    throw new TypeError(`${path}: ${type.typeName} has no field "${key}"`);
  }
  return m;
}

function singular(f: FieldInfo, v: unknown, path: string): unknown {
  if (f.kind === "message") return build(f.message, v, path, true);
  return v;
}

function fieldValue(f: FieldInfo, v: unknown, path: string): unknown {
  if (f.kind === "map") {
    if (!isPlainObject(v)) bad(path, "a plain object (map keys as strings)", v);
    const out = Object.create(null) as Obj;
    const msg = f.value.kind === "message" ? f.value.message : undefined;
    for (const k of Object.keys(v)) {
      const x = v[k];
      out[k] = msg !== undefined ? build(msg, x, `${path}[${JSON.stringify(k)}]`, true) : x;
    }
    return out;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) bad(path, "an array", v);
    if (f.kind !== "message") return v.slice();
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = build(f.message, v[i], `${path}[${i}]`, true);
    return out;
  }
  if (v === null && (f.presence !== "implicit" || f.kind === "message")) return undefined;
  return singular(f, v, path);
}


/**
 * What `type.create(init)` returns: a new message with every implicit-presence field at its
 * default, each property of `init` set, and every nested message (a message field, an element of
 * a repeated message field, a map value, a oneof's message value) built the same way with its own
 * type's defaults — unless that nested value is a message already (it has every property its
 * type's create() sets, as messages from create() and fromBinary do), which is used as it is, not
 * copied. Arrays and maps are new containers; scalar values and `Uint8Array`s are taken as they
 * are (bytes are not copied). `undefined` properties are skipped.
 *
 * A codec without reflection data (written by hand) gets a shallow `Object.assign` instead.
 * Throws a TypeError naming the path (`shop.Order.items[2].price`) for a field the type does not
 * have, a message given as a non-object, an array field given a non-array, a map given a `Map` or
 * an array, a oneof given a non-object, and a RangeError for an init nested too deeply for the
 * stack (or one that contains itself). A oneof whose case is not one of its members is kept as
 * given: encoding refuses it, naming the case.
 */
export function createMessage<T>(type: MessageType<T>, init: unknown): T {
  try {
    return build(type, init, type.typeName, false) as T;
  } catch (err) {
    if (isStackOverflow(err)) throw new RangeError(`${type.typeName}.create: init nested too deeply (does it contain itself?)`);
    throw err;
  }
}
