// A strict JSON text parser (RFC 8259) for fromJsonString. JSON.parse would do for most input,
// but ProtoJSON needs three things it cannot give: the exact digits of integers beyond 2^53
// (int64 fields), an error for a key given twice in one object (a duplicate field), and a nesting
// limit checked while parsing instead of after building the whole tree.

import { JsonError, LosslessNumber } from "./error.js";

/** What the parser returns: JSON values, with LosslessNumber for numbers a double would round. */
export type ParsedJson = null | boolean | number | string | LosslessNumber | ParsedJson[] | { [key: string]: ParsedJson };

const TWO_53 = 2 ** 53;

class Parser {
  pos = 0;
  depth = 0;
  constructor(
    readonly s: string,
    readonly maxDepth: number,
    readonly path: string,
  ) {}

  fail(detail: string, at = this.pos): never {
    throw new JsonError(`invalid JSON at offset ${at}: ${detail}`, this.path);
  }

  ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  value(): ParsedJson {
    this.ws();
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 123 /* { */:
        return this.object();
      case 91 /* [ */:
        return this.array();
      case 34 /* " */:
        return this.string();
      case 116 /* t */:
        return this.literal("true", true);
      case 102 /* f */:
        return this.literal("false", false);
      case 110 /* n */:
        return this.literal("null", null);
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number();
        if (Number.isNaN(c)) this.fail("unexpected end of input");
        this.fail(`unexpected character ${JSON.stringify(this.s[this.pos])}`);
    }
  }

  literal<T>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail(`unexpected ${JSON.stringify(this.s.slice(this.pos, this.pos + word.length))}`);
    this.pos += word.length;
    return v;
  }

  enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`nesting deeper than the limit of ${this.maxDepth} objects and arrays`);
  }

  object(): { [key: string]: ParsedJson } {
    this.enter();
    this.pos++;
    const out = Object.create(null) as { [key: string]: ParsedJson };
    this.ws();
    if (this.s.charCodeAt(this.pos) === 125 /* } */) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 34) this.fail("expected a quoted object key");
      const at = this.pos;
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`key ${JSON.stringify(key)} appears twice in one object`, at);
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 58 /* : */) this.fail("expected ':' after an object key");
      this.pos++;
      out[key] = this.value(); // a null-prototype object: "__proto__" is an ordinary key
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      this.pos++;
      if (c === 44 /* , */) continue;
      if (c === 125 /* } */) break;
      this.fail("expected ',' or '}' in an object", this.pos - 1);
    }
    this.depth--;
    return out;
  }

  array(): ParsedJson[] {
    this.enter();
    this.pos++;
    const out: ParsedJson[] = [];
    this.ws();
    if (this.s.charCodeAt(this.pos) === 93 /* ] */) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      this.pos++;
      if (c === 44) continue;
      if (c === 93) break;
      this.fail("expected ',' or ']' in an array", this.pos - 1);
    }
    this.depth--;
    return out;
  }

  string(): string {
    const s = this.s;
    const start = ++this.pos;
    let p = start;
    // fast path: no escapes
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return s.slice(start, p);
      }
      if (c === 92 /* \ */) break;
      if (c < 32 || Number.isNaN(c)) this.stringFail(c, p);
      p++;
    }
    let out = s.slice(start, p);
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return out;
      }
      if (c < 32 || Number.isNaN(c)) this.stringFail(c, p);
      if (c !== 92) {
        const q = p;
        while (p < s.length && s.charCodeAt(p) !== 92 && s.charCodeAt(p) !== 34 && s.charCodeAt(p) >= 32) p++;
        out += s.slice(q, p);
        continue;
      }
      const e = s[p + 1];
      p += 2;
      switch (e) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const u = this.hex4(p);
          p += 4;
          if (u >= 0xd800 && u <= 0xdbff) {
            // a high surrogate must be followed by an escaped low surrogate
            if (s[p] !== "\\" || s[p + 1] !== "u") this.fail("unpaired surrogate escape (a high surrogate with no low surrogate after it)", p - 6);
            const lo = this.hex4(p + 2);
            if (lo < 0xdc00 || lo > 0xdfff) this.fail("unpaired surrogate escape (a high surrogate with no low surrogate after it)", p - 6);
            p += 6;
            out += String.fromCharCode(u, lo);
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            this.fail("unpaired surrogate escape (a low surrogate with no high surrogate before it)", p - 6);
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          this.fail(e === undefined ? "unterminated string" : `invalid escape \\${e}`, p - 2);
      }
    }
  }

  stringFail(c: number, p: number): never {
    this.fail(Number.isNaN(c) ? "unterminated string" : `control character U+${c.toString(16).padStart(4, "0")} in a string (it must be escaped)`, p);
  }

  hex4(p: number): number {
    const h = this.s.slice(p, p + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail("\\u must be followed by four hex digits", p - 2);
    return parseInt(h, 16);
  }

  number(): number | LosslessNumber {
    const s = this.s;
    const start = this.pos;
    let p = start;
    if (s.charCodeAt(p) === 45) p++;
    const d0 = s.charCodeAt(p);
    if (d0 === 48) {
      p++;
      if (isDigit(s.charCodeAt(p))) this.fail("a number must not have leading zeros", start);
    } else if (d0 >= 49 && d0 <= 57) while (isDigit(s.charCodeAt(p))) p++;
    else this.fail("a '-' must be followed by digits", p);
    if (s.charCodeAt(p) === 46 /* . */) {
      p++;
      if (!isDigit(s.charCodeAt(p))) this.fail("expected a digit after the decimal point", p);
      while (isDigit(s.charCodeAt(p))) p++;
    }
    const e = s.charCodeAt(p);
    if (e === 101 || e === 69) {
      p++;
      const sign = s.charCodeAt(p);
      if (sign === 43 || sign === 45) p++;
      if (!isDigit(s.charCodeAt(p))) this.fail("expected a digit in the exponent", p);
      while (isDigit(s.charCodeAt(p))) p++;
    }
    this.pos = p;
    const text = s.slice(start, p);
    const v = Number(text);
    return Math.abs(v) < TWO_53 ? v : new LosslessNumber(text, v);
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Parses JSON text. Objects have null prototypes (so "__proto__" is an ordinary key); numbers
 * whose magnitude is 2^53 or more come back as LosslessNumber with their text.
 * @throws JsonError naming the offset: malformed JSON, a key twice in one object, an unpaired
 * surrogate escape, nesting deeper than `maxDepth`
 */
export function parseJsonText(text: string, maxDepth: number, path: string): ParsedJson {
  if (typeof text !== "string") throw new JsonError(`expected JSON text (a string), got ${typeof text}`, path);
  const p = new Parser(text, maxDepth, path);
  const v = p.value();
  p.ws();
  if (p.pos < text.length) p.fail("unexpected text after the JSON value");
  return v;
}
