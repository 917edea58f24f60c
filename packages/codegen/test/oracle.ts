/**
 * Test helpers that use protobufjs reflection as an independent oracle: random messages for a
 * type (in sgwire's shape), the same message in protobufjs's shape, and the message as sgwire's
 * decoder must return it (implicit fields filled with defaults).
 */
import protobuf from "protobufjs";
import fc from "fast-check";
import { lowerCamelCase } from "@sgwire/codegen";

export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

export function loadRoot(...files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("/") ? target : FIXTURES + target);
  root.loadSync(files.map((f) => FIXTURES + f), { keepCase: true });
  root.resolveAll();
  return root;
}

type Obj = Record<string, unknown>;
const I64 = { min: -(1n << 63n), max: (1n << 63n) - 1n };
const U64 = { min: 0n, max: (1n << 64n) - 1n };

function isImplicit(f: protobuf.Field): boolean {
  return !f.repeated && !f.map && !f.hasPresence && !f.required;
}

function scalarArb(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case "double": return fc.double();
    case "float": return fc.float();
    case "int32": case "sint32": case "sfixed32": return fc.integer();
    case "uint32": case "fixed32": return fc.integer({ min: 0, max: 0xffffffff });
    case "int64": case "sint64": case "sfixed64": return fc.bigInt(I64);
    case "uint64": case "fixed64": return fc.bigInt(U64);
    case "bool": return fc.boolean();
    case "string": return fc.string({ unit: "binary", maxLength: 24 });
    case "bytes":
      return fc.oneof(
        { weight: 4, arbitrary: fc.uint8Array({ maxLength: 32 }) },
        // large enough to take the referenced path under the default threshold
        { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 500, max: 3000 }), fc.integer({ min: 0, max: 255 })).map(([n, b]) => new Uint8Array(n).fill(b)) },
      );
    default: throw new Error(`no arbitrary for ${type}`);
  }
}

function valueArb(f: protobuf.Field, type: string, resolved: protobuf.Type | protobuf.Enum | null, depth: number): fc.Arbitrary<unknown> {
  if (resolved instanceof protobuf.Enum) {
    const known = Object.values(resolved.values);
    const closed = (resolved as unknown as { _features: { enum_type?: string } })._features.enum_type === "CLOSED";
    return closed ? fc.constantFrom(...known) : fc.oneof(fc.constantFrom(...known), fc.integer({ min: -5, max: 1000 }));
  }
  if (resolved instanceof protobuf.Type) return messageArb(resolved, depth + 1);
  void f;
  return scalarArb(type);
}

function mapKeyArb(type: string): fc.Arbitrary<string> {
  if (type === "string") return fc.string({ unit: "grapheme-ascii", maxLength: 8 }).filter((s) => s !== "__proto__");
  if (type === "bool") return fc.constantFrom("true", "false");
  return scalarArb(type).map((v) => String(v));
}

/** Random messages of `type` in sgwire's shape. */
/** Fields sgwire generates: extensions are not among them (they stay unknown fields). */
const fieldsOf = (type: protobuf.Type) => type.fieldsArray.filter((f) => !f.declaringField && !f.name.startsWith("."));

export function messageArb(type: protobuf.Type, depth = 0): fc.Arbitrary<Obj> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fieldsOf(type)) {
    if (f.partOf && !f.partOf.isProto3Optional) continue;
    const js = lowerCamelCase(f.name);
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Type && depth >= 3) continue; // keep trees small
    if (f instanceof protobuf.MapField) {
      parts[js] = fc.dictionary(mapKeyArb(f.keyType), valueArb(f, f.type, rt, depth), { maxKeys: 3 });
    } else if (f.repeated) {
      parts[js] = fc.array(valueArb(f, f.type, rt, depth), { maxLength: rt instanceof protobuf.Type ? 2 : 5 });
    } else {
      parts[js] = valueArb(f, f.type, rt, depth);
    }
  }
  for (const o of type.oneofsArray) {
    if (o.isProto3Optional) continue;
    const members = o.fieldsArray.filter((f) => !(f.resolvedType instanceof protobuf.Type && depth >= 3));
    if (members.length === 0) continue;
    parts[lowerCamelCase(o.name)] = fc.oneof(...members.map((f) =>
      valueArb(f, f.type, f.resolvedType, depth).map((value) => ({ case: lowerCamelCase(f.name), value }))));
  }
  const required = type.fieldsArray.filter((f) => f.required).map((f) => lowerCamelCase(f.name));
  return fc.record(parts, { requiredKeys: required });
}

