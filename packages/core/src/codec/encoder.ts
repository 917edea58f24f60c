import { SgList } from "../sg/sg-list.js";
import { maxReferences, type ResolvedCopyPolicy } from "../sg/copy-policy.js";
import { varint32Size, writeVarint32, writeVarint64 } from "../wire/varint.js";
import { utf8Length, utf8Write } from "../wire/utf8.js";
import { EncodeError } from "../wire/errors.js";

/** Why an encode fails when the write pass does not reproduce what the size pass measured. */
export const CHANGED =
  "the value changed while it was being encoded (a getter, Proxy or concurrent change returned something else in the write pass than in the size pass)";

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const MASK32 = 0xffffffffn;
const TWO32 = 4294967296;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Below this magnitude a zigzag value (2|v| or 2|v| - 1) is still an exact Number. */
const HALF_SAFE = 2 ** 52;
/** Scratch a fresh list's runs may hold in all to be split into arrays of their own (startSplitWrite). */
export const SPLIT_MAX = 64;

/**
 * State of one encode: a size pass, then a write pass. Generated code drives it.
 *
 * Size pass: generated `size` functions return byte counts and record, in pre-order,
 * (a) the size of every nested message and the UTF-8 length of every string (`sizes`), so the
 * write pass never measures anything twice, and (b) every bytes field at or above the copy
 * threshold (`bigLen`/`bigRef`), so the policy can decide which ones to reference before a byte
 * is written.
 *
 * Write pass: generated `write` functions walk the message in the same order, writing tags,
 * lengths and copied fields into scratch, and splicing referenced fields in as segments of their
 * own.
 *
 * Encoders are pooled: an encode takes one, and gives it back when done, so nothing is allocated
 * per field and re-entrant encodes (from a getter, say) get their own.
 */
export class Encoder {
  // ---- policy for this encode
  thr = Infinity;
  eligible: ((b: Uint8Array) => boolean) | null = null;
  /**
   * Deterministic serialization (EncodeOptions.deterministic): map entries in key order. The size
   * pass sorts each map's keys once (sortKeys) and the write pass takes the same lists back in the
   * same pre-order (sortedKeys), so both visit entries in one order.
   */
  det = false;
  private keyLists: string[][] = [];
  private nKeyLists = 0;
  private keyIdx = 0;

  // ---- size pass
  sizes: number[] = [];
  nSizes = 0;
  bigLen: number[] = [];
  bigRef: boolean[] = [];
  nBig = 0;
  nRefs = 0;
  refBytes = 0;

  // ---- write pass
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  segStart = 0;
  sizeIdx = 0;
  bigIdx = 0;
  list: SgList | null = null;
  nSegs = 0;
  /** bytes spliced in as references so far in this write pass */
  refDone = 0;
  /**
   * Each scratch run becomes an array of its own instead of a view of one scratch (see
   * splitRuns): `buf` is then `staging`, this encoder's own memory, never handed out.
   */
  split = false;
  private staging = new Uint8Array(SPLIT_MAX);

  /** Starts a size pass under `policy` (or with everything copied when policy is null). */
  begin(policy: ResolvedCopyPolicy | null, deterministic = false): void {
    this.det = deterministic;
    if (this.nKeyLists !== 0) {
      // drop the previous deterministic encode's key lists (they hold the caller's keys)
      this.keyLists.length = 0;
      this.nKeyLists = 0;
    }
    this.nSizes = 0;
    this.nBig = 0;
    this.nRefs = 0;
    this.refBytes = 0;
    if (policy === null) {
      this.thr = Infinity;
      this.eligible = null;
    } else {
      // an empty field is never worth a segment
      this.thr = Math.max(1, policy.copyThreshold);
      this.eligible = policy.isEligible;
    }
  }

  /** Reserves a slot for a nested size; fill it with `sizes[i] = n` after sizing the child. */
  reserve(): number {
    const i = this.nSizes++;
    if (i === this.sizes.length) this.sizes.push(0);
    return i;
  }

  /** Size of a length-prefixed string body plus its prefix; caches the UTF-8 length. */
  sizeString(s: string): number {
    const n = utf8Length(s);
    const i = this.nSizes++;
    if (i === this.sizes.length) this.sizes.push(n);
    else this.sizes[i] = n;
    return varint32Size(n) + n;
  }

