/**
 * The conformance runner's framing: each message is a 4-byte little-endian length followed by
 * that many bytes of protobuf, on the testee's stdin (requests) and stdout (responses).
 *
 * Plain synchronous fd I/O: the testee answers one request at a time, and never touching
 * process.stdin/stdout keeps Node from switching the pipes to non-blocking mode. EAGAIN is still
 * retried in case the runner hands us a non-blocking pipe.
 */
import { readSync, writevSync } from "node:fs";

const STDIN = 0;
const STDOUT = 1;

function isEagain(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === "EAGAIN";
}

/** Reads exactly `n` bytes into a new buffer; null on end of input before the first byte. */
function readExactly(n: number): Uint8Array | null {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    let got: number;
    try {
      got = readSync(STDIN, buf, off, n - off, null);
    } catch (err) {
      if (isEagain(err)) continue;
      throw err;
    }
    if (got === 0) {
      if (off === 0) return null;
      throw new Error(`stdin closed inside a frame (${off} of ${n} bytes read)`);
    }
    off += got;
  }
  return buf;
}

/**
 * The next request frame, or null when the runner has closed stdin. The returned buffer is owned
 * by the caller; decoded messages keep views of it.
 */
export function readFrame(): Uint8Array | null {
  const head = readExactly(4);
  if (head === null) return null;
  const len = new DataView(head.buffer).getUint32(0, true);
  if (len === 0) return new Uint8Array(0);
  const body = readExactly(len);
  if (body === null) throw new Error(`stdin closed before a ${len}-byte frame`);
  return body;
}

/**
 * Writes one response frame whose body is the concatenation of `segments` (an SgList's
 * segments): one gathered write of header + segments, as a NIC backend would transmit them.
 * The segments are only read, and are no longer needed once this returns.
 */
export function writeFrame(segments: readonly Uint8Array[], byteLength: number): void {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, byteLength, true);
  let pending: Uint8Array[] = [head, ...segments.filter((s) => s.length > 0)];
  while (pending.length > 0) {
    let wrote: number;
    try {
      wrote = writevSync(STDOUT, pending);
    } catch (err) {
      if (isEagain(err)) continue;
      throw err;
    }
    // a short write: drop what went out and continue with the rest
    while (pending.length > 0 && wrote >= pending[0]!.length) {
      wrote -= pending[0]!.length;
      pending.shift();
    }
    if (wrote > 0) pending[0] = pending[0]!.subarray(wrote);
  }
}
