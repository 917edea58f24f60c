import { EncodeError, describeValue } from "../wire/errors.js";

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

/** Parses a map key (object keys are strings) of an integer type; throws if it is not one. */
export function mapKeyInt32(k: string, path: string, unsigned: boolean): number {
  const n = Number(k);
  const ok = unsigned ? n >>> 0 === n : (n | 0) === n;
  if (k === "" || !ok) badValue(`${path}["${k}"]`, unsigned ? "a uint32 map key" : "an int32 map key", k);
  return n;
}

export function mapKeyInt64(k: string, path: string, unsigned: boolean): bigint {
  let v: bigint;
  try {
    v = BigInt(k);
  } catch {
    return badValue(`${path}["${k}"]`, "an integer map key", k);
  }
  return unsigned ? checkUint64(v, `${path}["${k}"]`) : checkInt64(v, `${path}["${k}"]`);
}

export function mapKeyBool(k: string, path: string): boolean {
  if (k === "true") return true;
  if (k === "false") return false;
  return badValue(`${path}["${k}"]`, 'a bool map key ("true" or "false")', k);
}
