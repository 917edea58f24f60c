import { readFileSync } from "node:fs";

/**
 * Finds a 1-based line and column for `word` in a source file, for errors about objects the
 * parser does not locate itself. Prefers `line` when given; falls back to 1:1.
 */
export function locate(path: string | undefined, word: string, line?: number): { line: number; column: number } {
  if (path === undefined) return { line: line ?? 1, column: 1 };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { line: line ?? 1, column: 1 };
  }
  const lines = text.split("\n");
  const re = new RegExp(`(^|[^A-Za-z0-9_.])${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^A-Za-z0-9_])`);
  const search = (i: number): { line: number; column: number } | null => {
    const m = re.exec(lines[i] ?? "");
    return m === null ? null : { line: i + 1, column: m.index + m[1]!.length + 1 };
  };
  if (line !== undefined) {
    const hit = search(line - 1);
    if (hit !== null) return hit;
    return { line, column: 1 };
  }
  for (let i = 0; i < lines.length; i++) {
    const code = (lines[i] ?? "").replace(/\/\/.*$/, "");
    if (re.test(code)) return search(i)!;
  }
  return { line: 1, column: 1 };
}

/**
 * Line and column (1-based) of the declaration `name = number` of a field in a source file (the
 * field's name), skipping comments; falls back to locate(path, name).
 */
export function locateField(path: string | undefined, name: string, number: number): { line: number; column: number } {
  let text: string | undefined;
  try {
    text = path === undefined ? undefined : readFileSync(path, "utf8");
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    const re = new RegExp(`(^|[^A-Za-z0-9_.])(${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})\\s*=\\s*(0[xX][0-9a-fA-F]+|\\d+)`, "g");
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const code = (lines[i] ?? "").replace(/\/\/.*$/, "");
      re.lastIndex = 0;
      for (let m = re.exec(code); m !== null; m = re.exec(code)) {
        if (Number(m[3]) === number) return { line: i + 1, column: m.index + m[1]!.length + 1 };
      }
    }
  }
  return locate(path, name);
}

/**
 * Line and column (1-based) of the `nth` (0-based) declaration of field number `number` directly
 * in message `message` (its own fields and its oneofs' fields; not those of nested messages,
 * enums or groups), at its number as protoc reports it, with the field's name; undefined when not
 * found.
 */
export function locateFieldNumber(path: string, message: string, number: number, nth: number): { line: number; column: number; name: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  // blank out comments and strings, keeping offsets
  const code = text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) => m.replace(/[^\n]/g, " "));
  const at = (offset: number) => {
    const before = code.slice(0, offset);
    const line = before.split("\n").length;
    return { line, column: offset - before.lastIndexOf("\n") };
  };
  const esc = message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const head = new RegExp(`\\bmessage\\s+${esc}\\s*\\{`, "g");
  for (let h = head.exec(code); h !== null; h = head.exec(code)) {
    const hits: [name: number, num: number][] = [];
    // `name = N` preceded by a type (not `[`, `,`, `(` of an option, nor the word option)
    const scan = (from: number, to: number) => {
      const re = /([A-Za-z_]\w*)\s*=\s*(0[xX][0-9a-fA-F]+|\d+)\b/g;
      const part = code.slice(from, to);
      for (let m = re.exec(part); m !== null; m = re.exec(part)) {
        const before = part.slice(0, m.index).trimEnd();
        if (before === "" || /[[,(=]$/.test(before) || /\boption$/.test(before)) continue;
        if (Number(m[2]) === number) hits.push([from + m.index, from + m.index + m[0].lastIndexOf(m[2]!)]);
      }
    };
    // walk the message's body: only its own statements and those of its oneofs are its fields
    const stack: string[] = [];
    let start = h.index + h[0].length;
    for (let i = start; i < code.length; i++) {
      const c = code[i];
      if (c !== "{" && c !== "}") continue;
      if (stack.every((k) => k === "oneof")) scan(start, i);
      const segment = code.slice(start, i);
      start = i + 1;
      if (c === "{") stack.push(/\b(message|enum|group|extend|service|oneof)\b[^;]*$/.exec(segment)?.[1] ?? "other");
      else if (stack.pop() === undefined) break;
    }
    if (hits.length > nth) return { ...at(hits[nth]![1]), name: /^\w+/.exec(code.slice(hits[nth]![0]))![0] };
  }
  return undefined;
}

/**
 * Line and column (1-based) of the name in the declaration `rpc <name>(` in a source file,
 * skipping comments; falls back to locate(path, name).
 */
export function locateRpc(path: string | undefined, name: string): { line: number; column: number } {
  let text: string | undefined;
  try {
    text = path === undefined ? undefined : readFileSync(path, "utf8");
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    const re = new RegExp(`\\brpc\\s+(${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})\\s*\\(`);
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const code = (lines[i] ?? "").replace(/\/\/.*$/, "");
      const m = re.exec(code);
      if (m !== null) return { line: i + 1, column: m.index + m[0].indexOf(m[1]!, 3) + 1 };
    }
  }
  return locate(path, name);
}
