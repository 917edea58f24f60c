/**
 * FlatBuffers tables equivalent to bench.proto, written by hand the way flatc's TypeScript output
 * is (flatc is not available on this machine): builders add fields largest first, readers look
 * fields up through the vtable. The schema they stand for:
 *
 *   table Small  { id:uint; count:int; delta:int; flags:uint; ok:bool; score:double; ratio:float; ttl:uint; }
 *   table Blob   { id:uint; key:[ubyte]; value:[ubyte]; }
 *   table Bytes  { data:[ubyte]; }              // flatbuffers has no vector of vectors
 *   table List   { id:uint; values:[Bytes]; }
 *   table Node   { id:uint; name:string; payload:[ubyte]; children:[Node]; }
 *   table Record { id:string; name:string; email:string; tags:[string]; description:string; version:uint; }
 *
 * `read*` functions materialise a plain object (every field read once; byte vectors as views of
 * the buffer, strings decoded), the counterpart of a protobuf decode.
 */
import * as fb from "flatbuffers";

type Builder = fb.Builder;
type ByteBuffer = fb.ByteBuffer;
type Off = number;
const EMPTY = new Uint8Array(0);

// ---- reading helpers (what flatc generates inline)

/** Offset of field `slot` within the table at `pos`, or 0 when absent. */
function at(bb: ByteBuffer, pos: number, slot: number): number {
  return bb.__offset(pos, 4 + 2 * slot);
}

function u32(bb: ByteBuffer, pos: number, slot: number): number {
  const o = at(bb, pos, slot);
  return o ? bb.readUint32(pos + o) : 0;
}

function i32(bb: ByteBuffer, pos: number, slot: number): number {
  const o = at(bb, pos, slot);
  return o ? bb.readInt32(pos + o) : 0;
}

function str(bb: ByteBuffer, pos: number, slot: number): string {
  const o = at(bb, pos, slot);
  return o ? (bb.__string(pos + o) as string) : "";
}

/** A [ubyte] vector as a view of the buffer (flatc's `fooArray()`). */
function bytes(bb: ByteBuffer, pos: number, slot: number): Uint8Array {
  const o = at(bb, pos, slot);
  if (!o) return EMPTY;
  const b = bb.bytes();
  return new Uint8Array(b.buffer, b.byteOffset + bb.__vector(pos + o), bb.__vector_len(pos + o));
}

/** Positions of the tables in a vector of tables. */
function tables(bb: ByteBuffer, pos: number, slot: number): number[] {
  const o = at(bb, pos, slot);
  if (!o) return [];
  const n = bb.__vector_len(pos + o);
  const v = bb.__vector(pos + o);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = bb.__indirect(v + 4 * i);
  return out;
}

function rootPos(bb: ByteBuffer): number {
  return bb.readInt32(bb.position()) + bb.position();
}

// ---- the tables

export interface SmallMsg { id: number; count: number; delta: number; flags: number; ok: boolean; score: number; ratio: number; ttl: number }

export function buildSmall(b: Builder, m: SmallMsg): Off {
  b.startObject(8);
  b.addFieldFloat64(5, m.score, 0);
  b.addFieldInt32(0, m.id, 0);
  b.addFieldInt32(1, m.count, 0);
  b.addFieldInt32(2, m.delta, 0);
  b.addFieldInt32(3, m.flags, 0);
  b.addFieldFloat32(6, m.ratio, 0);
  b.addFieldInt32(7, m.ttl, 0);
  b.addFieldInt8(4, +m.ok, 0);
  return b.endObject();
}

export function readSmall(bb: ByteBuffer): SmallMsg {
  const p = rootPos(bb);
  const o5 = at(bb, p, 5);
  const o6 = at(bb, p, 6);
  const o4 = at(bb, p, 4);
  return {
    id: u32(bb, p, 0), count: i32(bb, p, 1), delta: i32(bb, p, 2), flags: u32(bb, p, 3),
    ok: o4 ? !!bb.readInt8(p + o4) : false,
    score: o5 ? bb.readFloat64(p + o5) : 0,
    ratio: o6 ? bb.readFloat32(p + o6) : 0,
    ttl: u32(bb, p, 7),
  };
}

export interface BlobMsg { id: number; key: Uint8Array; value: Uint8Array }

