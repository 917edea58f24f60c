/**
 * Before anything is timed, every library must agree on the message: the protobuf encoders must
 * produce identical bytes, and every decoder must give back the fields of the workload's message.
 * A benchmark of wrong output measures nothing.
 */

/** Compares `actual` to `expected` on the keys of `expected` (extra keys, `$unknown`, class instances are fine). */
export function sameFields(expected: unknown, actual: unknown, path = "$"): string | null {
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array)) return `${path}: expected bytes, got ${typeof actual}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} bytes, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) return `${path}[${i}] differs`;
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = sameFields(expected[i], actual[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return `${path}: expected an object`;
    for (const [k, v] of Object.entries(expected)) {
      if (k === "$unknown") continue;
      const d = sameFields(v, (actual as Record<string, unknown>)[k], `${path}.${k}`);
      if (d !== null) return d;
    }
    return null;
  }
  // 64-bit integers: bigint here, Long or a decimal string in other libraries
  if (typeof expected === "bigint") {
    return actual !== null && actual !== undefined && String(actual) === expected.toString() ? null : `${path}: expected ${expected}, got ${String(actual)}`;
  }
  if (typeof expected === "number" && typeof actual === "number") {
    // float fields round to single precision on the wire
    if (expected === actual || Math.fround(expected) === actual) return null;
  }
  return expected === actual ? null : `${path}: expected ${String(expected)}, got ${String(actual)}`;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