  /** Size of a length-prefixed bytes body plus its prefix; records it if it may be referenced. */
  sizeBytes(b: Uint8Array): number {
    const n = b.length;
    if (n >= this.thr) this.candidate(b, n);
    return varint32Size(n) + n;
  }

  /** Size of raw bytes written as they are (preserved unknown fields). */
  sizeRaw(b: Uint8Array): number {
    const n = b.length;
    if (n >= this.thr) this.candidate(b, n);
    return n;
  }

  private candidate(b: Uint8Array, n: number): void {
    const i = this.nBig++;
    const ok = this.eligible === null || this.eligible(b);
    if (i === this.bigLen.length) {
      this.bigLen.push(n);
      this.bigRef.push(ok);
    } else {
      this.bigLen[i] = n;
      this.bigRef[i] = ok;
    }
    if (ok) {
      this.nRefs++;
      this.refBytes += n;
    }
  }

  /** Copies the smallest referenced fields until at most 2r+1 <= maxSegments. */
  fitSegments(maxSegments: number): void {
    const limit = maxReferences(maxSegments);
    if (this.nRefs <= limit) return;
    const order: number[] = [];
    for (let i = 0; i < this.nBig; i++) if (this.bigRef[i]) order.push(i);
    order.sort((a, b) => this.bigLen[a]! - this.bigLen[b]! || a - b);
    for (let k = 0; this.nRefs > limit; k++) {
      const i = order[k]!;
      this.bigRef[i] = false;
      this.nRefs--;
      this.refBytes -= this.bigLen[i]!;
    }
  }

  /**
   * Starts the write pass into `buf` (sized by the size pass). With a list, segments are written
   * into `list.segments` in place (the array is reused, not reallocated) and scratch views are
   * reused from the previous encode into the same list when they cover the same bytes, so a
   * steady stream of same-shaped messages allocates nothing.
   */
  startWrite(buf: Uint8Array, list: SgList | null): void {
    this.keyIdx = 0;
    this.split = false;
    this.buf = buf;
    this.pos = 0;
    this.segStart = 0;
    this.sizeIdx = 0;
    this.bigIdx = 0;
    this.list = list;
    this.nSegs = 0;
    this.refDone = 0;
  }

  /** Offset in the encoded message so far (scratch written plus references spliced in). */
  at(): number {
    return this.pos + this.refDone;
  }

  /** Fails the encode: what the write pass produced at `path` differs from what was measured. */
  changed(path: string): never {
    throw new EncodeError(CHANGED, path);
  }

  /** Ends the write pass: flushes the last scratch run and trims the segment array. */
  finishWrite(): void {
    const list = this.list;
    if (list !== null) {
      if (this.pos > this.segStart) this.pushScratch();
      const segs = list.segments;
      if (segs.length !== this.nSegs) segs.length = this.nSegs;
      if (list.refs !== null && list.refs.length !== this.nSegs) list.refs.length = this.nSegs;
      list.encodedSegments = this.nSegs;
      this.list = null;
    }
    this.buf = EMPTY;
  }

  /** Abandons a failed write pass (the caller resets its list). */
  abortWrite(): void {
    this.list = null;
    this.buf = EMPTY;
  }

  /**
   * Starts the write pass of a fresh list whose scratch runs are cut apart by references and
   * together hold at most SPLIT_MAX bytes: the runs are written into this encoder's staging memory
   * and each is copied into a Uint8Array of its own. V8 keeps typed arrays of up to 64 bytes on
   * its heap, where they cost a few nanoseconds; a view of one scratch would ask for the
   * scratch's ArrayBuffer, which V8 then has to allocate off its heap (about a microsecond). The
   * price is a second write of at most SPLIT_MAX bytes.
   */
  startSplitWrite(list: SgList): void {
    this.startWrite(this.staging, list);
    this.split = true;
  }

