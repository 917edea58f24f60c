// Base64 for ProtoJSON bytes: standard alphabet with padding on output; standard or URL-safe
// alphabet, padding optional, on input (RFC 4648 sections 4 and 5).

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** char code -> 6-bit value, -1 for characters outside both alphabets */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[STD.charCodeAt(i)] = i;
DECODE["-".charCodeAt(0)] = 62;
DECODE["_".charCodeAt(0)] = 63;

/** Standard base64 of `bytes`, with padding. */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += STD[v >> 18]! + STD[(v >> 12) & 63]! + STD[(v >> 6) & 63]! + STD[v & 63]!;
  }
  if (n - i === 1) {
    const v = bytes[i]! << 16;
    out += STD[v >> 18]! + STD[(v >> 12) & 63]! + "==";
  } else if (n - i === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += STD[v >> 18]! + STD[(v >> 12) & 63]! + STD[(v >> 6) & 63]! + "=";
  }
  return out;
}

/**
 * The bytes of base64 text in either alphabet, with or without padding. Returns a string naming
 * the problem when the text is not base64.
 */
export function base64Decode(s: string): Uint8Array | string {
  let end = s.length;
  let pad = 0;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) {
    end--;
    pad++;
  }
  if (pad > 2) return "more than two '=' at the end";
  if (pad > 0 && s.length % 4 !== 0) return "padded base64 whose length is not a multiple of 4";
  const rem = end % 4;
  if (rem === 1) return "base64 length leaves a single character over";
  const out = new Uint8Array(((end - rem) / 4) * 3 + (rem === 0 ? 0 : rem - 1));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) return `character ${JSON.stringify(s[i])} at ${i} is not base64`;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
