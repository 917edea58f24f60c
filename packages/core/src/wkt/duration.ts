/**
 * Helpers for `google.protobuf.Duration`: conversion to and from milliseconds, seconds and
 * nanoseconds, with the sign and range rules of the protobuf specification.
 */

import { describe, nanosToMs } from "./util.js";

/**
 * The shape of generated `google.protobuf.Duration` messages (`sgwire compile` output for
 * google/protobuf/duration.proto): a signed span of time as whole seconds plus nanoseconds of the
 * same sign. Generated `Duration` objects are assignable to this type and back.
 */
export interface Duration {
  /** whole seconds; in [-315576000000, 315576000000] (about ±10000 years) */
  seconds: bigint;
  /** fraction of a second in nanoseconds, same sign as `seconds` (or either sign when seconds is 0); |nanos| <= 999999999 */
  nanos: number;
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** The largest |seconds| of a valid Duration (10000 years of 365.25 days). */
export const DURATION_MAX_SECONDS = 315576000000n;

const NANOS_PER_SECOND = 1_000_000_000;

/**
 * Throws unless `d` is a valid Duration: `seconds` a bigint with |seconds| <=
 * {@link DURATION_MAX_SECONDS}, `nanos` an integer with |nanos| <= 999999999, and the two not of
 * opposite signs. `name` is used in the error message.
 * @throws TypeError when a field has the wrong type; RangeError when a field is out of range or the signs differ
 */
export function validateDuration(d: Duration, name = "duration"): void {
  if (d === null || typeof d !== "object") {
    throw new TypeError(`${name}: expected a google.protobuf.Duration object, got ${describe(d)}`);
  }
  if (typeof d.seconds !== "bigint") {
    throw new TypeError(`${name}.seconds: expected a bigint, got ${describe(d.seconds)}`);
  }
  if (typeof d.nanos !== "number" || !Number.isInteger(d.nanos)) {
    throw new TypeError(`${name}.nanos: expected an integer, got ${describe(d.nanos)}`);
  }
  if (d.seconds < -DURATION_MAX_SECONDS || d.seconds > DURATION_MAX_SECONDS) {
    throw new RangeError(
      `${name}.seconds ${d.seconds} is outside the Duration range [-${DURATION_MAX_SECONDS}, ${DURATION_MAX_SECONDS}]`,
    );
  }
  if (d.nanos <= -NANOS_PER_SECOND || d.nanos >= NANOS_PER_SECOND) {
    throw new RangeError(`${name}.nanos ${d.nanos} is outside [-999999999, 999999999]`);
  }
  if ((d.seconds > 0n && d.nanos < 0) || (d.seconds < 0n && d.nanos > 0)) {
    throw new RangeError(`${name}: seconds ${d.seconds} and nanos ${d.nanos} have opposite signs`);
  }
}

function checked(seconds: bigint, nanos: number, what: string): Duration {
  if (seconds < -DURATION_MAX_SECONDS || seconds > DURATION_MAX_SECONDS) {
    throw new RangeError(`${what} is outside the Duration range of ±${DURATION_MAX_SECONDS} seconds`);
  }
  // normalise -0 to 0 so that equal durations are deepEqual
  return { seconds, nanos: nanos === 0 ? 0 : nanos };
}

/**
 * The Duration of `ms` milliseconds (negative for negative spans). A fractional part is kept as
 * nanoseconds, rounded to the nearest nanosecond the double holds.
 * @throws TypeError when `ms` is not a finite number; RangeError when |ms| exceeds the Duration range
 */
export function durationFromMs(ms: number): Duration {
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new TypeError(`durationFromMs: expected a finite number of milliseconds, got ${describe(ms)}`);
  }
  return fromParts(Math.trunc(ms / 1000), ms, 1000, 1_000_000, `durationFromMs: ${ms} ms`);
}

/**
 * The Duration of `s` seconds (negative for negative spans). A fractional part is kept as
 * nanoseconds, rounded to the nearest nanosecond the double holds.
 * @throws TypeError when `s` is not a finite number; RangeError when |s| exceeds the Duration range
 */
export function durationFromSeconds(s: number): Duration {
  if (typeof s !== "number" || !Number.isFinite(s)) {
    throw new TypeError(`durationFromSeconds: expected a finite number of seconds, got ${describe(s)}`);
  }
  return fromParts(Math.trunc(s), s, 1, NANOS_PER_SECOND, `durationFromSeconds: ${s} s`);
}

/** whole seconds `sec` of `amount` (in units of 1/perSecond s), the rest in nanos of the same sign */
function fromParts(sec: number, amount: number, perSecond: number, nanosPerUnit: number, what: string): Duration {
  const rest = (amount - sec * perSecond) * nanosPerUnit;
  // round half away from zero, so that -x is the negation of x
  let nanos = rest < 0 ? -Math.round(-rest) : Math.round(rest);
  if (nanos >= NANOS_PER_SECOND) {
    sec += 1;
    nanos -= NANOS_PER_SECOND;
  } else if (nanos <= -NANOS_PER_SECOND) {
    sec -= 1;
    nanos += NANOS_PER_SECOND;
  }
  return checked(BigInt(sec), nanos, what);
}

/**
 * Milliseconds of `d`, with the nanoseconds as a fraction (1 s + 500 ns is 1000.0005; -1.5 ms is
 * -1.5). Exact for whole milliseconds; sub-millisecond digits are as precise as a double allows.
 * @throws TypeError / RangeError when `d` is not a valid Duration
 */
export function durationToMs(d: Duration): number {
  validateDuration(d);
  return nanosToMs(d.seconds * BigInt(NANOS_PER_SECOND) + BigInt(d.nanos));
}

/**
 * Seconds of `d` as a number, with the nanoseconds as a fraction (as precise as a double allows).
 * @throws TypeError / RangeError when `d` is not a valid Duration
 */
export function durationToSeconds(d: Duration): number {
  validateDuration(d);
  return Number(d.seconds) + d.nanos / NANOS_PER_SECOND;
}

/**
 * The Duration of `nanos` nanoseconds, exactly (for example the difference of two
 * `process.hrtime.bigint()` readings).
 * @throws TypeError when `nanos` is not a bigint; RangeError when it exceeds the Duration range
 */
export function durationFromNanos(nanos: bigint): Duration {
  if (typeof nanos !== "bigint") {
    throw new TypeError(`durationFromNanos: expected a bigint, got ${describe(nanos)}`);
  }
  const n = BigInt(NANOS_PER_SECOND);
  // BigInt division truncates toward zero: seconds and rest have the sign of nanos
  return checked(nanos / n, Number(nanos % n), `durationFromNanos: ${nanos} ns`);
}

/**
 * Nanoseconds of `d`, exactly, as a bigint.
 * @throws TypeError / RangeError when `d` is not a valid Duration
 */
export function durationToNanos(d: Duration): bigint {
  validateDuration(d);
  return d.seconds * BigInt(NANOS_PER_SECOND) + BigInt(d.nanos);
}
