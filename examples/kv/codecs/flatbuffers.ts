/**
 * FlatBuffers, the second baseline. There is no flatc here, so these are the builders and readers
 * flatc would generate for this schema, written by hand:
 *
 *   table Request  { id:uint; op:uint; keys:[string]; value:[ubyte]; value_size:uint; value_offset:uint; }
 *   table Bytes    { data:[ubyte]; }                  // flatbuffers has no vector of vectors
 *   table Response { id:uint; status:uint; values:[Bytes]; missing:[uint]; part:uint; parts:uint;
 *                    first_index:uint; first_offset:uint; sizes:[uint]; }
 *
 * Slots are the protobuf field numbers minus one. The Builder copies every byte vector into its
 * buffer (back to front); each message gets a Builder sized to fit, so the finished bytes are
 * that message's own and no grow-and-copy happens. Readers return byte vectors as views.
 */
import * as fb from "flatbuffers";
import type { SgList } from "@sgwire/core";
import type { Request, Response } from "../../gen/kv.sg.js";
import { oneSegment, type KvCodec } from "./codec.js";

type ByteBuffer = fb.ByteBuffer;
const EMPTY = new Uint8Array(0);

// flatbuffers' JS readers trust every offset and length (there is no verifier): out of range they
// read undefined as 0, and a garbage vector length makes a loop of up to 2^31 iterations. Received
// bytes come from anyone, so every offset and length is checked against the buffer before use
// (what flatc's C++ Verifier does) and a bad one throws RangeError: the message is undecodable.

/** Throws unless bytes [at, at + n) lie inside the buffer. */
function inside(bb: ByteBuffer, at: number, n: number): void {
  if (!(at >= 0 && n >= 0 && at + n <= bb.capacity())) throw new RangeError(`flatbuffers: ${n} bytes at offset ${at} run outside the ${bb.capacity()}-byte message`);
}

/** Offset of field `slot` of the table at `pos` (0 when absent), checked: the field's 4 bytes are inside. */
function field(bb: ByteBuffer, pos: number, slot: number): number {
  const vt = pos - bb.readInt32(pos);
  inside(bb, vt, 4);
  const vtLen = bb.readUint16(vt);
  const at = 4 + 2 * slot;
  if (at >= vtLen) return 0;
  inside(bb, vt, at + 2);
  const o = bb.readUint16(vt + at);
  if (o !== 0) inside(bb, pos + o, 4);
  return o;
}

/** A table's position from the offset stored at `at`, checked (its vtable offset is inside). */
function table(bb: ByteBuffer, at: number): number {
  inside(bb, at, 4);
  const pos = at + bb.readUint32(at);
  inside(bb, pos, 4);
  return pos;
}

/** Start and length of the vector whose offset is stored at `at`, checked against `elem` bytes per element. */
function vector(bb: ByteBuffer, at: number, elem: number): [number, number] {
  const v = at + bb.readUint32(at);
  inside(bb, v, 4);
  const n = bb.readUint32(v);
  inside(bb, v + 4, n * elem);
  return [v + 4, n];
}

function u32(bb: ByteBuffer, pos: number, slot: number): number {
  const o = field(bb, pos, slot);
  return o ? bb.readUint32(pos + o) : 0;
}

function bytesAt(bb: ByteBuffer, pos: number, slot: number): Uint8Array {
  const o = field(bb, pos, slot);
  if (!o) return EMPTY;
  const [v, n] = vector(bb, pos + o, 1);
  const b = bb.bytes();
  return new Uint8Array(b.buffer, b.byteOffset + v, n);
}

function u32s(bb: ByteBuffer, pos: number, slot: number): number[] {
  const o = field(bb, pos, slot);
  if (!o) return [];
  const [v, n] = vector(bb, pos + o, 4);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = bb.readUint32(v + 4 * i);
  return out;
}

function root(bytes: Uint8Array): [ByteBuffer, number] {
  const bb = new fb.ByteBuffer(bytes);
  return [bb, table(bb, 0)];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function u32Vector(b: fb.Builder, xs: number[]): number {
  if (xs.length === 0) return 0;
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]! | 0);
  return b.endVector();
}