export function buildBlob(b: Builder, m: BlobMsg): Off {
  const value = b.createByteVector(m.value);
  const key = b.createByteVector(m.key);
  b.startObject(3);
  b.addFieldOffset(2, value, 0);
  b.addFieldOffset(1, key, 0);
  b.addFieldInt32(0, m.id, 0);
  return b.endObject();
}

export function readBlob(bb: ByteBuffer): BlobMsg {
  const p = rootPos(bb);
  return { id: u32(bb, p, 0), key: bytes(bb, p, 1), value: bytes(bb, p, 2) };
}

export interface ListMsg { id: number; values: Uint8Array[] }

export function buildList(b: Builder, m: ListMsg): Off {
  const n = m.values.length;
  const items = new Array<Off>(n);
  for (let i = 0; i < n; i++) {
    const data = b.createByteVector(m.values[i]!);
    b.startObject(1);
    b.addFieldOffset(0, data, 0);
    items[i] = b.endObject();
  }
  b.startVector(4, n, 4);
  for (let i = n - 1; i >= 0; i--) b.addOffset(items[i]!);
  const values = b.endVector();
  b.startObject(2);
  b.addFieldOffset(1, values, 0);
  b.addFieldInt32(0, m.id, 0);
  return b.endObject();
}

export function readList(bb: ByteBuffer): ListMsg {
  const p = rootPos(bb);
  return { id: u32(bb, p, 0), values: tables(bb, p, 1).map((t) => bytes(bb, t, 0)) };
}

export interface NodeMsg { id: number; name: string; payload: Uint8Array; children: NodeMsg[] }

export function buildNode(b: Builder, m: NodeMsg): Off {
  const kids = m.children;
  let children = 0;
  if (kids.length > 0) {
    const offs = new Array<Off>(kids.length);
    for (let i = 0; i < kids.length; i++) offs[i] = buildNode(b, kids[i]!);
    b.startVector(4, offs.length, 4);
    for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i]!);
    children = b.endVector();
  }
  const payload = b.createByteVector(m.payload);
  const name = b.createString(m.name);
  b.startObject(4);
  if (children) b.addFieldOffset(3, children, 0);
  b.addFieldOffset(2, payload, 0);
  b.addFieldOffset(1, name, 0);
  b.addFieldInt32(0, m.id, 0);
  return b.endObject();
}

function readNodeAt(bb: ByteBuffer, p: number): NodeMsg {
  return {
    id: u32(bb, p, 0), name: str(bb, p, 1), payload: bytes(bb, p, 2),
    children: tables(bb, p, 3).map((t) => readNodeAt(bb, t)),
  };
}

export function readNode(bb: ByteBuffer): NodeMsg {
  return readNodeAt(bb, rootPos(bb));
}

export interface RecordMsg { id: string; name: string; email: string; tags: string[]; description: string; version: number }

export function buildRecord(b: Builder, m: RecordMsg): Off {
  const id = b.createString(m.id);
  const name = b.createString(m.name);
  const email = b.createString(m.email);
  const tagOffs = m.tags.map((t) => b.createString(t));
  b.startVector(4, tagOffs.length, 4);
  for (let i = tagOffs.length - 1; i >= 0; i--) b.addOffset(tagOffs[i]!);
  const tags = b.endVector();
  const description = b.createString(m.description);
  b.startObject(6);
  b.addFieldOffset(0, id, 0);
  b.addFieldOffset(1, name, 0);
  b.addFieldOffset(2, email, 0);
  b.addFieldOffset(3, tags, 0);
  b.addFieldOffset(4, description, 0);
  b.addFieldInt32(5, m.version, 0);
  return b.endObject();
}

export function readRecord(bb: ByteBuffer): RecordMsg {
  const p = rootPos(bb);
  const o = at(bb, p, 3);
  const tags: string[] = [];
  if (o) {
    const n = bb.__vector_len(p + o);
    const v = bb.__vector(p + o);
    for (let i = 0; i < n; i++) tags.push(bb.__string(v + 4 * i) as string);
  }
  return { id: str(bb, p, 0), name: str(bb, p, 1), email: str(bb, p, 2), tags, description: str(bb, p, 4), version: u32(bb, p, 5) };
}
