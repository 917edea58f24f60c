/**
 * Command-line options of the gRPC kv example's server and client: `--name value`, `--name=value`,
 * or a bare `--flag`. Unknown options are refused with their name.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export class UsageError extends Error {}

/** Parses `argv` against `options` (name -> takes a value); flags map to "true". */
export function parseArgs(argv: string[], options: Record<string, boolean>): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const takesValue = options[name];
    if (takesValue === undefined) throw new UsageError(`unknown option --${name} (known: ${Object.keys(options).map((o) => `--${o}`).join(", ")})`);
    if (!takesValue) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.set(name, "true");
      continue;
    }
    const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    out.set(name, v);
  }
  return out;
}

/** A port number option. */
export function portOption(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got ${v}`);
  return n;
}

/** Whether the module at `url` is the program node was started with. */
export function isMain(url: string): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(fileURLToPath(url)) === realpathSync(argv1);
  } catch {
    return false;
  }
}
