// The well-known types whose ProtoJSON form is not an object of their fields.

/** Wrapper types: their JSON form is the bare value of field 1. */
export const WRAPPERS: ReadonlySet<string> = new Set([
  "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
]);

/**
 * Types an Any holds as `{"@type": url, "value": <form>}` rather than with the fields inline:
 * every well-known type with a special JSON form, and Empty (as protobuf C++ prints it).
 */
export const VALUE_IN_ANY: ReadonlySet<string> = new Set([
  ...WRAPPERS, "google.protobuf.Any", "google.protobuf.Timestamp", "google.protobuf.Duration",
  "google.protobuf.FieldMask", "google.protobuf.Struct", "google.protobuf.Value",
  "google.protobuf.ListValue", "google.protobuf.Empty",
]);

export const NULL_VALUE = "google.protobuf.NullValue";
export const VALUE = "google.protobuf.Value";

/** "shop.Order" -> "Order": the root of error paths. */
export function shortName(typeName: string): string {
  return typeName.slice(typeName.lastIndexOf(".") + 1);
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** path + key, as `.key` or `["key"]` */
export function keyPath(path: string, key: string): string {
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key.length > 40 ? key.slice(0, 40) + "..." : key)}]`;
}

/** Sets `key` as an own data property, "__proto__" included (never the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** FieldMask path (snake_case) to its JSON form (lowerCamelCase), or undefined when it would not round-trip. */
export function fieldMaskPathToJson(p: string): string | undefined {
  let out = "";
  let upper = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "_") {
      if (upper) return undefined; // "a__b"
      upper = true;
      continue;
    }
    if (c >= "A" && c <= "Z") return undefined; // would come back as "_x"
    if (upper) {
      if (!(c >= "a" && c <= "z")) return undefined; // "_1", "_." do not come back
      out += c.toUpperCase();
      upper = false;
    } else out += c;
  }
  return upper ? undefined : out;
}

/** FieldMask path in JSON form (lowerCamelCase) to snake_case, or undefined when it is not one. */
export function fieldMaskPathFromJson(p: string): string | undefined {
  let out = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "_") return undefined;
    if (c >= "A" && c <= "Z") out += "_" + c.toLowerCase();
    else out += c;
  }
  return out;
}
