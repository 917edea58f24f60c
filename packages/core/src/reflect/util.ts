import type { MessageType } from "../codec/message.js";
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

/** The field number in the tag at the start of a raw unknown field (0 if it is not a tag). */
export function unknownFieldNumber(raw: Uint8Array): number {
  let v = 0;
  for (let i = 0, shift = 0; i < raw.length && i < 5; i++, shift += 7) {
    const b = raw[i]!;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return Math.floor(v / 8);
  }
  return 0;
}
