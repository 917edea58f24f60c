// RFC 3339 text of google.protobuf.Timestamp and the "1.5s" text of google.protobuf.Duration.

import { DURATION_MAX_SECONDS } from "../wkt/duration.js";
import { TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS } from "../wkt/timestamp.js";

/** Days since 1970-01-01 of a proleptic Gregorian date (any year, month 1-12). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The date of a day count since 1970-01-01. */
function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** 0, 3, 6 or 9 fractional digits (with the dot), as protobuf prints them. */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  if (nanos % 1_000_000 === 0) return "." + pad(nanos / 1_000_000, 3);
  if (nanos % 1000 === 0) return "." + pad(nanos / 1000, 6);
  return "." + pad(nanos, 9);
}

/** RFC 3339 text (UTC, "Z") of a valid Timestamp. */
export function formatTimestamp(seconds: bigint, nanos: number): string {
  const s = Number(seconds);
  const days = Math.floor(s / 86400);
  const rest = s - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(Math.floor(rest / 3600), 2)}:${pad(Math.floor(rest / 60) % 60, 2)}:${pad(rest % 60, 2)}${fraction(nanos)}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** Seconds and nanos of RFC 3339 text, or a string saying what is wrong. */
export function parseTimestamp(text: string): { seconds: bigint; nanos: number } | string {
  const m = RFC3339.exec(text);
  if (m === null) return `${JSON.stringify(text.length > 40 ? text.slice(0, 40) + "..." : text)} is not an RFC 3339 timestamp like "1972-01-01T10:00:20.021Z"`;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12) return `month ${mo} is not in 1-12`;
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  if (d < 1 || d > dim) return `day ${d} is not in month ${mo} of ${y}`;
  if (h > 23 || mi > 59 || s > 59) return `time ${m[4]}:${m[5]}:${m[6]} is not valid`;
  let secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return `offset ${m[9]}${m[10]}:${m[11]} is not valid`;
    const off = oh * 3600 + om * 60;
    secs += m[9] === "+" ? -off : off;
  }
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, "0"));
  const seconds = BigInt(secs);
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS) {
    return `${JSON.stringify(text)} is outside the Timestamp range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z`;
  }
  return { seconds, nanos };
}

/** "1.5s" text of a valid Duration. */
export function formatDuration(seconds: bigint, nanos: number): string {
  const neg = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${neg ? "-" : ""}${abs}${fraction(Math.abs(nanos))}s`;
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Seconds and nanos of Duration text ("-1.5s"), or a string saying what is wrong. */
export function parseDuration(text: string): { seconds: bigint; nanos: number } | string {
  const m = DURATION.exec(text);
  if (m === null) return `${JSON.stringify(text.length > 40 ? text.slice(0, 40) + "..." : text)} is not a duration like "1.5s" or "-0.000000001s"`;
  const digits = m[2]!.replace(/^0+(?=\d)/, "");
  // a seconds count longer than the maximum's 12 digits is out of range without converting it
  let seconds = digits.length > 13 ? DURATION_MAX_SECONDS + 1n : BigInt(digits);
  if (seconds > DURATION_MAX_SECONDS) return `${JSON.stringify(text.length > 40 ? text.slice(0, 40) + "..." : text)} is outside the Duration range of ±${DURATION_MAX_SECONDS}s`;
  let nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, "0"));
  if (m[1] === "-") {
    seconds = -seconds;
    nanos = nanos === 0 ? 0 : -nanos;
  }
  return { seconds, nanos };
}
