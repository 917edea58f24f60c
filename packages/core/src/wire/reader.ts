import { DecodeError } from "./errors.js";
import { WireType, MAX_FIELD_NUMBER } from "./tag.js";
import { EMPTY_BYTES, joinSigned, joinUnsigned } from "./varint.js";
import { utf8Read } from "./utf8.js";

/** Default maximum nesting of messages and groups, as in protobuf C++ and Java. */
export const DEFAULT_MAX_DEPTH = 100;

export interface ReadOptions {
  /**
   * Maximum nesting of messages and groups below the message being decoded (the root is not
   * counted, as in protobuf C++ and upb); deeper input is rejected. Default 100.
   */
  maxDepth?: number;
  /**
   * Accept messages that lack proto2 `required` fields (protobuf's "partial" parse): a missing
   * required field stays absent (`undefined`). Default false: it is a DecodeError naming the
   * field, as protobuf C++'s ParseFromString and protobufjs do.
   */
  allowPartial?: boolean;
}

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

/**
 * Zero-copy protobuf reader over one Uint8Array. `bytes()` returns views of the input, never
 * copies: they stay valid exactly as long as the input memory does (for a NIC receive buffer,
 * until that buffer is released).
 *
 * Every method that consumes input checks bounds against `end` (the end of the innermost
 * length-delimited message being read), so a length prefix can never make a nested message read
 * past its parent.
 */
export class Reader {
  pos: number;
  end: number;
  depth = 0;
  readonly maxDepth: number;
  /** missing required fields are accepted (ReadOptions.allowPartial) */
  readonly partial: boolean;
  constructor(
    readonly buf: Uint8Array,
    options?: ReadOptions,
  ) {
    this.pos = 0;
    this.end = buf.length;
    this.maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.partial = options?.allowPartial === true;
  }

  /** Fails the decode of a message that lacks required field `field` (unless partial). */
  missing(field: string): void {
    if (!this.partial) this.fail(`missing required field ${field}`);
  }

  fail(what: string, at: number = this.pos): never {
    throw new DecodeError(`${what} at offset ${at}`, at);
  }

  /** Reads a tag; returns it as an unsigned number. Validates field number and wire type. */
  tag(): number {
    const at = this.pos;
    if (at < this.end) {
      // one-byte tags (fields 1..15) are the common case
      const b = this.buf[at]!;
      if (b < 0x80 && b >= 8 && (b & 7) < 6) {
        this.pos = at + 1;
        return b;
      }
    }
    const t = this.varint32Strict(5, "tag");
    const fieldNo = t >>> 3;
    if (fieldNo === 0) this.fail("invalid field number 0", at);
    const wt = t & 7;
    if (wt > 5) this.fail(`invalid wire type ${wt} (field ${fieldNo})`, at);
    return t;
  }

