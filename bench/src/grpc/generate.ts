/**
 * bench/src/generated/ is not committed (the package's build script compiles the schemas there on
 * install). Until that script compiles schemas/grpc-bench.proto too, the gRPC bench compiles it
 * itself before importing it: `ensureGenerated()` runs `sgwire compile` when
 * src/generated/grpc-bench.sg.ts is missing or older than the .proto.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL("../../", import.meta.url));
const proto = fileURLToPath(new URL("../../schemas/grpc-bench.proto", import.meta.url));
const generated = fileURLToPath(new URL("../generated/grpc-bench.sg.ts", import.meta.url));

/** Compiles schemas/grpc-bench.proto into src/generated/ unless an up-to-date module is there. */
export function ensureGenerated(): void {
  if (existsSync(generated) && statSync(generated).mtimeMs >= statSync(proto).mtimeMs) return;
  const cli = fileURLToPath(new URL("../../node_modules/@sgwire/codegen/bin/sgwire.js", import.meta.url));
  execFileSync(process.execPath, [cli, "compile", "--out", "src/generated", "-I", "schemas", "schemas/grpc-bench.proto"], { cwd: benchDir, stdio: ["ignore", "ignore", "inherit"] });
}
