/**
 * Errors raised by the wire layer. Both carry enough context for a user to act: a DecodeError
 * names the byte offset and (when known) the message type; an EncodeError names the field path.
 */

/** Malformed protobuf input. `offset` is the byte offset in the input where decoding failed. */
export class DecodeError extends Error {
  override name = "DecodeError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A message that cannot be encoded: a wrong type, a value out of range, a missing required field. */
export class EncodeError extends Error {
  override name = "EncodeError";
  constructor(
    /** what is wrong, without the path */
    readonly detail: string,
    /** dotted path from the root message to the offending field, e.g. "Order.items[3].sku" */
    readonly path: string,
  ) {
    super(`${path}: ${detail}`);
  }

  /** The same error one level up: `prefix` (a field or type name) joined before the path. */
  under(prefix: string): EncodeError {
    if (this.path === "") return new EncodeError(this.detail, prefix);
    return new EncodeError(this.detail, this.path.startsWith("[") ? `${prefix}${this.path}` : `${prefix}.${this.path}`);
  }
}

/** Describes a JavaScript value for error messages without dumping large payloads. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  const t = typeof v;
  if (t === "string") {
    const s = v as string;
    return s.length > 20 ? `string "${s.slice(0, 20)}..."` : `string "${s}"`;
  }
  if (t === "number" || t === "boolean") return `${t} ${String(v)}`;
  if (t === "bigint") return `bigint ${String(v)}n`;
  return t;
}
