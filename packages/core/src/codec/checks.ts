import { EncodeError, describeValue } from "../wire/errors.js";
import { Reader } from "../wire/reader.js";
import { EMPTY_BYTES } from "../wire/varint.js";
import type { Encoder } from "./encoder.js";

/**
 * Type and range checks used by generated size functions. They run once per field per encode and
 * throw an EncodeError naming the field, so a wrong value never turns into silently wrong bytes.
 */

export function badValue(path: string, expected: string, v: unknown): never {
  throw new EncodeError(`expected ${expected}, got ${describeValue(v)}`, path);
}

export function missingRequired(path: string): never {
  throw new EncodeError("required field is not set", path);
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

export function checkInt64(v: unknown, path: string): bigint {
  if (typeof v !== "bigint" || v < I64_MIN || v > I64_MAX) badValue(path, "a bigint in the int64 range", v);
  return v;
}

export function checkUint64(v: unknown, path: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > U64_MAX) badValue(path, "a bigint in the uint64 range", v);
  return v;
}

/** Largest message, string or bytes field protobuf can encode: lengths are int32 (2 GiB - 1). */
export const MAX_LENGTH = 0x7fffffff;

/** An integer map key as decoding writes it: decimal, no sign on zero, no leading zeros or spaces. */
const DECIMAL = /^(?:0|-?[1-9][0-9]*)$/;

/** Parses a map key (object keys are strings) of an integer type; throws if it is not one. */
export function mapKeyInt32(k: string, path: string, unsigned: boolean): number {
  const n = Number(k);
  const ok = DECIMAL.test(k) && (unsigned ? n >>> 0 === n : (n | 0) === n);
  if (!ok) badValue(`${path}[${JSON.stringify(k)}]`, unsigned ? "a uint32 map key in decimal" : "an int32 map key in decimal", k);
  return n;
}

export function mapKeyInt64(k: string, path: string, unsigned: boolean): bigint {
  const p = `${path}[${JSON.stringify(k)}]`;
  if (!DECIMAL.test(k)) badValue(p, unsigned ? "a uint64 map key in decimal" : "an int64 map key in decimal", k);
  const v = BigInt(k);
  return unsigned ? checkUint64(v, p) : checkInt64(v, p);
}

/**
 * Checks the value of a map field: a plain object whose own enumerable keys are the map's keys.
 * A JS Map, an array or a typed array would encode as an empty map (their entries are not own
 * properties), so they are refused.
 */
export function checkMapObject(o: unknown, path: string): void {
  if (typeof o !== "object" || o === null || Array.isArray(o) || o instanceof Map || o instanceof Set || ArrayBuffer.isView(o)) {
    badValue(path, "a plain object (map field: { [key: string]: value })", o instanceof Map ? "Map" : o);
  }
}

/** Checks the value of a oneof: undefined, or an object { case, value }. */
export function checkOneof(o: unknown, path: string): void {
  if (typeof o !== "object" || o === null || Array.isArray(o) || ArrayBuffer.isView(o)) {
    badValue(path, 'a oneof object ({ case: "field", value } or { case: undefined })', o);
  }
}

/**
 * True when `b` cannot be encoded as a bytes field: a detached buffer (it reads as empty, which
 * would silently drop the value) or more than protobuf's 2 GiB - 1.
 */
export function badBytes(b: Uint8Array): boolean {
  const n = b.length;
  // EMPTY_BYTES (what decoding gives for an empty value) is empty whatever happened to it
  if (n === 0) return b !== EMPTY_BYTES && isDetached(b);
  return n > MAX_LENGTH;
}

function isDetached(b: Uint8Array): boolean {
  const buf = b.buffer as ArrayBuffer & { detached?: boolean };
  if (typeof buf.detached === "boolean") return buf.detached;
  if (buf.byteLength !== 0) return false;
  try {
    // constructing a view of a detached buffer throws; of an empty one it does not
    new Uint8Array(buf);
    return false;
  } catch {
    return true;
  }
}

/**
 * Size of preserved unknown fields (`$unknown`), after checking them: an array of Uint8Arrays,
 * each one or more complete fields (tag and value, groups closed), as decoding keeps them. Bytes
 * that do not parse would make the output undecodable, so they are refused.
 */
export function sizeUnknown(u: unknown, e: Encoder): number {
  if (!Array.isArray(u)) badValue("$unknown", "an array of Uint8Array (raw unknown fields)", u);
  let s = 0;
  for (let k = 0; k < u.length; k++) {
    const b: unknown = u[k];
    if (!(b instanceof Uint8Array) || badBytes(b)) badValue(`$unknown[${k}]`, "a Uint8Array of raw fields", b);
    const r = new Reader(b);
    try {
      while (r.pos < b.length) r.skip(r.tag());
    } catch (err) {
      throw new EncodeError(`not well-formed protobuf fields (${err instanceof Error ? err.message : String(err)})`, `$unknown[${k}]`);
    }
    s += e.sizeRaw(b);
  }
  return s;
}

/**
 * `$extensions` on a message whose type declares no extension ranges (setExtension called with an
 * extension of another type the message happened to be assignable to): its encoder has nowhere to
 * write them, and dropping them would lose data silently.
 */
export function noExtensionRanges(typeName: string): never {
  throw new EncodeError(`${typeName} declares no extension ranges, so the extensions set on this message cannot be written (setExtension with an extension of another message type?)`, "$extensions");
}

/** A nested message or map entry measured past protobuf's 2 GiB limit. */
export function tooLarge(path: string, n: number): never {
  throw new EncodeError(`encodes to ${n} bytes, past protobuf's limit of ${MAX_LENGTH} (2 GiB - 1)`, path);
}

export function mapKeyBool(k: string, path: string): boolean {
  if (k === "true") return true;
  if (k === "false") return false;
  return badValue(`${path}["${k}"]`, 'a bool map key ("true" or "false")', k);
}
