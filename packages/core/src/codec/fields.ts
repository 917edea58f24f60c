import { writeVarint32, writeVarint64, varint32Size, varint64Size } from "../wire/varint.js";

/**
 * Small helpers generated decoders call for rarer cases.
 */

/** Stores a map entry; "__proto__" is stored as an own property instead of changing the prototype. */
export function setMapEntry<V>(o: { [key: string]: V }, key: string, value: V): void {
  if (key !== "__proto__") o[key] = value;
  else Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Raw bytes of an unknown varint field (tag + value), for a packed closed-enum value the schema
 * does not know: protobuf keeps such values as unknown fields rather than dropping them. With
 * `hi`, `value` and `hi` are the low and high 32 bits of the varint as read, so a value with
 * high bits set is kept whole (as protobuf C++ and upb keep it); without, `value` is an int32.
 */
export function unknownVarint(fieldNumber: number, value: number, hi?: number): Uint8Array {
  const tag = (fieldNumber << 3) >>> 0;
  let lo = value >>> 0;
  if (hi === undefined) hi = value < 0 ? 0xffffffff : 0;
  else hi >>>= 0;
  const out = new Uint8Array(varint32Size(tag) + varint64Size(lo, hi));
  writeVarint64(out, writeVarint32(out, 0, tag), lo, hi);
  return out;
}
