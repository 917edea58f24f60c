/**
 * Varint and zigzag arithmetic on plain numbers and bigints. These are the pure functions; the
 * Encoder and Reader inline the same steps on their own buffers.
 */

/** Bytes needed for an unsigned 32-bit value as a varint (1..5). */
export function varint32Size(v: number): number {
  v >>>= 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes for a signed int32 field: negative values are sign-extended to 64 bits (10 bytes). */
export function int32Size(v: number): number {
  return v < 0 ? 10 : varint32Size(v);
}

/** Bytes for a 64-bit varint given as low and high unsigned 32-bit halves. */
export function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  hi >>>= 0;
  // bits above 32 start in byte 5; each further 7 bits adds a byte
  return hi < 0x8 ? 5 : hi < 0x400 ? 6 : hi < 0x20000 ? 7 : hi < 0x1000000 ? 8 : hi < 0x80000000 ? 9 : 10;
}

const MASK32 = 0xffffffffn;

/** Low and high unsigned 32-bit halves of a 64-bit two's complement bigint. */
export function splitBigint(v: bigint): [lo: number, hi: number] {
  return [Number(v & MASK32), Number((v >> 32n) & MASK32)];
}

/** Rebuilds an unsigned 64-bit bigint from halves. */
export function joinUnsigned(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo >>> 0);
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Rebuilds a signed 64-bit bigint from halves. */
export function joinSigned(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo >>> 0);
  if (hi === -1 || hi === 0xffffffff) {
    if (lo & 0x80000000) return BigInt(lo | 0); // fits in a signed 32-bit number
  }
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/** ZigZag-encodes a signed 32-bit number (so small magnitudes stay small). */
export function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

/** Inverse of zigzag32. */
export function unzigzag32(v: number): number {
  return (v >>> 1) ^ -(v & 1);
}

/** ZigZag-encodes a signed 64-bit bigint into an unsigned 64-bit bigint. */
export function zigzag64(v: bigint): bigint {
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

/** Inverse of zigzag64. */
export function unzigzag64(v: bigint): bigint {
  return BigInt.asIntN(64, (v >> 1n) ^ -(v & 1n));
}

/** Writes an unsigned 32-bit varint at `pos`; returns the new position. */
export function writeVarint32(buf: Uint8Array, pos: number, v: number): number {
  v >>>= 0;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes a 64-bit varint given as halves at `pos`; returns the new position. */
export function writeVarint64(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  lo >>>= 0;
  hi >>>= 0;
  while (hi !== 0) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/** Bytes of an int64/uint64 bigint as a varint (negative values take 10). */
export function int64Size(v: bigint): number {
  // a Number is exact up to 2^53 - 1, and its sign and order are always right: no bigint allocated
  const n = Number(v);
  if (n < 0) return 10;
  if (n < 0x80000000) return varint32Size(n);
  if (n <= Number.MAX_SAFE_INTEGER) return varint64Size(n >>> 0, Math.floor(n / 4294967296));
  return varint64Size(Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
}

/** Bytes of a sint64 bigint (zigzag) as a varint. */
export function sint64Size(v: bigint): number {
  const n = Number(v);
  if (n > -(2 ** 52) && n < 2 ** 52) {
    // zigzag as a Number: exact below 2^53
    const z = n >= 0 ? n * 2 : -n * 2 - 1;
    return varint64Size(z >>> 0, Math.floor(z / 4294967296));
  }
  const z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  return varint64Size(Number(z & 0xffffffffn), Number(z >> 32n));
}

/** A shared empty byte array (the default of bytes fields). Never written to. */
export const EMPTY_BYTES = new Uint8Array(0);
