// The text format's tokens (https://protobuf.dev/reference/protobuf/textformat-spec/#lexical):
// identifiers, numbers, quoted strings and one-character symbols, with whitespace and `#`
// comments between them. Positions are kept so every error can name its line and column.

import { TextFormatError } from "./error.js";

export const IDENT = 0;
export const NUMBER = 1;
export const STRING = 2;
export const SYMBOL = 3;
export const EOF = 4;

export interface Token {
  kind: number;
  /** the token's text as written (a string literal with its quotes) */
  text: string;
  /** offset of its first character */
  start: number;
  /** 1-based line and column */
  line: number;
  col: number;
}

const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
// decimal or hex integers, and floats ("1.", ".5", "1e5", with an optional f/F suffix)
const NUMBER_RE = /0[xX][0-9A-Fa-f]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?/y;

export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private tok: Token;
  /** the token before the current one (for "after X" in errors) */
  prevEnd = 0;

  constructor(
    readonly s: string,
    /** the root message's name: the path of errors that are about the text itself */
    readonly root: string,
  ) {
    this.tok = this.scan();
  }

  /** Fails at the token (or at the position) given, default the current token. */
  fail(detail: string, path: string, at: { line: number; col: number } = this.tok): never {
    throw new TextFormatError(detail, path, at.line, at.col);
  }

  get peek(): Token {
    return this.tok;
  }

  next(): Token {
    const t = this.tok;
    this.prevEnd = this.pos;
    this.tok = this.scan();
    return t;
  }

  /** Whether the current token is the symbol `c`. */
  at(c: string): boolean {
    return this.tok.kind === SYMBOL && this.tok.text === c;
  }

  /** Consumes the symbol `c` if it is next. */
  take(c: string): boolean {
    if (this.tok.kind === SYMBOL && this.tok.text === c) {
      this.next();
      return true;
    }
    return false;
  }

  /** Consumes the symbol `c` or fails naming what was found instead. */
  expect(c: string, path: string, what?: string): void {
    if (!this.take(c)) this.fail(`expected ${what ?? `"${c}"`}, found ${describe(this.tok)}`, path);
  }

  private ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 10) {
        p++;
        this.line++;
        this.lineStart = p;
      } else if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) p++;
      else if (c === 35 /* # */) {
        while (p < s.length && s.charCodeAt(p) !== 10) p++;
      } else break;
    }
    this.pos = p;
  }

  private scan(): Token {
    this.ws();
    const s = this.s;
    const start = this.pos;
    const line = this.line;
    const col = start - this.lineStart + 1;
    if (start >= s.length) return { kind: EOF, text: "", start, line, col };
    const c = s.charCodeAt(start);
    let kind: number;
    let end: number;
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
      IDENT_RE.lastIndex = start;
      IDENT_RE.exec(s);
      end = IDENT_RE.lastIndex;
      kind = IDENT;
    } else if ((c >= 48 && c <= 57) || (c === 46 && isDigit(s.charCodeAt(start + 1)))) {
      NUMBER_RE.lastIndex = start;
      NUMBER_RE.exec(s);
      end = NUMBER_RE.lastIndex;
      const after = s.charCodeAt(end);
      // "12abc", "0x1g", "1.5.3": a number runs into letters, digits or a dot
      if ((after >= 65 && after <= 90) || (after >= 97 && after <= 122) || after === 95 || after === 46 || isDigit(after)) {
        let e = end;
        while (e < s.length && /[A-Za-z0-9_.]/.test(s[e]!)) e++;
        throw new TextFormatError(`invalid number ${JSON.stringify(s.slice(start, Math.min(e, start + 40)))}`, this.root, line, col);
      }
      kind = NUMBER;
    } else if (c === 34 || c === 39) {
      // a string literal: up to the same quote, no line breaks; escapes are decoded later
      let p = start + 1;
      for (;;) {
        const d = s.charCodeAt(p);
        if (Number.isNaN(d)) throw new TextFormatError("unterminated string literal", this.root, line, col);
        if (d === 10) throw new TextFormatError("line break in a string literal (write \\n)", this.root, line, p - this.lineStart + 1);
        if (d === 92 /* \ */) {
          p += 2;
          continue;
        }
        p++;
        if (d === c) break;
      }
      if (p > s.length) throw new TextFormatError("unterminated string literal", this.root, line, col);
      end = p;
      kind = STRING;
    } else {
      end = start + 1;
      kind = SYMBOL;
    }
    this.pos = end;
    return { kind, text: s.slice(start, end), start, line, col };
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A token for error messages. */
export function describe(t: Token): string {
  if (t.kind === EOF) return "the end of the input";
  const text = t.text.length > 40 ? t.text.slice(0, 40) + "..." : t.text;
  return JSON.stringify(text);
}
