/** Protobuf wire types (the low three bits of a tag). Types 6 and 7 are invalid on the wire. */
export const enum WireType {
  Varint = 0,
  I64 = 1,
  Len = 2,
  StartGroup = 3,
  EndGroup = 4,
  I32 = 5,
}

/** Largest legal field number (2^29 - 1). */
export const MAX_FIELD_NUMBER = 0x1fffffff;

/** The tag value for a field number and wire type, as an unsigned 32-bit number. */
export function makeTag(fieldNumber: number, wireType: WireType): number {
  return ((fieldNumber << 3) | wireType) >>> 0;
}
