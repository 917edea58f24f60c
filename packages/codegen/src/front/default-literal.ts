import { readFileSync } from "node:fs";

/**
 * protobufjs parses integer literals into doubles, so a 64-bit `[default = ...]` beyond 2^53 loses
 * digits (-9123456789123456789 becomes -9123456789123457024). protoc keeps the literal. This
 * recovers it from the .proto source: the `default` option of a declaration `name = number [...]`
 * whose value rounds to what protobufjs parsed. Falls back to the parsed value when the source
 * cannot be read or the declaration is not found unambiguously.
 */
export function exactInt64Default(path: string, field: string, number: number, parsed: number): bigint {
  const fallback = BigInt(Math.trunc(parsed));
  if (Number.isSafeInteger(parsed)) return fallback;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
  text = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, "");
  const name = field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const decl = new RegExp(`\\b${name}\\s*=\\s*${number}\\s*\\[([^\\]]*)\\]`, "g");
  const found = new Set<bigint>();
  for (const m of text.matchAll(decl)) {
    const lit = /\bdefault\s*=\s*(-?)\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\b/.exec(m[1]!);
    if (lit === null) continue;
    const digits = lit[2]!;
    const abs = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith("0") ? BigInt("0o" + digits.slice(1)) : BigInt(digits);
    const v = lit[1] === "-" ? -abs : abs;
    if (Number(v) === parsed) found.add(v);
  }
  return found.size === 1 ? [...found][0]! : fallback;
}
