// String literals of the text format: C escapes in, C escapes out.

import { TextFormatError } from "./error.js";
import type { Token } from "./lexer.js";

const SIMPLE: Record<string, number> = {
  a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "?": 63, "\\": 92, "'": 39, '"': 34,
};

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Appends code point `cp` as UTF-8. */
function putUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

/**
 * The bytes of one string literal token (quotes included): octal (`\NNN`), hex (`\xHH`), Unicode
 * (`\uHHHH`, `\UHHHHHHHH`, no surrogates, at most U+10FFFF) and the simple C escapes; other
 * characters as UTF-8. Its length is bounded by the token's.
 */
export function decodeLiteral(t: Token, out: number[], path: string): void {
  const s = t.text;
  const end = s.length - 1;
  const fail = (detail: string, i: number): never => {
    throw new TextFormatError(detail, path, t.line, t.col + i);
  };
  for (let i = 1; i < end; ) {
    const c = s.codePointAt(i)!;
    if (c !== 92) {
      putUtf8(out, c);
      i += c > 0xffff ? 2 : 1;
      continue;
    }
    const e = s[i + 1]!;
    const simple = SIMPLE[e];
    if (simple !== undefined && Object.prototype.hasOwnProperty.call(SIMPLE, e)) {
      out.push(simple);
      i += 2;
      continue;
    }
    if (e >= "0" && e <= "7") {
      let v = 0;
      let j = i + 1;
      while (j < end && j < i + 4 && s[j]! >= "0" && s[j]! <= "7") v = v * 8 + (s.charCodeAt(j++) - 48);
      if (v > 255) fail(`octal escape \\${s.slice(i + 1, j)} is over \\377`, i);
      out.push(v);
      i = j;
      continue;
    }
    if (e === "x" || e === "X") {
      let v = 0;
      let j = i + 2;
      while (j < end && j < i + 4 && hexVal(s.charCodeAt(j)) >= 0) v = v * 16 + hexVal(s.charCodeAt(j++));
      if (j === i + 2) fail("\\x must be followed by hex digits", i);
      out.push(v);
      i = j;
      continue;
    }
    if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      let v = 0;
      for (let j = i + 2; j < i + 2 + n; j++) {
        const h = j < end ? hexVal(s.charCodeAt(j)) : -1;
        if (h < 0) fail(`\\${e} must be followed by ${n} hex digits`, i);
        v = v * 16 + h;
      }
      if (v >= 0xd800 && v <= 0xdfff) fail(`\\${e}${s.slice(i + 2, i + 2 + n)} is a surrogate, not a character`, i);
      if (v > 0x10ffff) fail(`\\${e}${s.slice(i + 2, i + 2 + n)} is past U+10FFFF`, i);
      putUtf8(out, v);
      i += 2 + n;
      continue;
    }
    fail(`invalid escape \\${e}`, i);
  }
}

const HEX = "0123456789abcdef";

/**
 * A string literal for bytes, as protobuf C++ prints them (CEscape): printable ASCII as it is,
 * `\n \r \t \" \' \\`, every other byte as a 3-digit octal escape.
 */
export function escapeBytes(b: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < b.length; i++) out += escapeByte(b[i]!, false);
  return out + '"';
}

function escapeByte(c: number, keepHigh: boolean): string {
  switch (c) {
    case 10: return "\\n";
    case 13: return "\\r";
    case 9: return "\\t";
    case 34: return '\\"';
    case 39: return "\\'";
    case 92: return "\\\\";
  }
  if ((c >= 32 && c < 127) || (keepHigh && c >= 0x80)) return String.fromCharCode(c);
  return "\\" + HEX[c >> 6]! + HEX[(c >> 3) & 7]! + HEX[c & 7]!;
}

const encoder = new TextEncoder();

/**
 * A string literal for a string field. By default as protobuf C++'s TextFormat prints them: the
 * UTF-8 bytes escaped as for bytes (non-ASCII as octal). With `utf8` as its
 * `SetUseUtf8StringEscaping(true)` does (Utf8SafeCEscape): characters past ASCII stay as they are.
 */
export function escapeString(s: string, utf8: boolean): string {
  if (!utf8) return escapeBytes(encoder.encode(s));
  let out = '"';
  let run = 0; // start of a run of characters that need no escape
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 ? c >= 0xd800 && c <= 0xdfff && !pairedAt(s, i) : c < 32 || c === 127 || c === 34 || c === 39 || c === 92) {
      out += s.slice(run, i);
      // a lone surrogate has no UTF-8 form: U+FFFD, as the binary encoder writes it
      out += c >= 0x80 ? "\uFFFD" : escapeByte(c, true);
      run = i + 1;
    }
  }
  return out + s.slice(run) + '"';
}

function pairedAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff;
  }
  const b = s.charCodeAt(i - 1);
  return b >= 0xd800 && b <= 0xdbff;
}