  /** Ends the current scratch run as a segment: a view of scratch, reused when unchanged. */
  private pushScratch(): void {
    const list = this.list!;
    const start = this.segStart;
    const len = this.pos - start;
    // the write pass ran past what the size pass measured (writes past the end were dropped)
    if (this.pos > this.buf.length) this.changed("");
    const i = this.nSegs++;
    if (list.refs !== null) list.refs[i] = false;
    const buf = this.buf;
    if (this.split) {
      const own = new Uint8Array(len);
      for (let k = 0; k < len; k++) own[k] = buf[start + k]!;
      list.segments[i] = own;
      return;
    }
    // a run that is the whole scratch (a fresh list's only run) is the scratch itself: no view,
    // and on a small scratch no materialized ArrayBuffer (V8 keeps typed arrays up to 64 bytes
    // on its heap until something asks for their .buffer)
    if (start === 0 && len === buf.length) {
      list.segments[i] = buf;
      return;
    }
    // list.views belong to list.scratch (reserveScratch clears them when scratch is replaced)
    const views = (list.views ??= []);
    const starts = (list.viewStarts ??= []);
    const prev = views[i];
    if (prev !== undefined && prev.length === len && starts[i] === start) {
      list.segments[i] = prev;
      return;
    }
    // built directly: TypedArray.prototype.subarray goes through the species protocol, slower
    const v = new Uint8Array(buf.buffer, buf.byteOffset + start, len);
    views[i] = v;
    starts[i] = start;
    list.segments[i] = v;
  }

  /**
   * Deterministic size pass: the own keys of map object `o` sorted as protobuf C++ sorts map
   * entries under SetSerializationDeterministic (`kind`: MapKeyOrder), kept for the write pass.
   */
  sortKeys(o: object, kind: MapKeyOrder): string[] {
    const ks = sortMapKeys(Object.keys(o), kind);
    this.keyLists[this.nKeyLists++] = ks;
    return ks;
  }

  /** Deterministic write pass: the next key list sortKeys made, in the same pre-order. */
  sortedKeys(): string[] {
    if (this.keyIdx >= this.nKeyLists) this.changed("");
    return this.keyLists[this.keyIdx++]!;
  }