/** The finished buffer of a Builder that was made big enough: a view of its own memory. */
function finished(b: fb.Builder, rootOff: number): Uint8Array {
  b.finish(rootOff);
  return b.asUint8Array();
}

function buildRequest(m: Request): Uint8Array {
  let est = 64 + m.value.length;
  for (const k of m.keys) est += 3 * k.length + 12;
  const b = new fb.Builder(est);
  const value = m.value.length > 0 ? b.createByteVector(m.value) : 0;
  let keys = 0;
  if (m.keys.length > 0) {
    const offs = m.keys.map((k) => b.createString(k));
    b.startVector(4, offs.length, 4);
    for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i]!);
    keys = b.endVector();
  }
  b.startObject(6);
  if (value) b.addFieldOffset(3, value, 0);
  if (keys) b.addFieldOffset(2, keys, 0);
  b.addFieldInt32(0, m.id, 0);
  b.addFieldInt32(1, m.op, 0);
  b.addFieldInt32(4, m.valueSize, 0);
  b.addFieldInt32(5, m.valueOffset, 0);
  return finished(b, b.endObject());
}

function readRequest(bytes: Uint8Array): Request {
  const [bb, p] = root(bytes);
  const keys: string[] = [];
  const o = field(bb, p, 2);
  if (o) {
    const [v, n] = vector(bb, p + o, 4);
    const b = bb.bytes();
    for (let i = 0; i < n; i++) {
      const [s, len] = vector(bb, v + 4 * i, 1);
      keys.push(utf8.decode(b.subarray(s, s + len)));
    }
  }
  return { id: u32(bb, p, 0), op: u32(bb, p, 1), keys, value: bytesAt(bb, p, 3), valueSize: u32(bb, p, 4), valueOffset: u32(bb, p, 5) };
}

function buildResponse(m: Response): Uint8Array {
  let est = 96 + 4 * (m.missing.length + m.sizes.length);
  for (const v of m.values) est += v.length + 20;
  const b = new fb.Builder(est);
  const n = m.values.length;
  let values = 0;
  if (n > 0) {
    const items = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const data = b.createByteVector(m.values[i]!);
      b.startObject(1);
      b.addFieldOffset(0, data, 0);
      items[i] = b.endObject();
    }
    b.startVector(4, n, 4);
    for (let i = n - 1; i >= 0; i--) b.addOffset(items[i]!);
    values = b.endVector();
  }
  const missing = u32Vector(b, m.missing);
  const sizes = u32Vector(b, m.sizes);
  b.startObject(9);
  if (values) b.addFieldOffset(2, values, 0);
  if (missing) b.addFieldOffset(3, missing, 0);
  if (sizes) b.addFieldOffset(8, sizes, 0);
  b.addFieldInt32(0, m.id, 0);
  b.addFieldInt32(1, m.status, 0);
  b.addFieldInt32(4, m.part, 0);
  b.addFieldInt32(5, m.parts, 0);
  b.addFieldInt32(6, m.firstIndex, 0);
  b.addFieldInt32(7, m.firstOffset, 0);
  return finished(b, b.endObject());
}

function readResponse(bytes: Uint8Array): Response {
  const [bb, p] = root(bytes);
  const values: Uint8Array[] = [];
  const o = field(bb, p, 2);
  if (o) {
    const [v, n] = vector(bb, p + o, 4);
    for (let i = 0; i < n; i++) values.push(bytesAt(bb, table(bb, v + 4 * i), 0));
  }
  return {
    id: u32(bb, p, 0), status: u32(bb, p, 1), values, missing: u32s(bb, p, 3), part: u32(bb, p, 4), parts: u32(bb, p, 5),
    firstIndex: u32(bb, p, 6), firstOffset: u32(bb, p, 7), sizes: u32s(bb, p, 8),
  };
}

export const flatbuffersCodec: KvCodec = {
  name: "flatbuffers",
  ownsOutput: true,
  encodeRequest: (m, _policy, into: SgList) => oneSegment(into, buildRequest(m)),
  encodeResponse: (m, _policy, into: SgList) => oneSegment(into, buildResponse(m)),
  decodeRequest: readRequest,
  decodeResponse: readResponse,
  copied: (list) => list.byteLength,
};