  /** A varint that must fit in `maxBytes` bytes and 32 bits (tags, lengths). */
  private varint32Strict(maxBytes: number, what: string): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      // one byte (lengths below 128): the common case
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
    }
    let v = 0;
    for (let shift = 0, i = 0; i < maxBytes; i++, shift += 7) {
      if (pos >= this.end) this.fail(`truncated ${what}`);
      const b = buf[pos++]!;
      if (i === 4 && b > 0x0f) this.fail(`${what} exceeds 32 bits`, this.pos);
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return v >>> 0;
      }
    }
    this.fail(`${what} longer than ${maxBytes} bytes`);
  }

  /**
   * A varint truncated to its low 32 bits (int32/uint32/enum/bool semantics). Accepts up to 10
   * bytes, as negative int32 values are sign-extended to 64 bits on the wire.
   */
  varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos < end) {
      // one byte (values below 128): the common case, in packed runs too
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
    }
    if (end - pos >= 10) {
      // fast path: no bounds checks needed for a well-formed varint
      let b = buf[pos++]!;
      let v = b & 0x7f;
      if (b < 0x80) { this.pos = pos; return v; }
      b = buf[pos++]!; v |= (b & 0x7f) << 7;
      if (b < 0x80) { this.pos = pos; return v; }
      b = buf[pos++]!; v |= (b & 0x7f) << 14;
      if (b < 0x80) { this.pos = pos; return v; }
      b = buf[pos++]!; v |= (b & 0x7f) << 21;
      if (b < 0x80) { this.pos = pos; return v >>> 0; }
      b = buf[pos++]!; v |= (b & 0x0f) << 28;
      if (b < 0x80) { this.pos = pos; return v >>> 0; }
      // bytes 6..10 carry only the high 32 bits: skip them
      for (let i = 5; i < 10; i++) {
        if (buf[pos++]! < 0x80) { this.pos = pos; return v >>> 0; }
      }
      this.fail("varint longer than 10 bytes");
    }
    let v = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail("truncated varint");
      const b = buf[pos++]!;
      if (i < 5) v |= (b & 0x7f) << (7 * i);
      if (b < 0x80) { this.pos = pos; return v >>> 0; }
    }
    this.fail("varint longer than 10 bytes");
  }

  uint32(): number { return this.varint32(); }
  int32(): number { return this.varint32() | 0; }
  sint32(): number { const v = this.varint32(); return (v >>> 1) ^ -(v & 1); }
  bool(): boolean {
    // a bool is a full 64-bit varint: any non-zero bit anywhere means true
    const buf = this.buf;
    const p = this.pos;
    if (p < this.end) {
      // one byte (0 or 1): the common case
      const b0 = buf[p]!;
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0 !== 0;
      }
    }
    let nz = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = buf[this.pos++]!;
      // the 10th byte holds bit 63 only: its other bits fall outside the 64-bit value (protobuf
      // C++ reads such a varint as false when bits 0..63 are all zero)
      nz |= i === 9 ? b & 1 : b & 0x7f;
      if (b < 0x80) return nz !== 0;
    }
    this.fail("varint longer than 10 bytes");
  }

  /** Low and high halves of a 64-bit varint, stored in lo/hi. */
  lo = 0;
  hi = 0;
  varint64(): void {
    const buf = this.buf;
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) { lo |= (b & 0x0f) << 28; hi |= (b & 0x7f) >> 4; }
      else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) { this.lo = lo >>> 0; this.hi = hi >>> 0; return; }
    }
    this.fail("varint longer than 10 bytes");
  }
  uint64(): bigint { this.varint64(); return joinUnsigned(this.lo, this.hi); }
  int64(): bigint { this.varint64(); return joinSigned(this.lo, this.hi); }
  sint64(): bigint {
    this.varint64();
    const lo = this.lo, hi = this.hi;
    // unzigzag on halves: (v >>> 1) ^ -(v & 1)
    const m = -(lo & 1);
    const nlo = (((lo >>> 1) | (hi << 31)) ^ m) >>> 0;
    const nhi = ((hi >>> 1) ^ m) >>> 0;
    return joinSigned(nlo, nhi);
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.end) this.fail(`truncated ${n}-byte field`);
    this.pos = p + n;
    return p;
  }
  fixed32(): number {
    const p = this.need(4), b = this.buf;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }
  sfixed32(): number { return this.fixed32() | 0; }
  private halves64(): void {
    const p = this.need(8), b = this.buf;
    this.lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    this.hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
  }
  fixed64(): bigint { this.halves64(); return joinUnsigned(this.lo, this.hi); }
  sfixed64(): bigint { this.halves64(); return joinSigned(this.lo, this.hi); }
  float(): number {
    const p = this.need(4), b = this.buf;
    f32b[0] = b[p]!; f32b[1] = b[p + 1]!; f32b[2] = b[p + 2]!; f32b[3] = b[p + 3]!;
    return f32[0]!;
  }
  double(): number {
    const p = this.need(8), b = this.buf;
    f64b[0] = b[p]!; f64b[1] = b[p + 1]!; f64b[2] = b[p + 2]!; f64b[3] = b[p + 3]!;
    f64b[4] = b[p + 4]!; f64b[5] = b[p + 5]!; f64b[6] = b[p + 6]!; f64b[7] = b[p + 7]!;
    return f64[0]!;
  }

  /** Reads a length prefix and checks that many bytes remain; returns the end position. */
  lenEnd(): number {
    const at = this.pos;
    const len = this.varint32Strict(5, "length");
    if (len > 0x7fffffff) this.fail(`length ${len} exceeds 2 GiB`, at);
    const e = this.pos + len;
    if (e > this.end) this.fail(`length ${len} runs past the end of the input (${this.end - this.pos} bytes left)`, at);
    return e;
  }

  /** A length-delimited bytes field as a view of the input (no copy). */
  bytes(): Uint8Array {
    const e = this.lenEnd();
    // an empty value is the shared EMPTY_BYTES: a repeated field of empty values keeps 8 bytes of
    // heap per element, not a view object each
    if (e === this.pos) return EMPTY_BYTES;
    const buf = this.buf;
    // a plain view built directly: cheaper than subarray, which for a Node Buffer goes through
    // Buffer's own subarray and builds another Buffer
    const v = new Uint8Array(buf.buffer, buf.byteOffset + this.pos, e - this.pos);
    this.pos = e;
    return v;
  }

  /** A string field; `validate` rejects invalid UTF-8 (proto3 and editions VERIFY). */
  string(validate: boolean): string {
    const e = this.lenEnd();
    const start = this.pos;
    this.pos = e;
    try {
      return utf8Read(this.buf, start, e, validate);
    } catch {
      this.fail("invalid UTF-8 in string field", start);
    }
  }

  /** Enters a nested message or group (depth check). */
  enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`message nesting deeper than ${this.maxDepth}`);
  }
  leave(): void {
    this.depth--;
  }

  /**
   * Skips the value of a field whose tag was just read; returns nothing. Groups are skipped
   * recursively (with the depth limit) and must end with a matching END_GROUP.
   */
  skip(tag: number): void {
    switch (tag & 7) {
      case WireType.Varint:
        this.varint32();
        return;
      case WireType.I64:
        this.need(8);
        return;
      case WireType.Len:
        this.pos = this.lenEnd();
        return;
      case WireType.I32:
        this.need(4);
        return;
      case WireType.StartGroup: {
        this.enter();
        const fieldNo = tag >>> 3;
        for (;;) {
          if (this.pos >= this.end) this.fail(`unterminated group (field ${fieldNo})`);
          const t = this.tag();
          if ((t & 7) === WireType.EndGroup) {
            if (t >>> 3 !== fieldNo) this.fail(`END_GROUP for field ${t >>> 3} inside group ${fieldNo}`);
            break;
          }
          this.skip(t);
        }
        this.leave();
        return;
      }
      case WireType.EndGroup:
        this.fail(`unexpected END_GROUP (field ${tag >>> 3})`);
    }
  }

  /**
   * Keeps input bytes [start, pos) — one or more whole unknown fields — in `m.$unknown`, as a view
   * of the input. A run of adjacent unknown fields stays one view (the last one grows), so the
   * heap a decoded message keeps for them does not grow with their number.
   */
  keepUnknown(m: { $unknown?: Uint8Array[] }, start: number): void {
    const buf = this.buf;
    const u = m.$unknown;
    if (u !== undefined && u.length !== 0) {
      const last = u[u.length - 1]!;
      const from = last.byteOffset;
      if (from + last.length === buf.byteOffset + start && last.buffer === buf.buffer) {
        u[u.length - 1] = new Uint8Array(buf.buffer, from, buf.byteOffset + this.pos - from);
        return;
      }
    }
    const v = new Uint8Array(buf.buffer, buf.byteOffset + start, this.pos - start);
    if (u === undefined) m.$unknown = [v];
    else u.push(v);
  }

  /**
   * Skips a field and returns the raw bytes of tag and value as a view of the input (for
   * unknown-field preservation). `start` is the position of the tag.
   */
  skipRaw(tag: number, start: number): Uint8Array {
    this.skip(tag);
    return this.buf.subarray(start, this.pos);
  }
}

export { MAX_FIELD_NUMBER };
