import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { loadProtoFiles } from "./front/protobufjs.js";
import { emitDeclarations, emitTypeScript, modulePath, servicesMode, type EmitOptions } from "./emit/file.js";
import type { ServicesMode } from "./emit/service.js";
import type { FileModel } from "./model.js";

/**
 * TypeScript (a 23 MB compiler) is needed only for `target: "js"` (transpiling the generated .ts to
 * plain ESM): it is an optional peer dependency, loaded then and only then. A project that
 * compiles to .ts has it anyway, to compile the result.
 */
let tsModule: typeof import("typescript") | undefined;

/** A package the requested output needs is not installed; the message says what to install. */
export class MissingDependencyError extends Error {
  override name = "MissingDependencyError";
}

function typescript(): typeof import("typescript") {
  if (tsModule !== undefined) return tsModule;
  try {
    tsModule = createRequire(import.meta.url)("typescript") as typeof import("typescript");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    throw new MissingDependencyError(
      `target "js" transpiles the generated TypeScript with the typescript package, which is not installed: ` +
        `add it to your project (npm install -D typescript, or pnpm add -D typescript), or use target "ts"`,
    );
  }
  return tsModule;
}

export interface CompileOptions {
  /** output directory (default ".") */
  outDir?: string;
  /** "ts" (default): one .sg.ts per .proto file; "js": .sg.js (plain ESM) plus .sg.d.ts */
  target?: "ts" | "js";
  /** include directories for imports */
  includeDirs?: string[];
  /** extension in import specifiers between generated modules (default ".js") */
  importExtension?: string;
  /** copy threshold baked into the generated codecs (default: the runtime's) */
  copyThreshold?: number;
  /**
   * what to generate for `service` definitions: "grpc" (default: the service descriptor, and its
   * client and server types for @sgwire/grpc), "descriptors" (the descriptor only, no
   * @sgwire/grpc import) or "none"
   */
  services?: ServicesMode;
}

export interface GeneratedFile {
  /** path relative to the output directory */
  path: string;
  content: string;
}

/** Generates the modules for a set of schema models, in memory. */
export function generate(files: FileModel[], options: CompileOptions = {}): GeneratedFile[] {
  const target = options.target ?? "ts";
  if (target !== "ts" && target !== "js") throw new RangeError(`target must be "ts" or "js", got ${JSON.stringify(target)}`);
  const thr = options.copyThreshold;
  if (thr !== undefined && !(Number.isInteger(thr) && thr >= 0)) {
    throw new RangeError(`copyThreshold must be an integer >= 0 (bytes), got ${String(thr)}`);
  }
  const services = servicesMode({ services: options.services });
  const emitOpts: EmitOptions = { importExtension: options.importExtension ?? ".js", copyThreshold: thr, target, services };
  const out: GeneratedFile[] = [];
  for (const f of files) {
    const base = modulePath(f.name);
    const source = emitTypeScript(f, emitOpts);
    if (target === "ts") {
      out.push({ path: `${base}.ts`, content: source });
      continue;
    }
    const ts = typescript();
    const js = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: false },
      fileName: `${base}.ts`,
    }).outputText;
    const head = source.split("\n").slice(0, 3).join("\n").replace("target=ts", "target=js");
    out.push({ path: `${base}.js`, content: js.startsWith("// @generated") ? js : `${head}\n${js}` });
    out.push({ path: `${base}.d.ts`, content: emitDeclarations(f, emitOpts) });
  }
  return out;
}

/** Parses the .proto files, generates their modules and writes them under outDir. */
export function compileProtoFiles(files: string[], options: CompileOptions = {}): string[] {
  const models = loadProtoFiles(files, { includeDirs: options.includeDirs });
  const outDir = options.outDir ?? ".";
  const written: string[] = [];
  for (const g of generate(models, options)) {
    const p = join(outDir, g.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, g.content);
    written.push(p);
  }
  return written;
}
