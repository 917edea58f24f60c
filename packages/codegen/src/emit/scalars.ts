import type { ScalarType } from "../model.js";

/**
 * What the generator needs per scalar type: the TypeScript type, the wire type, how to size,
 * write, read and check a value held in variable `v`, and the zero value.
 */
export interface ScalarInfo {
  ts: string;
  wireType: number;
  /** expression: encoded size of `v` (without tag); strings and bytes include the length prefix */
  size: (v: string) => string;
  /** statement writing `v` with encoder `e`; `p`, the field's path expression, for errors */
  write: (v: string, p?: string) => string;
  /** expression reading one value with reader `r`; `validate` for strings */
  read: (validate: boolean) => string;
  /** condition that is true when `v` is NOT a valid value of this type */
  invalid: (v: string) => string;
  /** what `invalid` expects, for the error message */
  expected: string;
  /** condition that is true when `v` differs from the zero value (implicit presence writes it) */
  nonDefault: (v: string) => string;
  zero: string;
  /** fixed encoded width in bytes, for packed sizing without a loop */
  fixedWidth?: number;
  /** a check that also normalises (64-bit: range), as a statement; replaces invalid() */
  check64?: "checkInt64" | "checkUint64";
}

const num = (v: string) => `${v} !== 0 || 1 / ${v} < 0`; // -0 has bits set: written, as protoc does

export const SCALARS: Record<ScalarType, ScalarInfo> = {
  double: { ts: "number", wireType: 1, size: () => "8", write: (v) => `e.double(${v});`, read: () => "r.double()", invalid: (v) => `typeof ${v} !== "number"`, expected: "a number", nonDefault: num, zero: "0", fixedWidth: 8 },
  float: { ts: "number", wireType: 5, size: () => "4", write: (v) => `e.float(${v});`, read: () => "r.float()", invalid: (v) => `typeof ${v} !== "number"`, expected: "a number", nonDefault: num, zero: "0", fixedWidth: 4 },
  int32: { ts: "number", wireType: 0, size: (v) => `(${v} < 0 ? 10 : varint32Size(${v}))`, write: (v) => `e.int32(${v});`, read: () => "r.int32()", invalid: (v) => `typeof ${v} !== "number" || (${v} | 0) !== ${v}`, expected: "an int32 number", nonDefault: (v) => `${v} !== 0`, zero: "0" },
  uint32: { ts: "number", wireType: 0, size: (v) => `varint32Size(${v})`, write: (v) => `e.uint32(${v});`, read: () => "r.uint32()", invalid: (v) => `typeof ${v} !== "number" || ${v} >>> 0 !== ${v}`, expected: "a uint32 number", nonDefault: (v) => `${v} !== 0`, zero: "0" },
  sint32: { ts: "number", wireType: 0, size: (v) => `varint32Size((${v} << 1) ^ (${v} >> 31))`, write: (v) => `e.sint32(${v});`, read: () => "r.sint32()", invalid: (v) => `typeof ${v} !== "number" || (${v} | 0) !== ${v}`, expected: "an int32 number", nonDefault: (v) => `${v} !== 0`, zero: "0" },
  fixed32: { ts: "number", wireType: 5, size: () => "4", write: (v) => `e.fixed32(${v});`, read: () => "r.fixed32()", invalid: (v) => `typeof ${v} !== "number" || ${v} >>> 0 !== ${v}`, expected: "a uint32 number", nonDefault: (v) => `${v} !== 0`, zero: "0", fixedWidth: 4 },
  sfixed32: { ts: "number", wireType: 5, size: () => "4", write: (v) => `e.fixed32(${v});`, read: () => "r.sfixed32()", invalid: (v) => `typeof ${v} !== "number" || (${v} | 0) !== ${v}`, expected: "an int32 number", nonDefault: (v) => `${v} !== 0`, zero: "0", fixedWidth: 4 },
  int64: { ts: "bigint", wireType: 0, size: (v) => `int64Size(${v})`, write: (v) => `e.int64(${v});`, read: () => "r.int64()", invalid: () => "false", expected: "", nonDefault: (v) => `${v} !== 0n`, zero: "0n", check64: "checkInt64" },
  uint64: { ts: "bigint", wireType: 0, size: (v) => `int64Size(${v})`, write: (v) => `e.int64(${v});`, read: () => "r.uint64()", invalid: () => "false", expected: "", nonDefault: (v) => `${v} !== 0n`, zero: "0n", check64: "checkUint64" },
  sint64: { ts: "bigint", wireType: 0, size: (v) => `sint64Size(${v})`, write: (v) => `e.sint64(${v});`, read: () => "r.sint64()", invalid: () => "false", expected: "", nonDefault: (v) => `${v} !== 0n`, zero: "0n", check64: "checkInt64" },
  fixed64: { ts: "bigint", wireType: 1, size: () => "8", write: (v) => `e.fixed64(${v});`, read: () => "r.fixed64()", invalid: () => "false", expected: "", nonDefault: (v) => `${v} !== 0n`, zero: "0n", fixedWidth: 8, check64: "checkUint64" },
  sfixed64: { ts: "bigint", wireType: 1, size: () => "8", write: (v) => `e.fixed64(${v});`, read: () => "r.sfixed64()", invalid: () => "false", expected: "", nonDefault: (v) => `${v} !== 0n`, zero: "0n", fixedWidth: 8, check64: "checkInt64" },
  bool: { ts: "boolean", wireType: 0, size: () => "1", write: (v) => `e.bool(${v});`, read: () => "r.bool()", invalid: (v) => `typeof ${v} !== "boolean"`, expected: "a boolean", nonDefault: (v) => v, zero: "false", fixedWidth: 1 },
  string: { ts: "string", wireType: 2, size: (v) => `e.sizeString(${v})`, write: (v, p) => `if (e.string(${v})) e.changed(${p ?? '""'});`, read: (val) => `r.string(${val})`, invalid: (v) => `typeof ${v} !== "string"`, expected: "a string", nonDefault: (v) => `${v}.length !== 0`, zero: '""' },
  bytes: { ts: "Uint8Array", wireType: 2, size: (v) => `e.sizeBytes(${v})`, write: (v) => `e.bytes(${v});`, read: () => "r.bytes()", invalid: (v) => `!(${v} instanceof Uint8Array) || badBytes(${v})`, expected: "a Uint8Array (not detached, at most 2 GiB - 1 bytes)", nonDefault: (v) => `${v}.length !== 0`, zero: "EMPTY_BYTES" },
};
