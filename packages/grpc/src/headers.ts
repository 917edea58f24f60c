/**
 * The header side of the gRPC HTTP/2 protocol, shared by the client and the server: metadata to
 * and from HTTP/2 header fields, `grpc-timeout`, `grpc-message` percent-encoding and the HTTP
 * status mapping.
 */
import { Metadata, isReservedHeader } from "./metadata.js";
import { Status } from "./status.js";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes one base64 value (padded or not, standard or URL alphabet); undefined when malformed. */
function decodeBase64(s: string): Uint8Array | undefined {
  const v = s.trim();
  if (v.length % 4 === 1) return undefined;
  if (BASE64.test(v)) return Buffer.from(v, "base64");
  if (BASE64URL.test(v)) return Buffer.from(v, "base64url");
  return undefined;
}

/**
 * The application's metadata among received header fields, given as the flat
 * `[name, value, name, value, ...]` array node:http2 passes with 'stream', 'response' and
 * 'trailers' (rawHeaders). Pseudo-headers and the headers gRPC and HTTP/2 reserve are skipped;
 * the values of a `-bin` key are base64-decoded (padded or unpadded; several values may be joined
 * with commas in one field). A field that is not valid metadata (a malformed key, a value with
 * bytes outside printable ASCII, bad base64) is skipped, never thrown.
 */
export function metadataFromRawHeaders(raw: readonly string[]): Metadata {
  const md = new Metadata();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    if (isReservedHeader(key)) continue;
    const value = raw[i + 1]!;
    try {
      if (key.endsWith("-bin")) {
        for (const part of value.split(",")) {
          const bytes = decodeBase64(part);
          if (bytes !== undefined) md.add(key, bytes);
        }
      } else {
        md.add(key, value);
      }
    } catch {
      // not valid metadata: skipped
    }
  }
  return md;
}

/**
 * Adds `md` to an outgoing node:http2 header object: string values as they are, `-bin` values
 * base64-encoded without padding (as the protocol recommends); a key with several values becomes
 * an array (one header field per value).
 */
export function metadataToHeaders(md: Metadata, into: Record<string, string | string[]>): void {
  for (const key of md.keys()) {
    const values = md.getAll(key);
    const bin = key.endsWith("-bin");
    const out: string[] = [];
    for (const v of values) {
      if (bin) {
        const b = v as Uint8Array;
        out.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64").replace(/=+$/, ""));
      } else {
        out.push(v as string);
      }
    }
    const prev = into[key];
    if (prev === undefined) into[key] = out.length === 1 ? out[0]! : out;
    else into[key] = (Array.isArray(prev) ? prev : [prev]).concat(out);
  }
}

const MAX_TIMEOUT_VALUE = 99_999_999;
/** grpc-timeout units and their length in milliseconds, finest first */
const UNITS: readonly [string, number][] = [["n", 1e-6], ["u", 1e-3], ["m", 1], ["S", 1e3], ["M", 60e3], ["H", 3600e3]];
const UNIT_MS: Record<string, number> = Object.fromEntries(UNITS);

/**
 * `grpc-timeout` for `ms` milliseconds from now: at most 8 digits and a unit (H, M, S, m, u, n),
 * the finest unit that fits, rounded up. A timeout of 0 or less (the deadline has passed) becomes
 * "1n"; one longer than 99999999 hours is capped there. Throws a RangeError for NaN.
 */
export function encodeTimeout(ms: number): string {
  if (typeof ms !== "number" || Number.isNaN(ms)) throw new RangeError(`grpc-timeout: expected a number of milliseconds, got ${String(ms)}`);
  if (ms <= 0) return "1n";
  if (Number.isInteger(ms) && ms <= MAX_TIMEOUT_VALUE) return `${ms}m`;
  for (const [unit, len] of UNITS) {
    const v = Math.ceil(ms / len);
    if (v <= MAX_TIMEOUT_VALUE) return `${v}${unit}`;
  }
  return `${MAX_TIMEOUT_VALUE}H`;
}

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** Milliseconds of a `grpc-timeout` value; undefined when it is malformed. */
export function parseTimeout(value: string): number | undefined {
  const m = TIMEOUT.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

const PLAIN_MESSAGE = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * `grpc-message` of `s`: UTF-8, with every byte outside printable ASCII and every '%' written as
 * %XX, as the protocol requires.
 */
export function encodeGrpcMessage(s: string): string {
  if (PLAIN_MESSAGE.test(s)) return s;
  const bytes = Buffer.from(s, "utf8");
  let out = "";
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
  }
  return out;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * The text of a received `grpc-message`. Lenient, as the protocol asks: a '%' not followed by two
 * hex digits is kept as it is, and bytes that are not valid UTF-8 become U+FFFD.
 */
export function decodeGrpcMessage(s: string): string {
  if (!s.includes("%")) return s;
  const src = Buffer.from(s, "latin1");
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const hi = hexDigit(src[i + 1]!);
      const lo = hexDigit(src[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.toString("utf8", 0, n);
}

/**
 * The status of a response whose HTTP status is not 200 and that carries no grpc-status, as the
 * protocol maps them: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
 * 429, 502, 503 and 504 UNAVAILABLE, anything else UNKNOWN.
 */
export function statusFromHttp(httpStatus: number): Status {
  switch (httpStatus) {
    case 400: return Status.INTERNAL;
    case 401: return Status.UNAUTHENTICATED;
    case 403: return Status.PERMISSION_DENIED;
    case 404: return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return Status.UNAVAILABLE;
    default: return Status.UNKNOWN;
  }
}
