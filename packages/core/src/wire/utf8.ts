/**
 * UTF-8 for protobuf strings. Short strings are encoded by a hand-written loop (cheaper than a
 * TextEncoder call for a few bytes), long ones by the platform encoder. Short ASCII is decoded by a
 * loop too; the rest by one native call (Buffer's utf8Slice in Node, TextDecoder elsewhere).
 * Lone surrogates are written as U+FFFD (3 bytes), exactly as TextEncoder does, so the size pass
 * and the write pass always agree.
 */

const encoder = new TextEncoder();
const decoderLenient = new TextDecoder("utf-8", { ignoreBOM: true });
const decoderStrict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strings at least this long are encoded natively (utf8Write, or TextEncoder.encodeInto). */
const LONG_WRITE = 64;
/** Inputs longer than this are decoded natively; shorter ASCII ones in JavaScript. */
const SHORT_READ = 24;

/**
 * Node's native UTF-8 length (it counts lone surrogates as 3 bytes, as U+FFFD, like the loop
 * below). Optimized code calls it without leaving JavaScript's fast path (a V8 fast API call):
 * cheaper than the loop at every length, 4 characters included. Absent outside Node.
 */
const nativeByteLength = (globalThis as { Buffer?: { byteLength(s: string, enc: "utf8"): number } }).Buffer?.byteLength;

/**
 * Node's native UTF-8 writer (Buffer's own `utf8Write`, which accepts a plain Uint8Array; lone
 * surrogates become U+FFFD as with TextEncoder). Cheaper than TextEncoder.encodeInto, which needs
 * a view of the target; slower than the loop below for short strings. Absent outside Node.
 */
const nativeWrite = (globalThis as { Buffer?: { prototype: { utf8Write?: (this: Uint8Array, s: string, offset: number) => number } } }).Buffer?.prototype.utf8Write;

/** Byte length of `s` in UTF-8. */
export function utf8Length(s: string): number {
  if (nativeByteLength !== undefined) return nativeByteLength(s, "utf8");
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      len += 2; // a surrogate pair: 2 UTF-16 units become 4 bytes
    } else len += 2; // BMP character or lone surrogate (written as U+FFFD): 3 bytes
  }
  return len;
}

/** Writes `s` as UTF-8 at `pos` (the caller has sized the buffer); returns the new position. */
export function utf8Write(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  if (n >= LONG_WRITE) {
    if (nativeWrite !== undefined) return pos + nativeWrite.call(buf, s, pos);
    return pos + encoder.encodeInto(s, buf.subarray(pos)).written;
  }
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          buf[pos++] = 0xf0 | (c >> 18);
          buf[pos++] = 0x80 | ((c >> 12) & 63);
          buf[pos++] = 0x80 | ((c >> 6) & 63);
          buf[pos++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    }
  }
  return pos;
}

/**
 * Node's native UTF-8 decoder (Buffer's own `utf8Slice`, which also accepts a plain Uint8Array):
 * one call builds a flat string from any range, with no view object and no JavaScript scan of the
 * bytes first. Invalid sequences become U+FFFD exactly as TextDecoder (WHATWG) makes them. Absent
 * outside Node.
 */
const utf8Slice = (globalThis as { Buffer?: { prototype: { utf8Slice?: (this: Uint8Array, start: number, end: number) => string } } }).Buffer?.prototype.utf8Slice;

/**
 * Decodes buf[start, end) as UTF-8. With `strict`, invalid UTF-8 (overlong forms, surrogates,
 * truncated sequences, code points past U+10FFFF) throws a TypeError; without it, invalid
 * sequences become U+FFFD as in every other protobuf runtime that does not validate.
 */
export function utf8Read(buf: Uint8Array, start: number, end: number, strict: boolean): string {
  if (end - start > SHORT_READ) return utf8ReadNative(buf, start, end, strict);
  // Short ASCII is built in JavaScript, four characters per String.fromCharCode: cheaper than a
  // call into native code, which costs more than building a few characters. (Joined strings
  // under 13 characters are flat copies in V8; longer ones are flattened when first read.)
  let s = "";
  let i = start;
  for (; i + 3 < end; i += 4) {
    const c1 = buf[i]!, c2 = buf[i + 1]!, c3 = buf[i + 2]!, c4 = buf[i + 3]!;
    if ((c1 | c2 | c3 | c4) >= 0x80) return utf8ReadNative(buf, start, end, strict);
    s += String.fromCharCode(c1, c2, c3, c4);
  }
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return utf8ReadNative(buf, start, end, strict);
    s += String.fromCharCode(c);
  }
  return s;
}

/** Any UTF-8 through the platform: Node's utf8Slice, or TextDecoder elsewhere. */
function utf8ReadNative(buf: Uint8Array, start: number, end: number, strict: boolean): string {
  if (utf8Slice !== undefined) {
    const s = utf8Slice.call(buf, start, end);
    // Only a string with a U+FFFD can come from invalid input: the strict decoder then judges
    // (the input may hold a real U+FFFD). Valid input costs a scan of the string, no second decode.
    if (strict && s.indexOf("\ufffd") !== -1) decoderStrict.decode(buf.subarray(start, end));
    return s;
  }
  return (strict ? decoderStrict : decoderLenient).decode(buf.subarray(start, end));
}
