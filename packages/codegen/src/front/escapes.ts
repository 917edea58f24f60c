/**
 * protobuf's string literal escapes, as protoc reads them: a literal is a sequence of bytes, where
 * an escape (\n, \", \\, \ooo octal, \xHH hex) is one byte, \uXXXX and \UXXXXXXXX are a code point
 * in UTF-8, and any other character is its UTF-8 encoding. protoc also writes bytes defaults into
 * descriptors this way (C-escaped). A string field's value is those bytes read as UTF-8.
 */

const SIMPLE: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, f: 12, v: 11, "\\": 92, "'": 39, '"': 34, "?": 63 };
const utf8 = new TextEncoder();

/** The bytes of an escaped literal's body (without its quotes); null on a malformed escape. */
export function unescapeBytes(text: string): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "\\") {
      const c = text.codePointAt(i)!;
      if (c > 0x7f) out.push(...utf8.encode(String.fromCodePoint(c)));
      else out.push(c);
      if (c > 0xffff) i++; // the low surrogate was part of c
      continue;
    }
    const e = text[++i];
    if (e === undefined) return null;
    if (e in SIMPLE) out.push(SIMPLE[e]!);
    else if (e >= "0" && e <= "7") {
      let j = i;
      while (j < i + 3 && j < text.length && text[j]! >= "0" && text[j]! <= "7") j++;
      out.push(parseInt(text.slice(i, j), 8) & 0xff);
      i = j - 1;
    } else if (e === "x" || e === "X") {
      let j = i + 1;
      while (j < i + 3 && j < text.length && /[0-9a-fA-F]/.test(text[j]!)) j++;
      if (j === i + 1) return null;
      out.push(parseInt(text.slice(i + 1, j), 16));
      i = j - 1;
    } else if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      const hex = text.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) return null;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return null;
      out.push(...utf8.encode(String.fromCodePoint(cp)));
      i += n;
    } else return null;
  }
  return Uint8Array.from(out);
}
