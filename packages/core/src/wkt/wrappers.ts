/**
 * Helpers for the wrapper types of google/protobuf/wrappers.proto (`DoubleValue`, `FloatValue`,
 * `Int64Value`, `UInt64Value`, `Int32Value`, `UInt32Value`, `BoolValue`, `StringValue`,
 * `BytesValue`): typed constructors that reject values the wrapped field cannot hold, and
 * `unwrap` for optional wrapper fields.
 */

import { describe } from "./util.js";

/**
 * The shape of a generated wrapper message: one field `value = 1`. Generated wrapper objects
 * (`DoubleValue`, `Int64Value`, ...) are assignable to the matching alias below and back.
 */
export interface Wrapper<T> {
  /** the wrapped value */
  value: T;
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** `google.protobuf.DoubleValue` */
export type DoubleValue = Wrapper<number>;
/** `google.protobuf.FloatValue` */
export type FloatValue = Wrapper<number>;
/** `google.protobuf.Int64Value` (int64 as bigint) */
export type Int64Value = Wrapper<bigint>;
/** `google.protobuf.UInt64Value` (uint64 as bigint) */
export type UInt64Value = Wrapper<bigint>;
/** `google.protobuf.Int32Value` */
export type Int32Value = Wrapper<number>;
/** `google.protobuf.UInt32Value` */
export type UInt32Value = Wrapper<number>;
/** `google.protobuf.BoolValue` */
export type BoolValue = Wrapper<boolean>;
/** `google.protobuf.StringValue` */
export type StringValue = Wrapper<string>;
/** `google.protobuf.BytesValue` */
export type BytesValue = Wrapper<Uint8Array>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** A `DoubleValue` holding `value` (any number, NaN and ±Infinity included). @throws TypeError when not a number */
export function wrapDouble(value: number): DoubleValue {
  if (typeof value !== "number") throw new TypeError(`wrapDouble: expected a number, got ${describe(value)}`);
  return { value };
}

/**
 * A `FloatValue` holding `value`. Values a 32-bit float rounds (like 0.1) are accepted as the
 * wire format rounds them; finite values beyond the float range are refused rather than turned into
 * ±Infinity.
 * @throws TypeError when not a number; RangeError when finite but beyond ±3.4028234663852886e38
 */
export function wrapFloat(value: number): FloatValue {
  if (typeof value !== "number") throw new TypeError(`wrapFloat: expected a number, got ${describe(value)}`);
  if (Number.isFinite(value) && !Number.isFinite(Math.fround(value))) {
    throw new RangeError(`wrapFloat: ${value} is beyond the range of a 32-bit float`);
  }
  return { value };
}

/** An `Int32Value` holding `value`. @throws TypeError when not an integer; RangeError outside [-2^31, 2^31-1] */
export function wrapInt32(value: number): Int32Value {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`wrapInt32: expected an integer, got ${describe(value)}`);
  }
  if (value < -2147483648 || value > 2147483647) throw new RangeError(`wrapInt32: ${value} is outside the int32 range [-2147483648, 2147483647]`);
  return { value };
}

/** A `UInt32Value` holding `value`. @throws TypeError when not an integer; RangeError outside [0, 2^32-1] */
export function wrapUInt32(value: number): UInt32Value {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`wrapUInt32: expected an integer, got ${describe(value)}`);
  }
  if (value < 0 || value > 4294967295) throw new RangeError(`wrapUInt32: ${value} is outside the uint32 range [0, 4294967295]`);
  return { value: value === 0 ? 0 : value };
}

/**
 * An `Int64Value` holding `value`; a number must be a safe integer (larger values cannot be
 * exact: pass a bigint).
 * @throws TypeError when not a bigint or safe integer; RangeError outside [-2^63, 2^63-1]
 */
export function wrapInt64(value: bigint | number): Int64Value {
  const v = toBigInt(value, "wrapInt64");
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`wrapInt64: ${v} is outside the int64 range [${INT64_MIN}, ${INT64_MAX}]`);
  return { value: v };
}

/**
 * A `UInt64Value` holding `value`; a number must be a safe integer.
 * @throws TypeError when not a bigint or safe integer; RangeError outside [0, 2^64-1]
 */
export function wrapUInt64(value: bigint | number): UInt64Value {
  const v = toBigInt(value, "wrapUInt64");
  if (v < 0n || v > UINT64_MAX) throw new RangeError(`wrapUInt64: ${v} is outside the uint64 range [0, ${UINT64_MAX}]`);
  return { value: v };
}

/** A `BoolValue` holding `value`. @throws TypeError when not a boolean */
export function wrapBool(value: boolean): BoolValue {
  if (typeof value !== "boolean") throw new TypeError(`wrapBool: expected a boolean, got ${describe(value)}`);
  return { value };
}

/** A `StringValue` holding `value`. @throws TypeError when not a string */
export function wrapString(value: string): StringValue {
  if (typeof value !== "string") throw new TypeError(`wrapString: expected a string, got ${describe(value)}`);
  return { value };
}

/** A `BytesValue` holding `value` (referenced, not copied). @throws TypeError when not a Uint8Array */
export function wrapBytes(value: Uint8Array): BytesValue {
  if (!(value instanceof Uint8Array)) throw new TypeError(`wrapBytes: expected a Uint8Array, got ${describe(value)}`);
  return { value };
}

/**
 * The value inside an optional wrapper field, or `undefined` when the field is not set
 * (a wrapper field's whole point: telling "absent" from the default value).
 */
export function unwrap<T>(wrapper: Wrapper<T> | undefined | null): T | undefined {
  return wrapper == null ? undefined : wrapper.value;
}

function toBigInt(value: bigint | number, fn: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new TypeError(`${fn}: expected a bigint or a safe integer, got ${describe(value)}`);
}
