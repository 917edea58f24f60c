/**
 * The error of ProtoJSON conversion, in both directions: `fromJson`/`fromJsonString` throw it for
 * input that is not valid ProtoJSON for the type (a parse error), `toJson`/`toJsonString` for a
 * message that has no JSON form (a serialize error: a Timestamp out of range, a FieldMask path that
 * does not round-trip, an Any whose type is not in the registry). It is a class of its own rather
 * than DecodeError/EncodeError, which describe the binary format (a DecodeError carries a byte
 * offset that JSON input does not have).
 */
export class JsonError extends Error {
  override name = "JsonError";
  constructor(
    /** what is wrong, without the path */
    readonly detail: string,
    /**
     * where: the root message's name then fields by their JSON names, e.g.
     * "TestAllTypesProto3.repeatedInt32[2]" or `Order.labels["x"]`
     */
    readonly path: string,
  ) {
    super(path === "" ? detail : `${path}: ${detail}`);
  }
}

/** A short description of a JSON (or JavaScript) value for error messages. */
export function describeJson(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (v instanceof LosslessNumber) return `number ${v.text.length > 40 ? v.text.slice(0, 40) + "..." : v.text}`;
  switch (typeof v) {
    case "string":
      return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v)}`;
    case "number":
    case "boolean":
      return `${typeof v} ${String(v)}`;
    case "bigint":
      return `bigint ${String(v)}n`;
    case "object":
      if (Array.isArray(v)) return "an array";
      if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
      return "an object";
    default:
      return typeof v;
  }
}

/**
 * A JSON number whose literal a double does not hold exactly (magnitude 2^53 or more, or beyond
 * the double range): fromJsonString keeps its text so that int64 fields get the exact value.
 * @internal produced by the JSON text parser only; every reader accepts it where it accepts a number
 */
export class LosslessNumber {
  constructor(
    /** the literal as written */
    readonly text: string,
    /** Number(text): rounded, possibly ±Infinity */
    readonly value: number,
  ) {}
}
