/**
 * Synthetic workloads for the kv load generator. Nothing here is a recorded trace: each workload
 * is generated from a seed with the distributions below, chosen to have the shapes of the traces
 * Cornflakes and ProtoAcc evaluate with (see examples/README.md for the reasoning).
 *
 *   fixed:SIZE         every value SIZE bytes (64 B .. 64 KiB), GET only, keys uniform
 *   cdn                CDN-like: large objects. Sizes log-uniform in three bands, weighted to the
 *                      large end: 5% 512 B-4 KiB, 25% 4-16 KiB, 70% 16-64 KiB; popularity
 *                      Zipf(0.9); GET only
 *   twitter            Twitter-cache-like: small values. Sizes log-normal, median 230 B,
 *                      sigma 0.8, clamped to 16 B-8 KiB; popularity Zipf(0.99); 90% GET, 10% PUT
 *   getm:LO-HI[:SIZE]  GETM of LO..HI keys (uniform), values SIZE bytes (default 1 KiB), keys uniform
 *
 * Every value's bytes are a function of (key, version): the first 8 bytes say which key and
 * version they are, the rest are a pseudo-random stream seeded by both. So a client can check
 * that a response is byte for byte a value that was stored, even while values are overwritten.
 */

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same workload everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  logUniform(lo: number, hi: number): number {
    return Math.round(Math.exp(Math.log(lo) + this.next() * (Math.log(hi) - Math.log(lo))));
  }
}

/** Draws key indices 0..n-1 with probability proportional to 1/(rank+1)^s (rank = index). */
export class Zipf {
  private readonly cdf: Float64Array;
  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) this.cdf[i] = sum += 1 / Math.pow(i + 1, s);
    for (let i = 0; i < n; i++) this.cdf[i]! /= sum;
  }
  draw(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export type OpKind = "get" | "put" | "getm";

export interface Workload {
  /** The spec it was made from, e.g. "fixed:4096". */
  name: string;
  /** Keys 0..keys-1, named keyName(i). */
  keys: number;
  /** Value size of each key (fixed for the run: a PUT rewrites a key with the same size). */
  sizeOf: Int32Array;
  /** The next operation and its key indices. */
  next(rng: Rng): { op: OpKind; keys: number[] };
}

export function keyName(i: number): string {
  return `key:${String(i).padStart(8, "0")}`;
}

/** Smallest value: room for the (key, version) header. */
export const MIN_VALUE = 8;
export const MAX_VALUE = 64 * 1024;

function parseSize(s: string): number {
  const m = /^(\d+)\s*(k|kib|kb|m|mib|b)?$/i.exec(s.trim());
  if (!m) throw new TypeError(`bad size ${s} (examples: 64, 4096, 4k, 64KiB)`);
  const unit = (m[2] ?? "b").toLowerCase();
  return Number(m[1]) * (unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1 << 20 : 1);
}

/**
 * Makes a workload from its spec. `keys` overrides the default key count. UDP and DPDK carry
 * values that do not fit a packet in several packets (kv/packets.ts), so every size works there.
 */
export function makeWorkload(spec: string, opts: { keys?: number; seed?: number } = {}): Workload {
  const rng = new Rng((opts.seed ?? 1) ^ 0x5eed);
  const [kind, a, b] = spec.split(":");
  const sized = (n: number, f: (i: number) => number): Int32Array => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.min(MAX_VALUE, Math.max(MIN_VALUE, f(i)));
    return out;
  };
  switch (kind) {
    case "fixed": {
      const size = parseSize(a ?? "");
      if (size < MIN_VALUE || size > MAX_VALUE) throw new RangeError(`fixed:SIZE must be ${MIN_VALUE}..${MAX_VALUE} bytes, got ${size}`);
      const keys = opts.keys ?? 1000;
      return { name: spec, keys, sizeOf: sized(keys, () => size), next: (r) => ({ op: "get", keys: [r.int(keys)] }) };
    }
    case "cdn": {
      const keys = opts.keys ?? 1000;
      const sizeOf = sized(keys, () => {
        const u = rng.next();
        if (u < 0.05) return rng.logUniform(512, 4096);
        if (u < 0.3) return rng.logUniform(4096, 16384);
        return rng.logUniform(16384, 65536);
      });
      const z = new Zipf(keys, 0.9);
      return { name: spec, keys, sizeOf, next: (r) => ({ op: "get", keys: [z.draw(r)] }) };
    }
    case "twitter": {
      const keys = opts.keys ?? 10000;
      const sizeOf = sized(keys, () => Math.min(8192, Math.max(16, Math.round(230 * Math.exp(0.8 * rng.normal())))));
      const z = new Zipf(keys, 0.99);
      return { name: spec, keys, sizeOf, next: (r) => ({ op: r.next() < 0.1 ? "put" : "get", keys: [z.draw(r)] }) };
    }
    case "getm": {
      const m = /^(\d+)(?:-(\d+))?$/.exec(a ?? "");
      if (!m) throw new TypeError(`getm:LO-HI[:SIZE], e.g. getm:1-8 or getm:4:4096, got ${spec}`);
      const lo = Number(m[1]);
      const hi = Number(m[2] ?? m[1]);
      if (lo < 1 || hi < lo || hi > 32) throw new RangeError(`getm: key counts must be 1..32 with LO <= HI, got ${lo}-${hi}`);
      const size = b === undefined ? 1024 : parseSize(b);
      if (size < MIN_VALUE || size > MAX_VALUE) throw new RangeError(`getm size must be ${MIN_VALUE}..${MAX_VALUE} bytes, got ${size}`);
      const keys = opts.keys ?? 1000;
      return {
        name: spec,
        keys,
        sizeOf: sized(keys, () => size),
        next: (r) => {
          const n = lo + r.int(hi - lo + 1);
          const ks = new Array<number>(n);
          for (let i = 0; i < n; i++) ks[i] = r.int(keys);
          return { op: "getm", keys: ks };
        },
      };
    }
    default:
      throw new TypeError(`unknown workload "${spec}" (fixed:SIZE, cdn, twitter, getm:LO-HI[:SIZE])`);
  }
}

