import {
  CodeGeneratorRequest,
  CodeGeneratorResponse,
  CodeGeneratorResponse_Feature as Feature,
  type CodeGeneratorResponse_File,
} from "./gen/google/protobuf/compiler/plugin.sg.js";
import { generate, type CompileOptions } from "./compile.js";
import { fileModelsFromDescriptors } from "./front/descriptors.js";
import { MAXIMUM_EDITION, MINIMUM_EDITION } from "./front/features.js";
import { SchemaError, type FileModel } from "./model.js";
import { modulePath } from "./emit/file.js";
import { SERVICES_MODES, isServicesMode, type ServicesMode } from "./emit/service.js";

/**
 * protoc-gen-sgwire: the protoc / buf plugin. It reads a CodeGeneratorRequest, builds the schema
 * model from the request's descriptors (front/descriptors.ts) and answers a CodeGeneratorResponse
 * with the modules `sgwire compile` writes for the same files. Problems the user can fix (a bad
 * parameter, a schema sgwire cannot generate) go into the response's `error`, which protoc and buf
 * print; anything else is a bug and escapes as an exception.
 */

/** Plugin parameters: the CLI's code options, plus what the plugin generates. */
export interface PluginOptions extends Pick<CompileOptions, "target" | "importExtension" | "copyThreshold" | "services"> {
  /**
   * also generate every file the requested ones import (as `sgwire compile` does); buf users set
   * `include_imports: true` in buf.gen.yaml instead
   */
  includeImports: boolean;
}

/** A plugin parameter the user has to correct. */
export class PluginParameterError extends Error {
  override name = "PluginParameterError";
}

const PARAMETERS = "target=ts|js, import_extension=.js|.ts|none, copy_threshold=BYTES, services=grpc|descriptors|none, include_imports[=true|false]";

/**
 * Parses the request's parameter: comma-separated `key=value` pairs (`--sgwire_opt` of protoc,
 * `opt` in buf.gen.yaml). Keys may be spelled with `_` or `-`, like the CLI's options.
 */
export function parsePluginParameter(parameter: string | undefined): PluginOptions {
  const out: PluginOptions = { target: "ts", importExtension: ".js", includeImports: false };
  for (const part of (parameter ?? "").split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = (eq < 0 ? item : item.slice(0, eq)).trim().replace(/-/g, "_");
    const value = eq < 0 ? undefined : item.slice(eq + 1).trim();
    const need = (): string => {
      if (value === undefined || value === "") throw new PluginParameterError(`parameter ${key} needs a value`);
      return value;
    };
    switch (key) {
      case "target": {
        const t = need();
        if (t !== "ts" && t !== "js") throw new PluginParameterError(`target must be ts or js, got ${t}`);
        out.target = t;
        break;
      }
      case "import_extension": {
        const v = need();
        const ext = v === "none" ? "" : v;
        if (ext !== "" && !/^\.[a-z]+$/.test(ext)) throw new PluginParameterError(`import_extension must look like .js (or be none), got ${v}`);
        out.importExtension = ext;
        break;
      }
      case "copy_threshold": {
        const v = need();
        const n = Number(v);
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new PluginParameterError(`copy_threshold must be a whole number of bytes, got ${v}`);
        out.copyThreshold = n;
        break;
      }
      case "services": {
        const v = need();
        if (!isServicesMode(v)) throw new PluginParameterError(`services must be one of ${SERVICES_MODES.join(", ")}, got ${v}`);
        out.services = v;
        break;
      }
      case "include_imports": {
        if (value === undefined || value === "true") out.includeImports = true;
        else if (value === "false") out.includeImports = false;
        else throw new PluginParameterError(`include_imports must be true or false, got ${value}`);
        break;
      }
      default:
        throw new PluginParameterError(`unknown parameter ${JSON.stringify(key)} (parameters: ${PARAMETERS})`);
    }
  }
  return out;
}

/** Answers one request. */
export function runPlugin(request: CodeGeneratorRequest): CodeGeneratorResponse {
  const response = CodeGeneratorResponse.create({
    // proto3 `optional` arrives as synthetic oneofs, which the descriptor front end understands
    supportedFeatures: BigInt(Feature.FEATURE_PROTO3_OPTIONAL | Feature.FEATURE_SUPPORTS_EDITIONS),
    minimumEdition: MINIMUM_EDITION,
    maximumEdition: MAXIMUM_EDITION,
  });
  try {
    const options = parsePluginParameter(request.parameter);
    const files = options.includeImports ? request.protoFile.map((f) => f.name ?? "") : request.fileToGenerate;
    const models = withImportedModules(request, fileModelsFromDescriptors(request.protoFile, { files }));
    response.file = generate(models, options).map((g): CodeGeneratorResponse_File => ({ name: g.path, content: g.content }));
  } catch (e) {
    if (!(e instanceof SchemaError || e instanceof PluginParameterError || e instanceof RangeError)) throw e;
    response.error = e.message;
  }
  return response;
}

/**
 * The models of `models` plus those of every file whose module they import (the files defining
 * types they reference, transitively), so the output never imports a module it does not contain:
 * buf leaves the well-known types out of the request's files unless `include_wkt`, and invokes a
 * plugin once per directory, so the requested files alone are not enough. A module another
 * invocation also writes comes out identical. Fails naming the file when the request carries no
 * descriptor for an imported file.
 */
function withImportedModules(request: CodeGeneratorRequest, models: FileModel[]): FileModel[] {
  const have = new Map(models.map((m) => [m.name, m]));
  const known = new Set(request.protoFile.map((f) => f.name ?? ""));
  let wanted = models;
  for (;;) {
    const missing = new Map<string, string>(); // import -> a file that imports it
    for (const m of wanted) for (const d of m.dependencies) if (!have.has(d) && !missing.has(d)) missing.set(d, m.name);
    if (missing.size === 0) break;
    for (const [dep, by] of missing) {
      if (!known.has(dep)) throw new SchemaError(`imports ${dep}, whose descriptor the request does not carry: cannot generate ${modulePath(dep)}.ts`, by, 1, 1);
    }
    wanted = fileModelsFromDescriptors(request.protoFile, { files: [...missing.keys()] });
    for (const m of wanted) have.set(m.name, m);
  }
  return [...have.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The plugin's protocol: a serialized CodeGeneratorRequest in, a serialized CodeGeneratorResponse
 * out. The request's strings and bytes are views of `input`, which must stay unchanged until this
 * returns; the result is a new buffer.
 */
export function runPluginBinary(input: Uint8Array): Uint8Array {
  return CodeGeneratorResponse.toBinary(runPlugin(CodeGeneratorRequest.fromBinary(input)));
}
