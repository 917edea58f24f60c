/**
 * What a library contributes to one workload: timed closures for encode and decode, prepared
 * outside the timed loop (messages converted to the library's own representation, buffers and
 * builders allocated), plus the figures that do not need a clock (bytes copied, segments).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Workload } from "../shapes.js";

export type Op = "encode" | "decode";

export interface LibCase {
  /** line name in tables and plots: "sgwire encode", "protobufjs", ... */
  lib: string;
  op: Op;
  /** one operation; its result is kept by the harness so it cannot be optimised away */
  run: () => unknown;
  /** encode: bytes this library writes into output memory per message */
  bytesCopied?: number;
  /** encode: bytes on the wire */
  wireBytes?: number;
  /** encode: buffers handed to the transport (1 for one-buffer encoders) */
  segments?: number;
  /** encode: the bytes produced (checked against the other protobuf encoders) */
  wire?: Uint8Array;
  /** decode: the decoded message as a plain object, checked against the workload's message */
  decoded?: () => unknown;
}

export interface Peer {
  name: string;
  /** library name and version, recorded in the results */
  version: string;
  cases(w: Workload): LibCase[];
}

/**
 * Received bytes as Node hands them to an application (a socket's Buffer), in memory of their
 * own, so no decoder sees a slab shared with the encoder that produced them.
 */
export function received(wire: Uint8Array): Buffer {
  const b = Buffer.allocUnsafeSlow(wire.length);
  b.set(wire);
  return b;
}

/** The version of an installed package (walks up from its entry point to its package.json). */
export function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version !== undefined) return pkg.version;
    } catch {
      // no package.json at this level
    }
    const up = dirname(dir);
    if (up === dir) return "unknown";
    dir = up;
  }
}
