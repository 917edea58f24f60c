import type { MessageType } from "../codec/message.js";
import type { FieldInfo } from "./types.js";
import { checkMessage, checkType, resolveField, scalarZero, type Obj } from "./util.js";

/**
 * Whether field `field` of `msg` is set, as protobuf defines it for the field's presence:
 *
 * - a oneof member: its case is the one selected;
 * - a repeated field: it has an element; a map: it has an entry;
 * - explicit presence (proto2 optional, proto3 `optional`, message fields) and required fields:
 *   the property is not `undefined` (nor `null`), even if it holds the default value;
 * - implicit presence (proto3 singular scalars and enums): the value is not the zero value, i.e.
 *   the field would be written on the wire (`-0` is set, as protobuf writes it; `""`, `0`, `0n`,
 *   `false`, an empty Uint8Array are not).
 *
 * `field` is a FieldInfo of `type` (from `type.fields`), its `localName` (the property, or for a
 * oneof member its case name) or its field number. A field the type does not have is a TypeError.
 */
export function isFieldSet<T>(type: MessageType<T>, msg: T, field: FieldInfo | string | number): boolean {
  const t = checkType(type, "isFieldSet");
  const f = resolveField(t, field, "isFieldSet");
  const m = checkMessage(msg, t, t.typeName);
  if (f.oneof !== undefined) return (m[f.oneof] as { case?: unknown } | undefined)?.case === f.localName;
  const v = m[f.localName];
  if (v === undefined || v === null) return false;
  if (f.kind === "map") return Object.keys(v as Obj).length > 0;
  if (f.repeated) return (v as unknown[]).length > 0;
  if (f.presence !== "implicit" || f.kind === "message") return true;
  if (f.kind === "enum") return v !== 0;
  switch (f.scalar) {
    case "double": case "float": return v !== 0 || Object.is(v, -0);
    case "string": return (v as string).length > 0;
    case "bytes": return (v as Uint8Array).length > 0;
    case "bool": return v === true;
    default: return v !== 0 && v !== 0n;
  }
}

/**
 * Clears field `field` of `msg` (in place), back to what `type.create()` has there: the zero
 * value for implicit presence, an empty array or map for repeated and map fields, and for explicit
 * presence and required fields no property at all (absent). Clearing a oneof member that is
 * selected removes the oneof's selection; clearing one that is not selected changes nothing.
 * `field` is given as for `isFieldSet`.
 */
export function clearField<T>(type: MessageType<T>, msg: T, field: FieldInfo | string | number): void {
  const t = checkType(type, "clearField");
  const f = resolveField(t, field, "clearField");
  const m = checkMessage(msg, t, t.typeName);
  if (f.oneof !== undefined) {
    if ((m[f.oneof] as { case?: unknown } | undefined)?.case === f.localName) delete m[f.oneof];
    return;
  }
  if (f.kind === "map") m[f.localName] = Object.create(null);
  else if (f.repeated) m[f.localName] = [];
  else if (f.presence !== "implicit" || f.kind === "message") delete m[f.localName];
  else m[f.localName] = f.kind === "enum" ? 0 : scalarZero(f.scalar);
}
