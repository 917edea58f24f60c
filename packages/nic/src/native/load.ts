import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
/** native/build/Release, from src/native or dist/native. */
const RELEASE_DIR = join(here, "..", "..", "native", "build", "Release");
const cache = new Map<string, unknown>();

/** What to say when an addon file is missing or fails to load. */
export interface AddonMessages {
  /** The whole message for a file that was not built (the path is given). */
  missing(path: string): string;
  /** Appended to "cannot load the ... addon PATH: <dlopen error>": what provides its shared libraries. */
  loadFailedHint?: string;
}

/**
 * Loads native/build/Release/`file` once per thread, for every backend that has an addon (the DPDK
 * one, sgwire_nic.node, and the ibverbs one, sgwire_ibverbs.node, which links libraries the first
 * must not need). Returns an Error (not thrown) if it is missing or fails to load, so that callers
 * that only report (`sgwire nic info`) do not need a try.
 */
export function loadNativeAddon<T>(file: string, label: string, messages: AddonMessages): T | Error {
  const hit = cache.get(file);
  if (hit !== undefined) return hit as T | Error;
  const path = join(RELEASE_DIR, file);
  let result: T | Error;
  if (!existsSync(path)) {
    result = new Error(messages.missing(path));
  } else {
    try {
      result = createRequire(import.meta.url)(path) as T;
    } catch (err) {
      const hint = messages.loadFailedHint !== undefined ? ` (${messages.loadFailedHint})` : "";
      result = new Error(`@sgwire/nic: cannot load the ${label} ${path}: ${(err as Error).message}${hint}`, { cause: err });
    }
  }
  cache.set(file, result);
  return result;
}
