import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Copy policies measured on this machine (`sgwire calibrate --store`), one per backend and
 * driver, kept in a JSON file: $SGWIRE_CALIBRATION, else $XDG_CONFIG_HOME/sgwire/calibration.json,
 * else ~/.config/sgwire/calibration.json. A port opened without an explicit `copyThreshold` uses
 * the stored one for its backend and driver; `caps.copyThreshold` shows the value in force, and a
 * stored `maxSegments` becomes the port's encode budget (`policy.maxSegments`, at most its limit).
 */
export interface StoredPolicy {
  backend: string;
  driver: string;
  /** bytes; null means referencing never won (copy everything) */
  copyThreshold: number | null;
  /** optional segment budget the measurement supports (capped by the port's own limit) */
  maxSegments?: number;
  /**
   * udp engine "native": the message size (referenced bytes) from which MSG_ZEROCOPY beat a plain
   * send; null when it never did (the port then never uses it). Absent: not measured.
   */
  zeroCopyThreshold?: number | null;
  /**
   * The native kernel engines: messages a port gathers before it hands them to the kernel without
   * waiting for the end of the event-loop turn (the smallest batch whose rate came within 5% of
   * the best measured). Absent: not measured.
   */
  maxBatch?: number;
  /** ISO date of the measurement, and what measured it */
  measuredAt: string;
  source: string;
}

export function calibrationFile(): string {
  const env = process.env.SGWIRE_CALIBRATION;
  if (env !== undefined && env !== "") return env;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "sgwire", "calibration.json");
}

function readAll(file: string): StoredPolicy[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return []; // nothing stored yet
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`sgwire calibration file ${file} is not valid JSON (${(e as Error).message}): fix or delete it, or run sgwire calibrate --store`);
  }
  const list = (data as { policies?: unknown }).policies;
  if (!Array.isArray(list)) throw new Error(`sgwire calibration file ${file} has no "policies" array: delete it or run sgwire calibrate --store`);
  return list as StoredPolicy[];
}

/** The stored policy for a backend and driver, or undefined. Throws on a corrupt file (naming it). */
export function loadStoredPolicy(backend: string, driver: string): StoredPolicy | undefined {
  const p = readAll(calibrationFile()).find((x) => x.backend === backend && x.driver === driver);
  if (p === undefined) return undefined;
  const t = p.copyThreshold;
  if (t !== null && !(typeof t === "number" && t >= 0)) {
    throw new Error(`sgwire calibration file ${calibrationFile()}: copyThreshold for ${backend}/${driver} must be a number >= 0 or null, got ${JSON.stringify(t)}`);
  }
  const z = p.zeroCopyThreshold;
  if (z !== undefined && z !== null && !(typeof z === "number" && z >= 1)) {
    throw new Error(`sgwire calibration file ${calibrationFile()}: zeroCopyThreshold for ${backend}/${driver} must be a number >= 1 or null, got ${JSON.stringify(z)}`);
  }
  const b = p.maxBatch;
  if (b !== undefined && !(Number.isInteger(b) && b >= 1)) {
    throw new Error(`sgwire calibration file ${calibrationFile()}: maxBatch for ${backend}/${driver} must be an integer >= 1, got ${JSON.stringify(b)}`);
  }
  return p;
}

/** Stores (replaces) the policy for its backend and driver; returns the file written. */
export function storePolicy(p: StoredPolicy): string {
  const file = calibrationFile();
  const rest = readAll(file).filter((x) => !(x.backend === p.backend && x.driver === p.driver));
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ policies: [...rest, p] }, null, 2) + "\n");
  renameSync(tmp, file); // never leave a half-written file for a port to read
  return file;
}

/** The copy threshold a port uses: explicit option, else stored calibration, else the backend's default. */
export function chooseCopyThreshold(explicit: number | undefined, backend: string, driver: string, fallback: number): number {
  if (explicit !== undefined) return explicit;
  const stored = loadStoredPolicy(backend, driver);
  if (stored === undefined) return fallback;
  return stored.copyThreshold === null ? Infinity : stored.copyThreshold;
}

/**
 * The segment budget a port encodes with: the stored calibration's maxSegments when there is one
 * (never above the port's own limit), else that limit.
 */
export function chooseMaxSegments(backend: string, driver: string, limit: number): number {
  const stored = loadStoredPolicy(backend, driver)?.maxSegments;
  return typeof stored === "number" && stored >= 1 ? Math.min(stored, limit) : limit;
}

/** The MSG_ZEROCOPY threshold a port uses: explicit option, else stored calibration, else never (Infinity). */
export function chooseZeroCopyThreshold(explicit: number | undefined, backend: string, driver: string): number {
  if (explicit !== undefined) return explicit;
  const z = loadStoredPolicy(backend, driver)?.zeroCopyThreshold;
  return typeof z === "number" ? z : Infinity;
}

/** The batch a native kernel port gathers: explicit option, else stored calibration (at most `limit`), else `limit`. */
export function chooseMaxBatch(explicit: number | undefined, backend: string, driver: string, limit: number): number {
  if (explicit !== undefined) return explicit;
  const b = loadStoredPolicy(backend, driver)?.maxBatch;
  return typeof b === "number" ? Math.min(b, limit) : limit;
}
