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