  /** The next cached size (nested message size or string length), in pre-order. */
  nextSize(): number {
    return this.sizes[this.sizeIdx++]!;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Unsigned 32-bit varint (also tags and lengths). */
  uint32(v: number): void {
    this.pos = writeVarint32(this.buf, this.pos, v);
  }

  /** int32/enum: negative values are sign-extended to 10 bytes. */
  int32(v: number): void {
    if (v >= 0) this.uint32(v);
    else this.varint64(v >>> 0, 0xffffffff);
  }

  sint32(v: number): void {
    this.uint32((v << 1) ^ (v >> 31));
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** 64-bit varint from unsigned halves. */
  varint64(lo: number, hi: number): void {
    this.pos = writeVarint64(this.buf, this.pos, lo, hi);
  }

  /** int64/uint64 as a varint (two's complement of the bigint). */
  int64(v: bigint): void {
    // through a Number when it is exact (|v| <= 2^53 - 1): no bigint is allocated
    const n = Number(v);
    if (n >= 0 && n <= 0xffffffff) this.uint32(n);
    else if (n >= -MAX_SAFE && n <= MAX_SAFE) this.varint64(n >>> 0, Math.floor(n / TWO32) >>> 0);
    else this.varint64(Number(v & MASK32), Number((v >> 32n) & MASK32));
  }

  sint64(v: bigint): void {
    const n = Number(v);
    if (n > -HALF_SAFE && n < HALF_SAFE) {
      // zigzag as a Number: exact below 2^53
      const z = n >= 0 ? n * 2 : -n * 2 - 1;
      this.varint64(z >>> 0, Math.floor(z / TWO32));
      return;
    }
    const z = (v << 1n) ^ (v >> 63n);
    this.varint64(Number(z & MASK32), Number((z >> 32n) & MASK32));
  }

  fixed32(v: number): void {
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v;
    buf[p + 1] = v >>> 8;
    buf[p + 2] = v >>> 16;
    buf[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  fixed64(v: bigint): void {
    const n = Number(v);
    if (n >= -MAX_SAFE && n <= MAX_SAFE) {
      this.fixed32(n >>> 0);
      this.fixed32(Math.floor(n / TWO32) >>> 0);
      return;
    }
    this.fixed32(Number(v & MASK32));
    this.fixed32(Number((v >> 32n) & MASK32));
  }

  float(v: number): void {
    f32[0] = v;
    const buf = this.buf;
    const p = this.pos;
    buf[p] = f32b[0]!;
    buf[p + 1] = f32b[1]!;
    buf[p + 2] = f32b[2]!;
    buf[p + 3] = f32b[3]!;
    this.pos = p + 4;
  }

  double(v: number): void {
    f64[0] = v;
    const buf = this.buf;
    const p = this.pos;
    buf[p] = f64b[0]!; buf[p + 1] = f64b[1]!; buf[p + 2] = f64b[2]!; buf[p + 3] = f64b[3]!;
    buf[p + 4] = f64b[4]!; buf[p + 5] = f64b[5]!; buf[p + 6] = f64b[6]!; buf[p + 7] = f64b[7]!;
    this.pos = p + 8;
  }

  /**
   * A string body with its length prefix (length cached by sizeString). Returns true when the
   * string is not the one the size pass measured (its UTF-8 length differs): the caller fails the
   * encode naming the field.
   */
  string(s: string): boolean {
    const n = this.nextSize();
    this.uint32(n);
    if (typeof s !== "string") return true;
    const start = this.pos;
    if (n === s.length && n < 64) {
      // ASCII if it is what was measured: UTF-8 bytes equal the UTF-16 units
      const buf = this.buf;
      let p = start;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return true;
        buf[p++] = c;
      }
      this.pos = p;
      return false;
    }
    this.pos = utf8Write(this.buf, start, s);
    return this.pos - start !== n;
  }

  /** A bytes body with its length prefix: copied, or referenced as its own segment. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.uint32(n);
    this.body(b, n);
  }

  /** Raw bytes (a preserved unknown field), copied or referenced like a bytes body. */
  raw(b: Uint8Array): void {
    this.body(b, b.length);
  }

  private body(b: Uint8Array, n: number): void {
    if (n >= this.thr && this.bigRef[this.bigIdx++]) {
      if (this.pos > this.segStart) this.pushScratch();
      const list = this.list!;
      // the first reference of this encode: the segments before it are scratch
      const refs = (list.refs ??= []);
      for (let k = refs.length; k < this.nSegs; k++) refs.push(false);
      refs[this.nSegs] = true;
      list.segments[this.nSegs++] = b;
      this.segStart = this.pos;
      this.refDone += n;
      return;
    }
    if (n < 16) {
      // very short copies: a loop beats the call into TypedArray.set
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = b[i]!;
      this.pos = p;
    } else {
      if (this.pos + n > this.buf.length) this.changed("");
      this.buf.set(b, this.pos);
      this.pos += n;
    }
  }
}

/**
 * How a map's keys sort in deterministic output (Encoder.sortKeys): 0 string keys (by UTF-8
 * bytes, which is Unicode code point order), 1 bool ("false" before "true"), 2 integer keys of
 * any width and signedness (numeric order; keys are decimal strings).
 */
export type MapKeyOrder = 0 | 1 | 2;

/** Code point order of two strings (the order of their UTF-8 bytes). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // a surrogate (U+D800..U+DFFF) stands for a code point above U+FFFF: it sorts after every
    // other UTF-16 unit, where plain UTF-16 order puts it before U+E000..U+FFFF
    const hx = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const hy = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return hx - hy;
  }
  return a.length - b.length;
}

const INTEGER = /^-?[0-9]+$/;

/**
 * `keys` sorted in place as protobuf C++ orders map entries deterministically (see MapKeyOrder).
 * Integer keys that are not decimal integers sort last (the encode then refuses them by name).
 */
export function sortMapKeys(keys: string[], kind: MapKeyOrder): string[] {
  if (keys.length < 2) return keys;
  if (kind === 0) return keys.sort(compareUtf8);
  if (kind === 1) return keys.sort();
  const num = new Map<string, bigint | undefined>();
  for (const k of keys) num.set(k, INTEGER.test(k) ? BigInt(k) : undefined);
  return keys.sort((a, b) => {
    const x = num.get(a);
    const y = num.get(b);
    if (x === undefined || y === undefined) return x !== undefined ? -1 : y !== undefined ? 1 : a < b ? -1 : a > b ? 1 : 0;
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

const EMPTY = new Uint8Array(0);
const pool: Encoder[] = [];

/** Takes an Encoder from the pool (or makes one). Give it back with releaseEncoder. */
export function acquireEncoder(): Encoder {
  return pool.pop() ?? new Encoder();
}

export function releaseEncoder(e: Encoder): void {
  if (pool.length < 8) pool.push(e);
}

export { SgList };
