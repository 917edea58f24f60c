/**
 * gRPC metadata: the custom headers and trailers of a call. Keys are lower-case ASCII
 * (`[0-9a-z_.-]`); a key ending in `-bin` carries binary values (Uint8Array, sent base64), any
 * other key carries printable ASCII strings. A key may hold several values, in order.
 */
export type MetadataValue = string | Uint8Array;

const KEY = /^[0-9a-z_.-]+$/;
const ASCII_VALUE = /^[\x20-\x7e]*$/;

/** Header names of HTTP/2 and gRPC itself: a call's own, never metadata. */
const RESERVED = new Set([
  "content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
  "grpc-status", "grpc-message", "grpc-status-details-bin", "content-length", "host", "connection",
  "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "trailer",
]);

/** Whether `key` belongs to gRPC or HTTP/2 rather than to the application's metadata. */
export function isReservedHeader(key: string): boolean {
  return key.startsWith(":") || RESERVED.has(key);
}

export class Metadata {
  readonly #map = new Map<string, MetadataValue[]>();

  constructor(init?: Record<string, MetadataValue | MetadataValue[]> | Iterable<[string, MetadataValue]>) {
    if (init === undefined) return;
    const entries = Symbol.iterator in Object(init) ? (init as Iterable<[string, MetadataValue]>) : Object.entries(init);
    for (const [k, v] of entries) {
      if (Array.isArray(v)) for (const x of v) this.add(k, x);
      else this.add(k, v as MetadataValue);
    }
  }

  /** Appends a value to `key`; throws a TypeError naming what is wrong with the key or value. */
  add(key: string, value: MetadataValue): this {
    const k = checkKey(key);
    checkValue(k, value);
    const list = this.#map.get(k);
    if (list === undefined) this.#map.set(k, [value]);
    else list.push(value);
    return this;
  }

  /** Replaces every value of `key` with `value`. */
  set(key: string, value: MetadataValue): this {
    const k = checkKey(key);
    checkValue(k, value);
    this.#map.set(k, [value]);
    return this;
  }

  /** The first value of `key` (keys are case-insensitive), or undefined. */
  get(key: string): MetadataValue | undefined {
    return this.#map.get(key.toLowerCase())?.[0];
  }

  /** Every value of `key`, in the order added or received. */
  getAll(key: string): MetadataValue[] {
    return [...(this.#map.get(key.toLowerCase()) ?? [])];
  }

  has(key: string): boolean {
    return this.#map.has(key.toLowerCase());
  }

  delete(key: string): boolean {
    return this.#map.delete(key.toLowerCase());
  }

  get size(): number {
    return this.#map.size;
  }

  /** Every (key, value) pair, a key with several values once per value. */
  *[Symbol.iterator](): IterableIterator<[string, MetadataValue]> {
    for (const [k, vs] of this.#map) for (const v of vs) yield [k, v];
  }

  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  clone(): Metadata {
    const m = new Metadata();
    for (const [k, v] of this) m.add(k, v);
    return m;
  }

  /** A plain object for logs: binary values as base64. */
  toJSON(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [k, vs] of this.#map) out[k] = vs.map((v) => (typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")));
    return out;
  }
}

function checkKey(key: string): string {
  if (typeof key !== "string") throw new TypeError(`metadata key must be a string, got ${typeof key}`);
  const k = key.toLowerCase();
  if (!KEY.test(k)) throw new TypeError(`metadata key ${JSON.stringify(key)} has characters other than 0-9 a-z _ . -`);
  if (isReservedHeader(k)) throw new TypeError(`metadata key ${JSON.stringify(key)} is reserved by gRPC/HTTP2`);
  return k;
}

function checkValue(key: string, value: MetadataValue): void {
  if (key.endsWith("-bin")) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`metadata key ${JSON.stringify(key)} ends in -bin: its values must be Uint8Array, got ${typeof value}`);
  } else if (typeof value !== "string") {
    throw new TypeError(`metadata key ${JSON.stringify(key)} takes string values (binary values need a key ending in -bin)`);
  } else if (!ASCII_VALUE.test(value)) {
    throw new TypeError(`metadata value of ${JSON.stringify(key)} has characters outside printable ASCII (use a -bin key for other bytes)`);
  }
}
