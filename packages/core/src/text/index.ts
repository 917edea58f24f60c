/**
 * The protobuf text format (https://protobuf.dev/reference/protobuf/textformat-spec/) for any
 * generated message, driven by reflection. See the "Text format" section of the package README.
 */

import type { MessageType } from "../codec/message.js";
import { shortName } from "../json/names.js";
import { TextFormatError } from "./error.js";
import { Lexer } from "./lexer.js";
import { readContext, readMessage } from "./read.js";
import { Printer, printMessage } from "./write.js";
import type { TextReadOptions, TextWriteOptions } from "./options.js";

export { TextFormatError } from "./error.js";
export { DEFAULT_TEXT_DEPTH, type TextReadOptions, type TextWriteOptions } from "./options.js";

function checkType(type: unknown, fn: string): void {
  if (type === null || typeof type !== "object" || typeof (type as { typeName?: unknown }).typeName !== "string") {
    throw new TypeError(`${fn}: expected a generated message type, got ${type === null ? "null" : typeof type}`);
  }
}

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack size/i.test(err.message);
}

/**
 * `msg` in the text format, laid out as protobuf C++'s TextFormat prints it: fields by .proto
 * name in field-number order (extensions among them as `[pkg.ext]`, groups by their type name),
 * one per line, nested messages in `{ }` indented by two spaces; fields without presence left out
 * at their default; enums by name (an unknown number as a number); strings and bytes with C
 * escapes; map entries sorted by key; unknown fields only with `printUnknownFields`.
 * @throws TextFormatError naming the path of a field holding the wrong type, or nesting past maxDepth
 */
export function toText<T>(type: MessageType<T>, msg: T, options?: TextWriteOptions): string {
  checkType(type, "toText");
  const p = new Printer(options, "toText");
  try {
    printMessage(type, msg, p, shortName(type.typeName), 0);
  } catch (err) {
    if (isStackOverflow(err)) throw new TextFormatError("nesting too deep for the JavaScript stack (lower maxDepth)", shortName(type.typeName), 0, 0);
    throw err;
  }
  return p.out;
}

/**
 * The message of `type` that `text` describes, in the text format: fields by .proto name (a
 * group also by its type name), `[pkg.ext]` extensions, `[type.googleapis.com/pkg.Msg] { }` in an
 * Any (through `options.registry`), `:` optional before a message, `{ }` or `< >`, repeated fields
 * given repeatedly or as `[a, b]`, map entries as `{ key: .. value: .. }`, `,` or `;` after a
 * field, `#` comments; numbers in decimal, hex and octal, `inf`/`nan`, float suffixes.
 * @throws TextFormatError naming the line, column and field path: a syntax error, an unknown field
 * (unless `ignoreUnknownFields`), a non-repeated field or oneof given twice, a number out of range,
 * an unknown enum name or closed-enum number, invalid UTF-8 in a string field, nesting past maxDepth
 */
export function fromText<T>(type: MessageType<T>, text: string, options?: TextReadOptions): T {
  checkType(type, "fromText");
  const root = shortName(type.typeName);
  if (typeof text !== "string") throw new TextFormatError(`expected text (a string), got ${text === null ? "null" : typeof text}`, root, 0, 0);
  const lx = new Lexer(text, root);
  const c = readContext(lx, options, "fromText");
  try {
    return readMessage(type, c, root, 0, undefined) as T;
  } catch (err) {
    if (isStackOverflow(err)) throw new TextFormatError("nesting too deep for the JavaScript stack (lower maxDepth)", root, lx.peek.line, lx.peek.col);
    throw err;
  }
}
