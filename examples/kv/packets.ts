/**
 * Messages larger than one packet. A datagram carries at most `caps.maxMessageBytes` (65507 B for
 * kernel UDP, the MTU minus headers for DPDK), so a large GET response or PUT is sent as several
 * self-contained protobuf messages, each referencing a slice of the value (a subarray: still zero
 * copy for sgwire). TCP has no such limit and never splits.
 *
 * Responses: the values of one response form a single stream of bytes cut into parts; a part's
 * values[0] starts at byte `firstOffset` of value `firstIndex`, and `sizes` gives each value's
 * whole size. Requests: a PUT value is cut into pieces that carry `valueSize` and `valueOffset`.
 */
import type { Request, Response } from "../gen/kv.sg.js";

/** Room kept in every packet for ids, tags, lengths and (flatbuffers) vtables and padding. */
const PACKET_OVERHEAD = 96;
/** Extra room per value piece in a packet (tag, length, flatbuffers table and alignment). */
const PER_VALUE = 24;

/** Bytes a response needs beyond its values, as budgeted here. */
function responseFits(r: Response, budget: number): boolean {
  let n = PACKET_OVERHEAD + 8 * r.missing.length;
  for (const v of r.values) n += v.length + PER_VALUE;
  return n <= budget;
}

/**
 * Cuts a response into parts of at most `budget` bytes each (as encoded by any of the codecs).
 * Returns [r] when it fits. Parts reference slices of r.values (no copies).
 */
export function splitResponse(r: Response, budget: number): Response[] {
  if (responseFits(r, budget)) return [r];
  const sizes = r.values.map((v) => v.length);
  const room = budget - PACKET_OVERHEAD - 8 * (r.missing.length + sizes.length);
  if (room < PER_VALUE + 1) throw new RangeError(`kv: packets of ${budget} bytes are too small for a response with ${sizes.length} values`);
  const parts: Response[] = [];
  let cur: Response | null = null;
  let left = 0;
  for (let i = 0; i < r.values.length; i++) {
    const v = r.values[i]!;
    let off = 0;
    do {
      if (cur === null || left <= PER_VALUE) {
        cur = { id: r.id, status: r.status, values: [], missing: r.missing, part: parts.length, parts: 0, firstIndex: i, firstOffset: off, sizes };
        parts.push(cur);
        left = room;
      }
      const n = Math.min(v.length - off, left - PER_VALUE);
      cur.values.push(v.subarray(off, off + n));
      left -= n + PER_VALUE;
      off += n;
    } while (off < v.length);
  }
  for (const p of parts) p.parts = parts.length;
  return parts;
}

/** Cuts a PUT into pieces of at most `budget` bytes; [r] when it fits. */
export function splitPut(r: Request, budget: number): Request[] {
  let keyBytes = 0;
  for (const k of r.keys) keyBytes += 3 * k.length + 8;
  const room = budget - PACKET_OVERHEAD - keyBytes;
  if (r.value.length <= room) return [r];
  if (room < 1) throw new RangeError(`kv: packets of ${budget} bytes are too small for this key`);
  const out: Request[] = [];
  for (let off = 0; off < r.value.length; off += room) {
    out.push({ id: r.id, op: r.op, keys: r.keys, value: r.value.subarray(off, off + room), valueSize: r.value.length, valueOffset: off });
  }
  return out;
}

/**
 * Puts a split response back together. Feed it every part (in any order, duplicates ignored);
 * `add` returns the whole response once all parts are in. Values are copied out of the parts
 * (their receive buffers are released right after), so the result owns its memory.
 */
export class ResponseAssembly {
  private readonly seen: boolean[] = [];
  private got = 0;
  private values: Uint8Array[] | null = null;
  private first: Response | null = null;

  add(p: Response): Response | null {
    const parts = p.parts;
    if (parts <= 1) return p;
    if (p.part >= parts || this.seen[p.part]) return null;
    this.seen[p.part] = true;
    this.got++;
    if (this.values === null) {
      this.values = p.sizes.map((n) => new Uint8Array(n));
      this.first = p;
    }
    const vals = this.values;
    let idx = p.firstIndex;
    let off = p.firstOffset;
    for (const piece of p.values) {
      const dst = vals[idx];
      if (dst === undefined || off + piece.length > dst.length) throw new RangeError(`kv: response ${p.id} part ${p.part} does not fit its sizes`);
      dst.set(piece, off);
      off += piece.length;
      if (off === dst.length) {
        idx++;
        off = 0;
      }
    }
    if (this.got < parts) return null;
    const f = this.first!;
    return { id: f.id, status: f.status, values: vals, missing: f.missing, part: 0, parts: 1, firstIndex: 0, firstOffset: 0, sizes: [] };
  }
}
