import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { unescapeBytes } from "./escapes.js";

/**
 * `[default = ...]` values that protobufjs's parser cannot give exactly, recovered from the .proto
 * source the way protoc reads them:
 * - integer literals become doubles there, so a 64-bit default beyond 2^53 loses digits
 *   (-9123456789123456789 becomes -9123456789123457024);
 * - a string literal's escapes become UTF-16 code units there ("\303\251" becomes "Ã©"), where
 *   protoc reads bytes (so the string is "é", UTF-8 C3 A9).
 * The literal is the `default` option of a declaration `name = number [...]` that protobufjs read
 * as the value it parsed. Without the source or an unambiguous declaration, the parsed value is
 * kept.
 */

/** The exact value of a 64-bit integer default that protobufjs parsed as `parsed`. */
export function exactInt64Default(path: string, field: string, number: number, parsed: number): bigint {
  const fallback = BigInt(Math.trunc(parsed));
  if (Number.isSafeInteger(parsed)) return fallback;
  const found = new Set<bigint>();
  for (const options of declarationOptions(path, field, number)) {
    const lit = /\bdefault\s*=\s*(-?)\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\b/.exec(options);
    if (lit === null) continue;
    const digits = lit[2]!;
    const abs = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith("0") ? BigInt("0o" + digits.slice(1)) : BigInt(digits);
    const v = lit[1] === "-" ? -abs : abs;
    if (Number(v) === parsed) found.add(v);
  }
  return found.size === 1 ? [...found][0]! : fallback;
}

/**
 * The bytes of a string or bytes default that protobufjs parsed as `parsed`, or undefined when
 * `parsed` is plain ASCII (then it is exact) or the literal is not found.
 */
export function defaultLiteralBytes(path: string, field: string, number: number, parsed: string): Uint8Array | undefined {
  if (!/[^\x00-\x7f]/.test(parsed)) return undefined;
  const found = new Map<string, Uint8Array>();
  for (const options of declarationOptions(path, field, number)) {
    const m = /\bdefault\s*=\s*((?:(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*)+)/.exec(options);
    if (m === null) continue;
    const bodies = [...m[1]!.matchAll(/"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'/g)].map((x) => x[1] ?? x[2] ?? "");
    if (bodies.map((b) => protobuf.tokenize.unescape(b)).join("") !== parsed) continue;
    const parts = bodies.map(unescapeBytes);
    if (parts.some((p) => p === null)) continue;
    const bytes = Uint8Array.from(parts.flatMap((p) => [...p!]));
    found.set(bytes.join(","), bytes);
  }
  return found.size === 1 ? [...found.values()][0] : undefined;
}

/** The text between `[` and `]` of each declaration `field = number [...]` in the file. */
function declarationOptions(path: string, field: string, number: number): string[] {
  let text: string;
  try {
    text = stripComments(readFileSync(path, "utf8"));
  } catch {
    return [];
  }
  const name = field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const out: string[] = [];
  for (const m of text.matchAll(new RegExp(`\\b${name}\\s*=\\s*${number}\\s*\\[`, "g"))) {
    const start = m.index + m[0].length;
    const end = closingBracket(text, start);
    if (end > 0) out.push(text.slice(start, end));
  }
  return out;
}

/** Index of the `]` closing a `[` that ends just before `from`, skipping quoted strings; -1 if none. */
function closingBracket(text: string, from: number): number {
  let quote = "";
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== "") {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "]") return i;
  }
  return -1;
}

/** The source with comments blanked out (not those inside string literals). */
function stripComments(text: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== "") {
      out += c;
      if (c === "\\" && i + 1 < text.length) out += text[++i];
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
      out += " ";
    } else out += c;
  }
  return out;
}
