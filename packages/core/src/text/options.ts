import type { Registry } from "../reflect/registry.js";

/** Default nesting limit of text-format conversion, as the binary decoder's `maxDepth`. */
export const DEFAULT_TEXT_DEPTH = 100;

/** Options of fromText. */
export interface TextReadOptions {
  /**
   * Types an expanded `google.protobuf.Any` (`[type.googleapis.com/pkg.Msg] { ... }`) may name,
   * and extensions `[pkg.ext]` beyond those whose generated modules are loaded (createRegistry).
   */
  registry?: Registry;
  /**
   * Skip fields the message does not have (by name, or extensions not known) with their values,
   * instead of failing (protobuf C++'s `AllowUnknownField`). Default false.
   */
  ignoreUnknownFields?: boolean;
  /** The deepest message nesting accepted (the root is 0). Default 100. */
  maxDepth?: number;
}

/** Options of toText. */
export interface TextWriteOptions {
  /** Print on one line, fields separated by spaces (protobuf C++'s ShortDebugString). Default false. */
  singleLine?: boolean;
  /**
   * Print unknown fields (`$unknown`) by number, as protobuf C++ does: varints as unsigned
   * decimals, fixed32/fixed64 as `0x` hex, length-delimited as a nested message when the bytes
   * parse as one, else as a string; groups as nested messages. Default false (they are dropped).
   */
  printUnknownFields?: boolean;
  /**
   * Types a `google.protobuf.Any` may hold: an Any whose type is here is printed expanded
   * (`[type.googleapis.com/pkg.Msg] { ... }`), any other with its `type_url` and `value` fields.
   * Also extensions beyond those whose generated modules are loaded.
   */
  registry?: Registry;
  /**
   * Print the characters of string fields past ASCII as they are (protobuf C++'s
   * `SetUseUtf8StringEscaping(true)`, what DebugString does). Default false: their UTF-8 bytes are
   * octal escapes, as TextFormat::Print writes them (pure ASCII output).
   */
  utf8Strings?: boolean;
  /** The deepest message nesting printed (the root is 0). Default 100. */
  maxDepth?: number;
}

export function checkDepth(v: number | undefined, fn: string): number {
  if (v === undefined) return DEFAULT_TEXT_DEPTH;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${fn}: options.maxDepth must be a non-negative integer, got ${String(v)}`);
  return v;
}
