import { writeVarint32, writeVarint64, varint32Size } from "../wire/varint.js";

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
 * does not know: protobuf keeps such values as unknown fields rather than dropping them.
 */
export function unknownVarint(fieldNumber: number, value: number): Uint8Array {
  const tag = (fieldNumber << 3) >>> 0;
  const out = new Uint8Array(varint32Size(tag) + (value < 0 ? 10 : varint32Size(value)));
  const p = writeVarint32(out, 0, tag);
  if (value < 0) writeVarint64(out, p, value >>> 0, 0xffffffff);
  else writeVarint32(out, p, value);
  return out;
}
