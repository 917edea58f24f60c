/**
 * Output buffers for small encodes. Allocating a fresh ArrayBuffer costs hundreds of nanoseconds
 * (an off-heap allocation the GC must track), more than encoding a small message, so small
 * outputs are carved from shared 64 KiB slabs, as Node's Buffer.allocUnsafe does. The returned
 * Uint8Array is an exclusive view: nothing else is ever written to its bytes; a slab lives as
 * long as any view of it does. Views of a slab must not be lent to a transport that needs
 * registered memory (they are ordinary heap memory anyway).
 */

const SLAB_BYTES = 64 * 1024;
/** outputs at least this large get their own ArrayBuffer */
const MAX_POOLED = 4096;

let slab = new ArrayBuffer(SLAB_BYTES);
let offset = 0;

/** A Uint8Array of exactly `n` bytes; contents are unspecified (the caller overwrites them). */
export function allocOutput(n: number): Uint8Array {
  if (n >= MAX_POOLED) return new Uint8Array(n);
  if (offset + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    offset = 0;
  }
  const out = new Uint8Array(slab, offset, n);
  // keep every view 8-byte aligned so the next one starts on a fresh word
  offset = (offset + n + 7) & ~7;
  return out;
}