/** The bytes of version `version` of key `key`: 8 header bytes, then a stream seeded by both. */
export function makeValue(key: number, version: number, size: number): Uint8Array {
  const v = new Uint8Array(size);
  const dv = new DataView(v.buffer);
  dv.setUint32(0, key, true);
  dv.setUint32(4, version, true);
  let x = (Math.imul(key + 1, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca6b)) >>> 0 || 1;
  let i = 8;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    dv.setUint32(i, x >>> 0, true);
  }
  for (; i < size; i++) v[i] = (x >>> (8 * (i & 3))) & 0xff;
  return v;
}

/** Which (key, version) a value claims to be; undefined when too short. */
export function valueHeader(v: Uint8Array): { key: number; version: number } | undefined {
  if (v.length < MIN_VALUE) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, 8);
  return { key: dv.getUint32(0, true), version: dv.getUint32(4, true) };
}

/** Mean bytes of values a request of this workload moves, weighted by popularity (sampled). */
export function meanRequestBytes(w: Workload): number {
  const rng = new Rng(12345);
  const n = 20000;
  let sum = 0;
  for (let i = 0; i < n; i++) for (const k of w.next(rng).keys) sum += w.sizeOf[k]!;
  return sum / n;
}

/**
 * Requests to keep outstanding so that about `window` bytes of values are in flight, at most
 * `max` and at least 1. Kernel UDP drops datagrams once a socket's receive buffer (about 208 KiB
 * by default on Linux) is full, so large values need fewer requests in flight, as a TCP window
 * would give them.
 */
export function windowedConcurrency(bytesPerRequest: number, window: number, max: number): number {
  if (!Number.isFinite(window)) return max;
  return Math.max(1, Math.min(max, Math.floor(window / (bytesPerRequest + 64))));
}

/** Mean value size over all keys (what a preload moves per PUT). */
export function meanValueBytes(w: Workload): number {
  let sum = 0;
  for (let i = 0; i < w.keys; i++) sum += w.sizeOf[i]!;
  return sum / w.keys;
}
