/// <reference types="node" preserve="true" />
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { compileProtoFiles, MissingDependencyError } from "./compile.js";
import { GENERATOR_VERSION } from "./emit/file.js";
import { SERVICES_MODES, isServicesMode, type ServicesMode } from "./emit/service.js";
import { SchemaError } from "./model.js";

const USAGE = `usage: sgwire compile [options] FILE.proto...
       sgwire nic info [--json] [--probe VDEV]
                          backends this machine has and their caps (needs @sgwire/nic)
       sgwire calibrate [--backend udp|tcp|dpdk] [--vdev VDEV] [--json] [--store]
                          measure copy against reference, recommend copyThreshold (needs @sgwire/nic)
       sgwire nic --help, sgwire calibrate --help: what those flags do

Compiles .proto files into zero-copy sgwire codecs: one module per .proto file (imports too).

options:
  --out DIR               output directory (default: .)
  --target ts|js          ts: DIR/<name>.sg.ts (default); js: DIR/<name>.sg.js + .sg.d.ts (plain ESM)
  -I DIR, --proto_path DIR
                          directory to search for imports (repeatable)
  --import-extension EXT  extension of imports between generated modules: .js (default), .ts or none
  --copy-threshold N      default copy threshold of the generated codecs, in bytes
                          (default: the runtime's, 512 unless changed with setDefaultCopyPolicy)
  --services MODE         what services generate: grpc (default: descriptor, client and server
                          types for @sgwire/grpc), descriptors (descriptor only) or none
  -h, --help              this text
  --version               the generator version`;

class UsageError extends Error {}

function parseCompileArgs(args: string[]) {
  const files: string[] = [];
  const includeDirs: string[] = [];
  let outDir = ".";
  let target: "ts" | "js" = "ts";
  let importExtension = ".js";
  let copyThreshold: number | undefined;
  let services: ServicesMode = "grpc";
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (eq > 0) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === "--out" || name === "-o") outDir = value();
    else if (name === "--target") {
      const t = value();
      if (t !== "ts" && t !== "js") throw new UsageError(`--target must be ts or js, got ${t}`);
      target = t;
    } else if (name === "-I" || name === "--proto_path") includeDirs.push(value());
    else if (name.startsWith("-I") && name.length > 2) includeDirs.push(name.slice(2));
    else if (name === "--import-extension") {
      const v = value();
      importExtension = v === "none" ? "" : v;
      if (importExtension !== "" && !/^\.[a-z]+$/.test(importExtension)) throw new UsageError(`--import-extension must look like .js, got ${v}`);
    } else if (name === "--copy-threshold") {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`--copy-threshold must be a whole number of bytes, got ${v}`);
      copyThreshold = n;
    } else if (name === "--services") {
      const v = value();
      if (!isServicesMode(v)) throw new UsageError(`--services must be one of ${SERVICES_MODES.join(", ")}, got ${v}`);
      services = v;
    } else if (name.startsWith("-")) throw new UsageError(`unknown option ${name}`);
    else files.push(a);
  }
  if (files.length === 0) throw new UsageError("no .proto files given");
  return { files, outDir, target, includeDirs, importExtension, copyThreshold, services };
}

/**
 * `sgwire nic ...` and `sgwire calibrate` belong to @sgwire/nic (the compiler does not depend on
 * the transports): run its `sgwire-nic` command, found from the current project.
 */
function runNic(args: string[], err: NodeJS.WritableStream): number {
  let entry: string;
  try {
    entry = createRequire(join(process.cwd(), "package.json")).resolve("@sgwire/nic");
  } catch {
    err.write("sgwire: this command needs @sgwire/nic, which is not installed in this project (install it: npm install @sgwire/nic)\n");
    return 1;
  }
  // dist/index.js -> the package folder -> bin/sgwire-nic.js
  const bin = join(dirname(dirname(entry)), "bin", "sgwire-nic.js");
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: "inherit" });
  return r.status ?? 1;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
      out.write(USAGE + "\n");
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === "--version") {
      out.write(`sgwire-codegen ${GENERATOR_VERSION}\n`);
      return 0;
    }
    if (cmd === "compile") {
      if (rest.includes("-h") || rest.includes("--help")) {
        out.write(USAGE + "\n");
        return 0;
      }
      const o = parseCompileArgs(rest);
      const written = compileProtoFiles(o.files, o);
      for (const p of written) out.write(`wrote ${p}\n`);
      return 0;
    }
    if (cmd === "nic" || cmd === "calibrate") return runNic(cmd === "nic" ? rest : argv, err);
    throw new UsageError(`unknown command ${cmd}`);
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`sgwire: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof SchemaError || e instanceof MissingDependencyError) {
      err.write(`sgwire: ${e.message}\n`);
      return 1;
    }
    // the output directory cannot be written (permissions, a file in the way, a read-only mount)
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && ["EACCES", "EPERM", "EEXIST", "ENOTDIR", "EISDIR", "EROFS", "ENOSPC"].includes(code)) {
      err.write(`sgwire: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}