function toPbjsValue(v: unknown, resolved: protobuf.Type | protobuf.Enum | null): unknown {
  if (typeof v === "bigint") return v.toString();
  if (resolved instanceof protobuf.Type) return toPbjs(v as Obj, resolved);
  return v;
}

/** The same message in protobufjs's shape (keepCase names), with implicit defaults left out. */
export function toPbjs(m: Obj, type: protobuf.Type): Obj {
  const out: Obj = {};
  for (const f of fieldsOf(type)) {
    const js = lowerCamelCase(f.name);
    let v: unknown;
    if (f.partOf && !f.partOf.isProto3Optional) {
      const o = m[lowerCamelCase(f.partOf.name)] as { case?: string; value?: unknown } | undefined;
      if (o?.case !== js) continue;
      v = o.value;
    } else v = m[js];
    if (v === undefined) continue;
    const rt = f.resolvedType;
    if (f instanceof protobuf.MapField) {
      const o: Obj = {};
      for (const [k, x] of Object.entries(v as Obj)) o[k] = toPbjsValue(x, rt);
      out[f.name] = o;
    } else if (f.repeated) {
      out[f.name] = (v as unknown[]).map((x) => toPbjsValue(x, rt));
    } else {
      if (isImplicit(f) && !(rt instanceof protobuf.Type) && !(f.partOf && !f.partOf.isProto3Optional) && isZero(v)) continue;
      out[f.name] = toPbjsValue(v, rt);
    }
  }
  return out;
}

function isZero(v: unknown): boolean {
  if (typeof v === "number") return v === 0 && 1 / v > 0;
  if (typeof v === "bigint") return v === 0n;
  if (typeof v === "boolean") return !v;
  if (typeof v === "string") return v.length === 0;
  if (v instanceof Uint8Array) return v.length === 0;
  return false;
}

function zeroOf(f: protobuf.Field): unknown {
  if (f.resolvedType instanceof protobuf.Enum) return 0;
  switch (f.type) {
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64": return 0n;
    case "bool": return false;
    case "string": return "";
    case "bytes": return new Uint8Array(0);
    default: return 0;
  }
}

/** What sgwire's decoder returns for `m`: implicit fields at their defaults, empty lists and maps. */
export function decoded(m: Obj, type: protobuf.Type): Obj {
  const out: Obj = {};
  for (const f of fieldsOf(type)) {
    if (f.partOf && !f.partOf.isProto3Optional) continue;
    const js = lowerCamelCase(f.name);
    const v = m[js];
    const rt = f.resolvedType;
    if (f instanceof protobuf.MapField) {
      const o = Object.create(null) as Obj; // decoded maps have no prototype: no inherited keys
      for (const [k, x] of Object.entries((v ?? {}) as Obj)) o[k] = rt instanceof protobuf.Type ? decoded(x as Obj, rt) : x;
      out[js] = o;
    } else if (f.repeated) {
      out[js] = ((v ?? []) as unknown[]).map((x) => (rt instanceof protobuf.Type ? decoded(x as Obj, rt) : x));
    } else if (v !== undefined) {
      out[js] = rt instanceof protobuf.Type ? decoded(v as Obj, rt) : v;
    } else if (f.required || (isImplicit(f) && !(rt instanceof protobuf.Type))) {
      out[js] = zeroOf(f);
    }
  }
  for (const o of type.oneofsArray) {
    if (o.isProto3Optional) continue;
    const js = lowerCamelCase(o.name);
    const v = m[js] as { case: string; value: unknown } | undefined;
    if (v === undefined) continue;
    const f = o.fieldsArray.find((x) => lowerCamelCase(x.name) === v.case)!;
    const rt = f.resolvedType;
    out[js] = { case: v.case, value: rt instanceof protobuf.Type ? decoded(v.value as Obj, rt) : v.value };
  }
  return out;
}
