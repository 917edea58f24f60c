/**
 * ProtoJSON: the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) for any
 * generated message, driven by reflection. See the "ProtoJSON" section of the package README.
 */

import type { MessageType } from "../codec/message.js";
import type { JsonValue } from "../wkt/struct.js";
import { JsonError } from "./error.js";
import { shortName } from "./names.js";
import { readContext, messageFromJson } from "./read.js";
import { parseJsonText } from "./text.js";
import { messageToJson, writeContext } from "./write.js";
import type { JsonReadOptions, JsonWriteOptions, JsonWriteStringOptions } from "./options.js";

export { JsonError } from "./error.js";
export { DEFAULT_JSON_DEPTH, type JsonReadOptions, type JsonWriteOptions, type JsonWriteStringOptions } from "./options.js";
export { base64Encode, base64Decode } from "./base64.js";

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack size/i.test(err.message);
}

function checkType(type: unknown, fn: string): void {
  if (type === null || typeof type !== "object" || typeof (type as { typeName?: unknown }).typeName !== "string") {
    throw new TypeError(`${fn}: expected a generated message type, got ${type === null ? "null" : typeof type}`);
  }
}

function guarded<R>(typeName: string, run: () => R): R {
  try {
    return run();
  } catch (err) {
    // only with a maxDepth raised past what the JavaScript stack holds
    if (isStackOverflow(err)) throw new JsonError(`nesting too deep for the JavaScript stack (lower maxDepth)`, shortName(typeName));
    throw err;
  }
}

/**
 * The ProtoJSON value of `msg` (plain objects, arrays, strings, numbers, booleans, null): JSON
 * names as keys, 64-bit integers as decimal strings, bytes as base64, enums by name, the
 * well-known types in their special forms. Fields without presence are left out at their default
 * (see `emitDefaultValues`); unknown fields are dropped.
 * @throws JsonError naming the path of a value with no JSON form: a field holding the wrong type,
 * a Timestamp or Duration out of range, a FieldMask path that does not round-trip, a Value with
 * no kind or a non-finite number, an Any whose type is not in `options.registry`
 */
export function toJson<T>(type: MessageType<T>, msg: T, options?: JsonWriteOptions): JsonValue {
  checkType(type, "toJson");
  const c = writeContext(options, "toJson");
  return guarded(type.typeName, () => messageToJson(type, msg, c, shortName(type.typeName), 0));
}

/**
 * `toJson` as JSON text: one line, or indented by `options.prettySpaces` spaces.
 * @throws as toJson
 */
export function toJsonString<T>(type: MessageType<T>, msg: T, options?: JsonWriteStringOptions): string {
  const spaces = options?.prettySpaces ?? 0;
  if (!Number.isInteger(spaces) || spaces < 0 || spaces > 10) {
    throw new RangeError(`toJsonString: options.prettySpaces must be an integer from 0 to 10, got ${String(spaces)}`);
  }
  return JSON.stringify(toJson(type, msg, options), null, spaces === 0 ? undefined : spaces);
}

/**
 * The message of `type` that the ProtoJSON value `json` describes. Keys may be JSON names or
 * .proto names; null means "absent" (except for google.protobuf.Value and NullValue); integers
 * may be numbers or strings (exponent forms only when exact); bytes standard or URL-safe base64.
 * @throws JsonError naming the path of what is wrong: an unknown key (unless
 * `ignoreUnknownFields`), a field or oneof given twice, a value of the wrong type or out of range,
 * an unknown enum name, malformed base64 / Timestamp / Duration / FieldMask, an Any whose type is
 * not in `options.registry`, nesting deeper than `maxDepth`
 */
export function fromJson<T>(type: MessageType<T>, json: unknown, options?: JsonReadOptions): T {
  checkType(type, "fromJson");
  const c = readContext(options, "fromJson");
  return guarded(type.typeName, () => messageFromJson(type, json, c, shortName(type.typeName), 0) as T);
}

/**
 * Parses JSON text, then `fromJson`. The text is parsed strictly (RFC 8259): a key twice in one
 * object is an error, integers keep their exact digits (int64 beyond 2^53), nesting is limited.
 * @throws JsonError for malformed JSON (naming the offset), or as fromJson
 */
export function fromJsonString<T>(type: MessageType<T>, text: string, options?: JsonReadOptions): T {
  checkType(type, "fromJsonString");
  const c = readContext(options, "fromJsonString");
  const path = shortName(type.typeName);
  // one message level is at most two JSON levels (a message in a list or a map value: an array
  // or object around an object); messageFromJson enforces maxDepth itself
  const json = parseJsonText(text, 2 * (c.maxDepth + 1), path);
  return guarded(type.typeName, () => messageFromJson(type, json, c, path, 0) as T);
}
