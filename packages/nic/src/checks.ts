import { SgList } from "@sgwire/core";
import type { Endpoint } from "./port.js";

/** Validates an endpoint given to send() or an option; throws TypeError/RangeError naming `where`. */
export function checkEndpoint(e: unknown, where: string): Endpoint {
  if (e === null || typeof e !== "object") throw new TypeError(`${where}: expected { address, port }, got ${e === null ? "null" : typeof e}`);
  const { address, port } = e as Endpoint;
  if (typeof address !== "string" || address.length === 0) throw new TypeError(`${where}: address must be a non-empty string`);
  checkPortNumber(port, `${where}: port`, false);
  return e as Endpoint;
}

export function checkPortNumber(p: unknown, where: string, allowZero: boolean): number {
  if (typeof p !== "number" || !Number.isInteger(p) || p < (allowZero ? 0 : 1) || p > 65535) {
    throw new RangeError(`${where} must be an integer ${allowZero ? 0 : 1}..65535, got ${String(p)}`);
  }
  return p;
}

export function checkPositiveInt(v: unknown, where: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`${where} must be an integer 1..${max}, got ${String(v)}`);
  }
  return v;
}

/** Rejects option keys a backend does not know, so a typo is an error instead of a silent default. */
export function checkKeys(o: object, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new TypeError(`${where}: unknown option "${k}" (known: ${allowed.join(", ")})`);
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Dotted IPv4 to a host-order uint32; throws RangeError if it is not one. */
export function parseIpv4(s: unknown, where: string): number {
  if (typeof s !== "string" || !IPV4.test(s)) throw new RangeError(`${where}: expected a dotted IPv4 address, got ${String(s)}`);
  const p = s.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function checkMac(s: unknown, where: string): string {
  if (typeof s !== "string" || !MAC.test(s)) throw new RangeError(`${where}: expected a MAC address like 02:00:00:00:00:01, got ${String(s)}`);
  return s.toLowerCase();
}

const SG_LIST_BRAND = Symbol.for("sgwire.SgList");

/**
 * True for an SgList made by any copy of @sgwire/core: the registered-symbol brand, not
 * `instanceof` (which is false when the application and this package resolve different copies).
 */
export function isSgList(v: unknown): v is SgList {
  if (typeof v !== "object" || v === null) return false;
  // instanceof too: a @sgwire/core built before the brand existed is still this package's own copy
  return (v as { [SG_LIST_BRAND]?: unknown })[SG_LIST_BRAND] === true || v instanceof SgList;
}

/** `bind: { address?, port? }`, the one shape every backend takes; returns it with defaults applied. */
export function checkBind(
  b: unknown,
  where: string,
  defaults: { address?: string; port: number },
): { address: string; port: number } {
  if (b !== undefined && (b === null || typeof b !== "object" || Array.isArray(b))) {
    throw new TypeError(`${where}: bind must be an object { address?, port? }, got ${b === null ? "null" : typeof b}`);
  }
  const o = (b ?? {}) as { address?: unknown; port?: unknown };
  checkKeys(o, ["address", "port"], `${where}: bind`);
  const address = o.address ?? defaults.address;
  if (address === undefined) throw new TypeError(`${where}: bind.address is required`);
  if (typeof address !== "string" || address.length === 0) {
    throw new TypeError(`${where}: bind.address must be a non-empty string, got ${String(address)}`);
  }
  const port = checkPortNumber(o.port ?? defaults.port, `${where}: bind.port`, true);
  return { address, port };
}

/** The options every backend shares; checked before anything is opened. */
export interface CommonOptionValues {
  closeTimeoutMs: number;
  debugLentBuffers: boolean;
  maxRxHeldBytes: number;
  copyThreshold: number | undefined;
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_RX_HELD_BYTES = 64 * 1024 * 1024;

/** Checks closeTimeoutMs, debugLentBuffers, maxRxHeldBytes and copyThreshold; returns them with defaults. */
export function checkCommonOptions(
  o: { closeTimeoutMs?: unknown; debugLentBuffers?: unknown; maxRxHeldBytes?: unknown; copyThreshold?: unknown },
  where: string,
): CommonOptionValues {
  const closeTimeoutMs =
    o.closeTimeoutMs === undefined ? DEFAULT_CLOSE_TIMEOUT_MS : checkPositiveInt(o.closeTimeoutMs, `${where}: closeTimeoutMs`, 2 ** 31 - 1);
  if (o.debugLentBuffers !== undefined && typeof o.debugLentBuffers !== "boolean") {
    throw new TypeError(`${where}: debugLentBuffers must be a boolean, got ${typeof o.debugLentBuffers}`);
  }
  const maxRxHeldBytes =
    o.maxRxHeldBytes === undefined ? DEFAULT_MAX_RX_HELD_BYTES : checkPositiveInt(o.maxRxHeldBytes, `${where}: maxRxHeldBytes`);
  if (o.copyThreshold !== undefined && !(typeof o.copyThreshold === "number" && o.copyThreshold >= 0)) {
    throw new RangeError(`${where}: copyThreshold must be a number >= 0, got ${String(o.copyThreshold)}`);
  }
  return {
    closeTimeoutMs,
    debugLentBuffers: o.debugLentBuffers === true,
    maxRxHeldBytes,
    copyThreshold: o.copyThreshold as number | undefined,
  };
}
