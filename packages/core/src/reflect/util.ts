import type { MessageType } from "../codec/message.js";
import { Reader } from "../wire/reader.js";
import type { FieldInfo, ScalarType } from "./types.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMessageType = MessageType<any>;
export type Obj = Record<string, unknown>;

const EMPTY = new Uint8Array(0);

/** The value an implicit-presence scalar field has when it is not set (what create() puts there). */
export function scalarZero(t: ScalarType): unknown {
  switch (t) {
    case "string": return "";
    case "bool": return false;
    case "bytes": return EMPTY;
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64": return 0n;
    default: return 0;
  }
}

/** Checks that `type` is a message codec (a clear error for anything else) and returns it. */
export function checkType(type: unknown, fn: string): AnyMessageType {
  if (typeof type !== "object" || type === null || typeof (type as AnyMessageType).create !== "function" || typeof (type as AnyMessageType).typeName !== "string") {
    throw new TypeError(`${fn}: expected a message type (a generated codec), got ${type === null ? "null" : typeof type}`);
  }
  // a codec without reflection data throws here, naming the type
  void (type as AnyMessageType).fields;
  return type as AnyMessageType;
}

/** Checks that `v` can be read as a message (a non-array object). */
export function checkMessage(v: unknown, type: AnyMessageType, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new TypeError(`${path}: expected a ${type.typeName} message object, got ${v === null ? "null" : Array.isArray(v) ? "an array" : typeof v}`);
  }
  return v as Obj;
}

/** The field a presence helper was given (a FieldInfo of `type`, a localName or a number). */
export function resolveField(type: AnyMessageType, field: FieldInfo | string | number, fn: string): FieldInfo {
  let f: FieldInfo | undefined;
  if (typeof field === "number") f = type.field(field);
  else if (typeof field === "string") f = type.fields.find((x) => x.localName === field);
  else if (typeof field === "object" && field !== null) {
    f = type.field(field.number);
    if (f !== field) {
      throw new TypeError(`${fn}: field ${field.name} = ${field.number} is not a field of ${type.typeName}`);
    }
  }
  if (f === undefined) throw new TypeError(`${fn}: ${type.typeName} has no field ${typeof field === "string" ? JSON.stringify(field) : String(field)}`);
  return f;
}

/** V8's RangeError for a recursion that ran out of stack. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack size/i.test(err.message);
}

/**
 * The unknown fields of `$unknown` one field per entry, as [field number, raw tag+value bytes]
 * (views, not copies). Decoding keeps adjacent unknown fields as one entry; this splits them. A
 * run that does not parse as whole fields (by hand) stays one entry, under number 0.
 */
export function splitUnknown(u: readonly Uint8Array[]): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (const raw of u) {
    if (!(raw instanceof Uint8Array)) throw new TypeError(`$unknown: expected Uint8Array entries, got ${raw === null ? "null" : typeof raw}`);
    const r = new Reader(raw);
    const at = out.length;
    try {
      while (r.pos < raw.length) {
        const start = r.pos;
        const t = r.tag();
        r.skip(t);
        out.push([t >>> 3, raw.subarray(start, r.pos)]);
      }
    } catch {
      out.length = at;
      out.push([0, raw]);
    }
  }
  return out;
}
