import type { RefBuffer, SgList } from "@sgwire/core";
import type { HeapMemory } from "../heap-memory.js";
import { LentRecord } from "../lent-check.js";
import { lengthPrefix } from "./framing.js";
import type { ArenaChunk } from "../send-arena.js";

/** One message prepared for a kernel socket: segments safe to hold until completion. */
export interface Prepared {
  /** The send memory the encoder wrote this message's scratch into (send({ codec, message })), released at completion. */
  lease: ArenaChunk | null;
  /** Scratch copied into memory the send owns; references as the application gave them. */
  segments: Uint8Array[];
  /** Buffers from allocate() this send retained; released at completion. */
  lent: RefBuffer[] | null;
  /** Bytes this port copied (the scratch, or for a list the encoder wrote into send memory, the prefix alone). */
  scratchBytes: number;
  /** Bytes of the application's memory the segments reference. */
  referencedBytes: number;
  /** Bytes the socket is given: the whole message and its prefix (what bytesSent counts). */
  wireBytes: number;
  /** Debug mode only: fingerprints of the referenced segments at send time. */
  check: LentRecord | null;
}

/** A referenced segment: fingerprinted in debug mode, and its owner retained if it came from `memory`. */
function lendOne(s: Uint8Array, memory: HeapMemory, lent: RefBuffer[] | null, check: LentRecord | null): RefBuffer[] | null {
  check?.add(s);
  const rb = memory.owner(s);
  if (rb !== undefined) (lent ??= []).push(rb.retain());
  return lent;
}

/**
 * Copies the SgList's scratch segments into one new buffer (the list's scratch may be reused by
 * the next encode before the kernel has sent this one) and retains every referenced buffer that
 * came from `memory`. `prefix` bytes are reserved at the front of the copy (TCP's length varint).
 */
export function prepare(list: SgList, memory: HeapMemory, prefix: Uint8Array | null, debug = false): Prepared {
  const segs = list.segments;
  const n = segs.length;
  let scratchBytes = prefix === null ? 0 : prefix.length;
  for (let i = 0; i < n; i++) if (list.isScratch(i)) scratchBytes += segs[i]!.length;
  // allocUnsafe may slice Node's pool: fine, this memory is ours and never handed out
  const copy = Buffer.allocUnsafe(scratchBytes);
  const out: Uint8Array[] = [];
  let pos = 0;
  let lent: RefBuffer[] | null = null;
  const check = debug ? new LentRecord() : null;
  if (prefix !== null) {
    copy.set(prefix, 0);
    pos = prefix.length;
  }
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const s = segs[i]!;
    if (list.isScratch(i)) {
      copy.set(s, pos);
      pos += s.length;
      continue;
    }
    if (pos > runStart) out.push(copy.subarray(runStart, pos));
    runStart = pos;
    out.push(s);
    lent = lendOne(s, memory, lent, check);
  }
  if (pos > runStart) out.push(copy.subarray(runStart, pos));
  const wireBytes = list.byteLength + (prefix?.length ?? 0);
  return { lease: null, segments: out, lent, scratchBytes, referencedBytes: wireBytes - scratchBytes, wireBytes, check };
}

/**
 * Prepares a list whose scratch the port owns (the encoder wrote it into the port's send memory,
 * `lease`, or into scratch the list allocated for this send alone): its segments go to the socket
 * as they are, nothing is copied but the `prefix`. `scratchBytes` is then the prefix alone.
 */
export function prepareOwned(list: SgList, memory: HeapMemory, prefix: Uint8Array | null, lease: ArenaChunk | null, debug = false): Prepared {
  return owned(list, memory, lease, prefix === null ? [] : [prefix], 0, prefix?.length ?? 0, debug);
}

/**
 * prepareOwned for a stream that frames each message with its varint length (TCP), when the
 * encoder wrote into `lease` with its arena's headroom free in front of the scratch: the prefix
 * is written there, and prefix and the first scratch run are one segment (one write less per
 * message than a separate prefix). Otherwise the prefix is a segment of its own.
 */
export function prepareOwnedFramed(list: SgList, memory: HeapMemory, lease: ArenaChunk | null, debug = false): Prepared {
  const segs = list.segments;
  const n = list.byteLength;
  const k = n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
  const s0 = segs[0];
  // the first segment starts the scratch, which starts `headroom` bytes into this send's region
  if (lease === null || s0 === undefined || k > lease.arena.headroom || !list.isScratch(0) || s0.byteOffset !== list.scratch.byteOffset) {
    return prepareOwned(list, memory, lengthPrefix(n), lease, debug);
  }
  const b = lease.bytes;
  let at = s0.byteOffset - k - b.byteOffset;
  const start = at;
  let v = n;
  while (v > 0x7f) {
    b[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  b[at] = v;
  return owned(list, memory, lease, [new Uint8Array(b.buffer, b.byteOffset + start, k + s0.length)], 1, k, debug);
}

/** `out` followed by the list's segments from `from`, the referenced ones lent; `prefixBytes` the port wrote. */
function owned(list: SgList, memory: HeapMemory, lease: ArenaChunk | null, out: Uint8Array[], from: number, prefixBytes: number, debug: boolean): Prepared {
  const segs = list.segments;
  let lent: RefBuffer[] | null = null;
  const check = debug ? new LentRecord() : null;
  for (let i = from; i < segs.length; i++) {
    const s = segs[i]!;
    out.push(s);
    if (!list.isScratch(i)) lent = lendOne(s, memory, lent, check);
  }
  return { lease, segments: out, lent, scratchBytes: prefixBytes, referencedBytes: list.bytesReferenced, wireBytes: list.byteLength + prefixBytes, check };
}

/** At completion: returns the first lent segment that changed (debug mode), then releases the lent buffers and the send memory. */
export function releaseLent(p: Prepared): Uint8Array | null {
  const changed = p.check?.changed() ?? null;
  p.check = null;
  if (p.lease !== null) {
    p.lease.arena.give(p.lease);
    p.lease = null;
  }
  if (p.lent !== null) for (const rb of p.lent) rb.release();
  p.lent = null;
  return changed;
}
