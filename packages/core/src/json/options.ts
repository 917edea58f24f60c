import type { Registry } from "../reflect/registry.js";

/** Default nesting limit of ProtoJSON conversion, as the binary decoder's `maxDepth`. */
export const DEFAULT_JSON_DEPTH = 100;

/** Options of toJson / toJsonString. */
export interface JsonWriteOptions {
  /**
   * Print fields without presence even when they hold their default: implicit-presence scalars
   * and enums at zero, empty repeated fields and maps (protobuf's
   * `always_print_fields_with_no_presence`). Fields with explicit presence are printed only when
   * set either way. Default false.
   */
  emitDefaultValues?: boolean;
  /** Print enum values as numbers instead of names. Default false. */
  enumAsInteger?: boolean;
  /** Use the .proto field names ("content_type") as keys instead of the JSON names ("contentType"). Default false. */
  useProtoFieldName?: boolean;
  /** Types that `google.protobuf.Any` fields may hold (createRegistry). An Any of a type not here is an error. */
  registry?: Registry;
  /** The deepest message nesting printed (the root is 0). Default 100. */
  maxDepth?: number;
}

/** Options of toJsonString. */
export interface JsonWriteStringOptions extends JsonWriteOptions {
  /** Indent by this many spaces (JSON.stringify's `space`); 0 prints on one line. Default 0. */
  prettySpaces?: number;
}

/** Options of fromJson / fromJsonString. */
export interface JsonReadOptions {
  /**
   * Skip object keys that name no field of the message, and enum names the enum does not declare
   * (the field, or that repeated element or map entry, is left out), instead of failing. Default false.
   */
  ignoreUnknownFields?: boolean;
  /** Types that `google.protobuf.Any` values may name in "@type" (createRegistry). */
  registry?: Registry;
  /**
   * The deepest nesting accepted: messages below the root, and objects/arrays inside
   * Struct/Value/ListValue (fromJsonString also limits the JSON text itself to 2 * (maxDepth + 1)
   * levels of objects and arrays, as a message in a list or map takes two). Default 100.
   */
  maxDepth?: number;
}

export function checkDepthOption(v: number | undefined, fn: string): number {
  if (v === undefined) return DEFAULT_JSON_DEPTH;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${fn}: options.maxDepth must be a non-negative integer, got ${String(v)}`);
  return v;
}
