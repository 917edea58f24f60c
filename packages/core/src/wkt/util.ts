// Internal helpers of the well-known-type module (not exported from the package).

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  switch (typeof v) {
    case "bigint":
      return `bigint ${v}n`;
    case "number":
      return `number ${v}`;
    case "string":
      return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v)}`;
    case "boolean":
      return `boolean ${v}`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default: {
      if (Array.isArray(v)) return "an array";
      const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
      const ctor = proto?.constructor?.name;
      return ctor && ctor !== "Object" ? `an instance of ${ctor}` : "an object";
    }
  }
}

/**
 * `ns` nanoseconds in milliseconds: whole milliseconds and the rest are split toward zero, so both
 * have the same sign and adding them loses no more than the last digit of a double.
 */
export function nanosToMs(ns: bigint): number {
  const whole = ns / 1_000_000n;
  const rest = Number(ns % 1_000_000n);
  return rest === 0 ? Number(whole) : Number(whole) + rest / 1_000_000;
}
