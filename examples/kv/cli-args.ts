/**
 * Command-line options shared by the kv server, client and comparison, and opening the port they
 * ask for. Options are `--name value` (or `--name=value`); a bare `--flag` is "true".
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openPort, type BackendName, type Port, type PortOptions } from "@sgwire/nic";

export class Args {
  constructor(private readonly m: Map<string, string>) {}

  has(name: string): boolean {
    return this.m.has(name);
  }

  str(name: string, fallback: string): string {
    return this.m.get(name) ?? fallback;
  }

  num(name: string, fallback: number): number {
    const v = this.m.get(name);
    if (v === undefined) return fallback;
    const n = Number(v.replace(/_/g, ""));
    if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, got ${v}`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.m.get(name);
    if (v === undefined) return fallback;
    if (v === "true" || v === "1" || v === "yes") return true;
    if (v === "false" || v === "0" || v === "no") return false;
    throw new TypeError(`--${name} must be true or false, got ${v}`);
  }

  /** Every value of a repeatable option (`--peer a=b --peer c=d`). */
  all(name: string): string[] {
    return (this.m.get(name) ?? "").split("\u0000").filter((s) => s !== "");
  }
}

export function parseArgs(argv: string[], known?: readonly string[]): Args {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue;
    if (!a.startsWith("--")) throw new TypeError(`unexpected argument ${a} (options look like --name value)`);
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) value = argv[++i]!;
    else value = "true";
    if (known !== undefined && !known.includes(name)) throw new TypeError(`unknown option --${name} (known: ${known.map((k) => "--" + k).join(" ")})`);
    m.set(name, m.has(name) ? `${m.get(name)}\u0000${value}` : value);
  }
  return new Args(m);
}

/** True when the module at `url` is the program node was started with. */
export function isMain(url: string): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(fileURLToPath(url)) === realpathSync(argv1);
  } catch {
    return false;
  }
}

/** The `engine` values a kernel port takes (packages/nic: udp-port.ts, tcp-port.ts). */
export const KERNEL_ENGINES: Record<"udp" | "tcp", readonly string[]> = { udp: ["native", "uring", "dgram"], tcp: ["native", "net"] };

export function parseEndpoint(s: string, what: string): { address: string; port: number } {
  const i = s.lastIndexOf(":");
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`${what} must look like ADDRESS:PORT, got ${s}`);
  return { address: s.slice(0, i), port };
}

/** openPort options from --backend, --bind (udp/tcp) or --vdev/--address/--port/--peer/--mtu (dpdk). */
export function portArgs(a: Args, role: "server" | "client"): PortOptions {
  const backend = a.str("backend", "udp") as BackendName;
  if (backend === "udp" || backend === "tcp") {
    const bind = parseEndpoint(a.str("bind", role === "server" ? "127.0.0.1:7000" : "127.0.0.1:0"), "--bind");
    // --engine: the kernel engine (udp: native, uring or dgram; tcp: native or net); default: the port's
    const engines = KERNEL_ENGINES[backend];
    const engine = a.has("engine") ? a.str("engine", "") : undefined;
    if (engine !== undefined && !engines.includes(engine)) throw new TypeError(`--engine for ${backend} must be ${engines.join(" or ")}, got ${engine}`);
    const e = engine === undefined ? {} : { engine: engine as never };
    if (backend === "tcp") return { backend, bind, ...e };
    // --gso off: no UDP GSO sends (a peer reading raw frames off a veth of this host, DPDK's af_packet)
    const gso = a.has("gso") ? a.str("gso", "") : undefined;
    if (gso !== undefined && gso !== "on" && gso !== "off") throw new TypeError(`--gso must be on or off, got ${gso}`);
    return { backend, bind, highWaterMark: a.num("high-water-mark", 1024), ...e, ...(gso === undefined ? {} : { gso: gso === "on" }) };
  }
  if (backend === "dpdk") {
    const peers: Record<string, string> = {};
    for (const p of a.all("peer")) {
      const [ip, mac] = p.split("=");
      if (!ip || !mac) throw new TypeError(`--peer must look like IPV4=MAC, got ${p}`);
      peers[ip] = mac;
    }
    const o: PortOptions = {
      backend,
      vdev: a.str("vdev", "net_af_packet0,iface=sgw0"),
      bind: { address: a.str("address", role === "server" ? "198.18.0.1" : "198.18.0.3"), port: a.num("port", 7700) },
      peers,
      mbufs: a.num("mbufs", 16383),
    };
    if (a.has("mtu")) o.mtu = a.num("mtu", 1500);
    return o;
  }
  throw new TypeError(`--backend must be udp, tcp or dpdk, got ${backend}`);
}

export function openKvPort(o: PortOptions): Promise<Port> {
  return openPort(o);
}
