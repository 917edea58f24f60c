/**
 * Helpers for `google.protobuf.Timestamp`: conversion to and from `Date`, epoch milliseconds
 * and epoch nanoseconds, with the validity rules of the protobuf specification.
 */

import { describe, nanosToMs } from "./util.js";

/**
 * The shape of generated `google.protobuf.Timestamp` messages (`sgwire compile` output for
 * google/protobuf/timestamp.proto): a point in time as whole seconds since the Unix epoch plus
 * a non-negative nanosecond fraction. Generated `Timestamp` objects are assignable to this type and
 * back.
 */
export interface Timestamp {
  /** whole seconds since 1970-01-01T00:00:00Z; in [-62135596800, 253402300799] */
  seconds: bigint;
  /** non-negative fraction of a second in nanoseconds; in [0, 999999999] */
  nanos: number;
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** Seconds of 0001-01-01T00:00:00Z, the earliest valid Timestamp. */
export const TIMESTAMP_MIN_SECONDS = -62135596800n;
/** Seconds of 9999-12-31T23:59:59Z, the latest valid Timestamp (with nanos up to 999999999). */
export const TIMESTAMP_MAX_SECONDS = 253402300799n;

const NANOS_PER_SECOND = 1_000_000_000;

/**
 * Throws unless `ts` is a valid Timestamp: `seconds` a bigint in
 * [{@link TIMESTAMP_MIN_SECONDS}, {@link TIMESTAMP_MAX_SECONDS}] and `nanos` an integer in
 * [0, 999999999]. `name` is used in the error message.
 * @throws TypeError when a field has the wrong type; RangeError when a field is out of range
 */
export function validateTimestamp(ts: Timestamp, name = "timestamp"): void {
  if (ts === null || typeof ts !== "object") {
    throw new TypeError(`${name}: expected a google.protobuf.Timestamp object, got ${describe(ts)}`);
  }
  if (typeof ts.seconds !== "bigint") {
    throw new TypeError(`${name}.seconds: expected a bigint, got ${describe(ts.seconds)}`);
  }
  if (typeof ts.nanos !== "number" || !Number.isInteger(ts.nanos)) {
    throw new TypeError(`${name}.nanos: expected an integer, got ${describe(ts.nanos)}`);
  }
  if (ts.seconds < TIMESTAMP_MIN_SECONDS || ts.seconds > TIMESTAMP_MAX_SECONDS) {
    throw new RangeError(
      `${name}.seconds ${ts.seconds} is outside the Timestamp range [${TIMESTAMP_MIN_SECONDS}, ${TIMESTAMP_MAX_SECONDS}] (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)`,
    );
  }
  if (ts.nanos < 0 || ts.nanos >= NANOS_PER_SECOND) {
    throw new RangeError(`${name}.nanos ${ts.nanos} is outside [0, 999999999]`);
  }
}

/**
 * The Timestamp of epoch milliseconds `ms`. A fractional part is kept as nanoseconds (rounded to
 * the nearest nanosecond the double holds); times before 1970 get negative `seconds` and
 * non-negative `nanos` (-1.5 ms is seconds -1, nanos 998500000).
 * @throws TypeError when `ms` is not a finite number; RangeError when it is outside years 1 to 9999
 */
export function timestampFromMs(ms: number): Timestamp {
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new TypeError(`timestampFromMs: expected a finite number of milliseconds, got ${describe(ms)}`);
  }
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  if (nanos >= NANOS_PER_SECOND) {
    seconds += 1;
    nanos -= NANOS_PER_SECOND;
  } else if (nanos < 0) {
    seconds -= 1;
    nanos += NANOS_PER_SECOND;
  }
  const ts: Timestamp = { seconds: BigInt(seconds), nanos };
  if (ts.seconds < TIMESTAMP_MIN_SECONDS || ts.seconds > TIMESTAMP_MAX_SECONDS) {
    throw new RangeError(
      `timestampFromMs: ${ms} ms is outside the Timestamp range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z`,
    );
  }
  return ts;
}

/**
 * Epoch milliseconds of `ts`, with the nanoseconds as a fraction (1 s + 500 ns is 1000.0005).
 * Exact for whole milliseconds; sub-millisecond digits are as precise as a double allows.
 * Use `Math.floor` on the result for whole milliseconds.
 * @throws TypeError / RangeError when `ts` is not a valid Timestamp
 */
export function timestampToMs(ts: Timestamp): number {
  validateTimestamp(ts);
  return nanosToMs(ts.seconds * BigInt(NANOS_PER_SECOND) + BigInt(ts.nanos));
}

/**
 * The Timestamp of `date` (millisecond precision, which is all a `Date` holds).
 * @throws TypeError when `date` is not a Date or is an invalid Date; RangeError when it is outside
 * years 1 to 9999
 */
export function timestampFromDate(date: Date): Timestamp {
  if (!(date instanceof Date)) {
    throw new TypeError(`timestampFromDate: expected a Date, got ${describe(date)}`);
  }
  const ms = date.getTime();
  if (Number.isNaN(ms)) {
    throw new TypeError("timestampFromDate: the Date is invalid (its time value is NaN)");
  }
  return timestampFromMs(ms);
}

/**
 * The `Date` of `ts`. A `Date` holds whole milliseconds, so sub-millisecond nanos are rounded
 * down (toward the past, also before 1970) to the millisecond containing the instant.
 * @throws TypeError / RangeError when `ts` is not a valid Timestamp
 */
export function timestampToDate(ts: Timestamp): Date {
  validateTimestamp(ts);
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000));
}

/**
 * The Timestamp of `nanos` nanoseconds since the epoch, exactly (for example from
 * `process.hrtime.bigint()` offset to the epoch).
 * @throws TypeError when `nanos` is not a bigint; RangeError when it is outside years 1 to 9999
 */
export function timestampFromNanos(nanos: bigint): Timestamp {
  if (typeof nanos !== "bigint") {
    throw new TypeError(`timestampFromNanos: expected a bigint, got ${describe(nanos)}`);
  }
  const n = BigInt(NANOS_PER_SECOND);
  let seconds = nanos / n;
  let rest = nanos % n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += n;
  }
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS) {
    throw new RangeError(
      `timestampFromNanos: ${nanos} ns is outside the Timestamp range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z`,
    );
  }
  return { seconds, nanos: Number(rest) };
}

/**
 * Nanoseconds since the epoch of `ts`, exactly, as a bigint.
 * @throws TypeError / RangeError when `ts` is not a valid Timestamp
 */
export function timestampToNanos(ts: Timestamp): bigint {
  validateTimestamp(ts);
  return ts.seconds * BigInt(NANOS_PER_SECOND) + BigInt(ts.nanos);
}

/** The current time as a Timestamp (millisecond precision, from `Date.now()`). */
export function timestampNow(): Timestamp {
  return timestampFromMs(Date.now());
}
