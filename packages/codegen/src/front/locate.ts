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
