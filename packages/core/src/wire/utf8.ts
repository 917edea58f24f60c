/**
 * UTF-8 for protobuf strings. Short strings go through hand-written loops (cheaper than a
 * TextEncoder/TextDecoder call for a few bytes); long ones through the platform codecs.
 * Lone surrogates are written as U+FFFD (3 bytes), exactly as TextEncoder does, so the size pass
 * and the write pass always agree.
 */

const encoder = new TextEncoder();
const decoderLenient = new TextDecoder("utf-8", { ignoreBOM: true });
const decoderStrict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strings at least this long are encoded with TextEncoder.encodeInto. */
const LONG_WRITE = 64;
/** Inputs at least this long are decoded with TextDecoder. */
const LONG_READ = 32;

/**
 * Node's native UTF-8 length (it counts lone surrogates as 3 bytes, as U+FFFD, like the loop
 * below). About 3 ns per character cheaper than the loop for longer strings; absent outside Node.
 */
const nativeByteLength = (globalThis as { Buffer?: { byteLength(s: string, enc: "utf8"): number } }).Buffer?.byteLength;
/** Strings at least this long are measured natively when possible. */
const LONG_LENGTH = 16;

/** Byte length of `s` in UTF-8. */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n >= LONG_LENGTH && nativeByteLength !== undefined) return nativeByteLength(s, "utf8");
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
  if (n >= LONG_WRITE) return pos + encoder.encodeInto(s, buf.subarray(pos)).written;
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
 * Node's native Latin-1 decoder, for short ASCII runs (where Latin-1, ASCII and UTF-8 agree):
 * one call builds a flat string, about twice as fast as building it a character at a time (a
 * chain of concatenations that is flattened when first read); absent outside Node.
 */
const latin1Slice = (globalThis as { Buffer?: { prototype: { latin1Slice?: (this: Uint8Array, start: number, end: number) => string } } }).Buffer?.prototype.latin1Slice;

/**
 * Decodes buf[start, end) as UTF-8. With `strict`, invalid UTF-8 (overlong forms, surrogates,
 * truncated sequences, code points past U+10FFFF) throws a TypeError; without it, invalid
 * sequences become U+FFFD as in every other protobuf runtime that does not validate.
 */
export function utf8Read(buf: Uint8Array, start: number, end: number, strict: boolean): string {
  if (end - start >= LONG_READ) {
    return (strict ? decoderStrict : decoderLenient).decode(buf.subarray(start, end));
  }
  for (let i = start; i < end; i++) {
    // anything but plain ASCII: let the platform decoder judge validity
    if (buf[i]! >= 0x80) return (strict ? decoderStrict : decoderLenient).decode(buf.subarray(start, end));
  }
  if (latin1Slice !== undefined) return latin1Slice.call(buf, start, end);
  let out = "";
  for (let i = start; i < end; i++) out += String.fromCharCode(buf[i]!);
  return out;
}

