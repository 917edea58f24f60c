/**
 * The error of text-format conversion. `fromText` throws it for input that is not valid text
 * format for the type (naming the line and column, 1-based, and the field path); `toText` for a
 * message that cannot be printed (a field holding the wrong type, an Any whose value does not
 * decode, nesting past the limit), with line and column 0.
 */
export class TextFormatError extends Error {
  override name = "TextFormatError";
  constructor(
    /** what is wrong, without the position or path */
    readonly detail: string,
    /**
     * where in the message: the root message's name, then fields by their .proto names, e.g.
     * "TestAllTypesProto3.repeated_int32[2]" or `Order.labels["x"]`
     */
    readonly path: string,
    /** 1-based line of the input where the problem is (0 when printing) */
    readonly line: number,
    /** 1-based column (in UTF-16 code units) of the input where the problem is (0 when printing) */
    readonly column: number,
  ) {
    super(`${line > 0 ? `${line}:${column}: ` : ""}${path === "" ? "" : `${path}: `}${detail}`);
  }
}
