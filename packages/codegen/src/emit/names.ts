import type { FieldModel, TypeRef } from "../model.js";
import { SCALARS } from "./scalars.js";

/** How the module being generated names other types: local names or `depN.Name`. */
export interface Scope {
  /** name of a type (usable as both type and value) from this module */
  ref(r: TypeRef): string;
  /** true when the type is defined in this module (its functions can be called directly) */
  isLocal(r: TypeRef): boolean;
  /** an enum as a value in generated functions (closed-enum checks): safe from their locals */
  enumValue(r: TypeRef): string;
  /** marks an @sgwire/core symbol as used */
  use(symbol: string): string;
}

export function tagOf(no: number, wireType: number): number {
  return ((no << 3) | wireType) >>> 0;
}

export function varintLen(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Statement writing a constant tag. */
export function writeTag(tag: number): string {
  return tag < 0x80 ? `e.byte(${tag});` : `e.uint32(${tag});`;
}

/** Wire type of a field's single (unpacked) values. */
export function wireTypeOf(f: FieldModel): number {
  if (f.map !== undefined) return 2;
  const t = f.type;
  if (t.kind === "message") return t.delimited ? 3 : 2;
  if (t.kind === "enum") return 0;
  return SCALARS[t.scalar].wireType;
}

/** TypeScript type of one value of the field (element type for repeated). */
export function tsValueType(t: FieldModel["type"], scope: Scope): string {
  if (t.kind === "scalar") return SCALARS[t.scalar].ts;
  return scope.ref(t.ref);
}

/** A JavaScript literal for a default value. */
export function literal(v: FieldModel["defaultValue"], scope: Scope): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (v === Infinity) return "Infinity";
    if (v === -Infinity) return "-Infinity";
    if (Object.is(v, -0)) return "-0";
    return String(v);
  }
  if (v instanceof Uint8Array) return v.length === 0 ? scope.use("EMPTY_BYTES") : `new Uint8Array([${Array.from(v).join(", ")}])`;
  return "undefined";
}
