/**
 * What the gRPC benchmark's servers serve and its load generator expects, built the same way in
 * both processes: the stored values of GetBlob (deterministic bytes per key) and the SmallResponse
 * computed from a SmallRequest. Nothing here depends on a codec.
 */

/** The name under which the i-th stored value is kept. */
export function blobKey(i: number): string {
  return `blob-${String(i).padStart(4, "0")}`;
}

/** The version the server returns with the i-th stored value. */
export function blobVersion(i: number): number {
  return 1000 + i;
}

/**
 * The i-th stored value: `size` bytes of a xorshift sequence seeded from `i`, so every key's value
 * differs and a response carrying the wrong value (or a wrong part of one) is caught byte for byte.
 */
export function blobValue(i: number, size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`blobValue: size must be a non-negative integer, got ${size}`);
  const out = new Uint8Array(size);
  let x = (0x9e3779b9 ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let k = 0; k < size; k++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[k] = x & 0xff;
  }
  return out;
}

/** The stored values, key to bytes: what every server keeps in memory (and the client expects). */
export function blobStore(keys: number, size: number): Map<string, { value: Uint8Array; version: number }> {
  if (!Number.isInteger(keys) || keys < 1) throw new RangeError(`blobStore: keys must be a positive integer, got ${keys}`);
  const m = new Map<string, { value: Uint8Array; version: number }>();
  for (let i = 0; i < keys; i++) m.set(blobKey(i), { value: blobValue(i, size), version: blobVersion(i) });
  return m;
}

/** A SmallRequest's fields. */
export interface SmallIn {
  id: number;
  name: string;
}

/** A SmallResponse's fields, in every library's plain-object shape (no 64-bit fields, no enums). */
export interface SmallOut {
  id: number;
  count: number;
  delta: number;
  ok: boolean;
  score: number;
  ratio: number;
  name: string;
  ttl: number;
}

/** The i-th SmallRequest the load generator sends (ids cycle through a few thousand). */
export function smallRequest(i: number): SmallIn {
  return { id: i + 1, name: `client-${String(i % 10_000).padStart(5, "0")}` };
}

/**
 * What a server answers to `req`: every field derived from it (the float is a multiple of 1/4 so
 * it survives float32 exactly). About 50 bytes on the wire.
 */
export function smallResponse(req: SmallIn): SmallOut {
  const id = req.id >>> 0;
  return {
    id,
    count: Math.imul(id, 3),
    delta: -(id % 1000) | 0,
    ok: id % 2 === 0,
    score: id * 0.25,
    ratio: (id % 256) / 4,
    name: `reply to ${req.name}`,
    ttl: 3600,
  };
}

/** The first field that differs between an expected and a received SmallResponse, or undefined. */
export function smallMismatch(expected: SmallOut, got: Partial<Record<keyof SmallOut, unknown>>): string | undefined {
  for (const k of Object.keys(expected) as (keyof SmallOut)[]) {
    if (got[k] !== expected[k]) return `${k}: expected ${JSON.stringify(expected[k])}, got ${JSON.stringify(got[k])}`;
  }
  return undefined;
}
