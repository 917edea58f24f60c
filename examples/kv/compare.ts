/**
 * The kv comparison: the same server and load, once per codec, workload by workload.
 *
 *   tsx kv/compare.ts [--backend udp|tcp] [--codecs sgwire,protobufjs,sgwire@native] [--workloads fixed:64,fixed:4096,...]
 *                     [--duration 3] [--warmup 1] [--concurrency 16 | --rate R] [--quick] [--json FILE]
 *
 * Starts one server process per codec on loopback (each gets a core of its own when there are
 * two), then for every workload runs the load generator against each server in turn, in this
 * process. Prints a progress line per second and, at the end, one table with a row per run and
 * sgwire's throughput relative to each baseline.
 *
 * With --backend dpdk the servers run in another network namespace on a DPDK port (net_af_packet
 * on a veth) and the load comes over kernel UDP from this one: examples/scripts/kv-dpdk.sh.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPort, type BackendName, type Endpoint } from "@sgwire/nic";
import { CODECS, loadCodec } from "./codecs/codec.js";
import { KERNEL_ENGINES, isMain, parseArgs, parseEndpoint } from "./cli-args.js";
import { KvClient } from "./kv-client.js";
import { Expected, mergeSummaries, preload, runLoad, type LoadSummary } from "./load.js";
import { Latencies, fmtRate, fmtUs, kvCompareReport, type KvCompareFile, type KvRow } from "./report.js";
import { makeWorkload } from "./workloads.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  /** Where clients send requests. */
  at: Endpoint;
  /** The server port's driver ("kernel-udp", "net_af_packet", ...) and largest message. */
  driver: string;
  maxMessageBytes: number;
  stop(): Promise<void>;
}

/**
 * Starts `kv/server.ts` in a child process (inside network namespace `netns` when given, which
 * needs root) and resolves once it listens.
 */
export function startServer(codec: string, args: string[], netns?: string): Promise<ServerProcess> {
  const node = [process.execPath, "--import", "tsx", join(here, "server.ts"), "--codec", codec, ...args];
  const [cmd, ...argv] = netns === undefined ? node : ["ip", "netns", "exec", netns, ...node];
  const child = spawn(cmd!, argv, { stdio: ["ignore", "pipe", "inherit"], cwd: join(here, "..") });
  return new Promise((resolve, reject) => {
    let buf = "";
    const fail = (code: number | null): void => reject(new Error(`kv server (${codec}) exited with ${code} before listening`));
    child.once("exit", fail);
    child.stdout!.on("data", (c: Buffer) => {
      buf += c;
      const i = buf.indexOf("\n");
      if (i < 0) return;
      const l = JSON.parse(buf.slice(0, i)).listening;
      child.off("exit", fail);
      resolve({
        child,
        at: { address: l.address, port: l.port },
        driver: l.driver,
        maxMessageBytes: l.maxMessageBytes,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r();
            child.once("exit", () => r());
            child.kill("SIGTERM");
          }),
      });
    });
  });
}

/** Where the servers run when the backend is DPDK: a veth end in another network namespace. */
export interface DpdkSite {
  /** Namespace of the servers (scripts/setup-system.sh makes sgw-a with sgw0). */
  netns: string;
  iface: string;
  /** The servers' IPv4 address; each server gets its own UDP port from 7700 up (clear of the nic tests' 9000). */
  address: string;
  /** Where the clients' kernel UDP ports bind, in this process's namespace (sgw-b: 198.18.0.2). */
  clientBind: string;
}

type Row = KvRow;

export interface CompareOptions {
  backend: BackendName;
  codecs: string[];
  workloads: string[];
  duration: number;
  warmup: number;
  concurrency: number;
  /** Open loop at this many requests per second (Poisson arrivals) instead of the closed loop. */
  rate?: number;
  /** Backend "dpdk": where the servers run (the clients use kernel UDP from this namespace). */
  dpdk?: DpdkSite;
  /** Each codec's measured time is cut into this many rounds, alternating codecs. */
  rounds: number;
  keys?: number;
  log?: (s: string) => void;
}

/**
 * A `--codecs` entry: a codec name, optionally with the kernel engine its server and client use
 * ("sgwire@native", "protobufjs@dgram"; udp: native, uring or dgram, tcp: native or net; without a
 * suffix, the port's default: native where the addon is built).
 */
export function codecSpec(spec: string, backend: BackendName): { codec: string; engine?: "dgram" | "net" | "native" | "uring" } {
  const at = spec.indexOf("@");
  if (at < 0) return { codec: spec };
  const engine = spec.slice(at + 1);
  if (backend !== "udp" && backend !== "tcp") throw new TypeError(`kv compare: ${spec}: an engine goes with --backend udp or tcp`);
  const engines = KERNEL_ENGINES[backend];
  if (!engines.includes(engine)) throw new TypeError(`kv compare: ${spec}: the engine after @ must be ${engines.join(" or ")} for ${backend}`);
  return { codec: spec.slice(0, at), engine: engine as "dgram" | "net" | "native" | "uring" };
}

export async function compare(o: CompareOptions): Promise<Row[]> {
  const log = o.log ?? ((s: string) => void process.stderr.write(s + "\n"));
  const live = o.log === undefined && process.stderr.isTTY === true;
  const servers = new Map<string, ServerProcess>();
  const rows: Row[] = [];
  try {
    for (const [i, c] of o.codecs.entries()) {
      const d = o.dpdk;
      if (o.backend === "dpdk") {
        if (d === undefined) throw new TypeError("kv compare: the dpdk backend needs a DpdkSite (examples/scripts/kv-dpdk.sh)");
        // one DPDK process per codec on the same veth, told apart by UDP port
        const args = ["--backend", "dpdk", "--vdev", `net_af_packet0,iface=${d.iface}`, "--address", d.address, "--port", String(7700 + i)];
        servers.set(c, await startServer(c, args, d.netns));
      } else {
        const { codec, engine } = codecSpec(c, o.backend);
        servers.set(c, await startServer(codec, ["--backend", o.backend, "--bind", "127.0.0.1:0", ...(engine !== undefined ? ["--engine", engine] : [])]));
      }
    }
    for (const spec of o.workloads) {
      const workload = makeWorkload(spec, { keys: o.keys });
      // one client per codec for the whole workload: preload once, then alternate the codecs in
      // short rounds (A B, B A, ...) so drifting machine noise hits them alike
      const clients: Array<{ name: string; client: KvClient; exp: Expected; runs: LoadSummary[]; lat: Latencies; driver: string }> = [];
      try {
        for (const name of o.codecs) {
          const spec = codecSpec(name, o.backend);
          const codec = await loadCodec(spec.codec);
          const srv = servers.get(name)!;
          const port = await openPort(
            o.backend === "tcp"
              ? { backend: "tcp", ...(spec.engine !== undefined ? { engine: spec.engine as "net" | "native" } : {}) }
              : {
                  backend: "udp",
                  highWaterMark: 1024,
                  bind: o.dpdk ? parseEndpoint(o.dpdk.clientBind, "clientBind") : undefined,
                  ...(spec.engine !== undefined ? { engine: spec.engine as "dgram" | "native" | "uring" } : {}),
                  // a DPDK server reads raw frames off its veth: the kernel would hand it GSO packets unsegmented
                  ...(o.dpdk ? { gso: false } : {}),
                },
          );
          // a DPDK server takes packets up to its MTU: large PUTs are split to fit
          const client = new KvClient(port, codec, srv.at, { maxPacket: srv.maxMessageBytes });
          clients.push({ name, client, exp: new Expected(workload), runs: [], lat: new Latencies(), driver: srv.driver });
        }
        for (const c of clients) await preload(c.client, c.exp);
        for (let r = 0; r < o.rounds; r++) {
          const order = r % 2 === 0 ? clients : [...clients].reverse();
          for (const c of order) {
            const what = `${spec} with ${c.name} over ${c.driver}, round ${r + 1}/${o.rounds}`;
            // the first run against a fresh server also warms up its JIT: give it longer
            const warmup = r > 0 ? Math.min(o.warmup, 0.3) : spec === o.workloads[0] ? 2 * o.warmup : o.warmup;
            // on a terminal a live status line; otherwise one line per round
            const progress = live ? (l: string) => void process.stderr.write(`\r\x1b[K${what}:${l}`) : undefined;
            const s = await runLoad(c.client, c.exp, {
              workload, mode: o.rate === undefined ? "closed" : "open", rate: o.rate, concurrency: o.concurrency, duration: o.duration / o.rounds, warmup, progress, latencies: c.lat,
            });
            c.runs.push(s);
            if (live) process.stderr.write("\r\x1b[K");
            log(`  ${what}: ${fmtRate(s.throughput)} req/s, p50 ${fmtUs(s.p50)}, p99 ${fmtUs(s.p99)}, ${s.verified} values verified, ${s.mismatches} bad, ${s.timeouts} lost`);
          }
        }
        for (const c of clients) rows.push({ ...mergeSummaries(c.runs, c.lat), codec: c.name, backend: c.driver });
      } finally {
        for (const c of clients) {
          c.client.close();
          await c.client.port.close();
        }
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  return rows;
}

/** The commit measured, "+changes" when the tree differed (the repository's scripts/git-revision.sh). */
function gitRevision(): string {
  try {
    return execFileSync("bash", [join(here, "..", "..", "scripts", "git-revision.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

const KNOWN = [
  "backend", "codecs", "workloads", "duration", "warmup", "concurrency", "rate", "rounds", "keys", "quick", "json", "server-netns", "iface", "server-address", "client-bind",
] as const;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), KNOWN);
  const quick = a.bool("quick", false);
  const backend = a.str("backend", "udp") as BackendName;
  if (backend !== "udp" && backend !== "tcp" && backend !== "dpdk") throw new TypeError(`--backend must be udp, tcp or dpdk, got ${backend}`);
  const codecs = a.str("codecs", quick ? "sgwire,protobufjs" : CODECS.join(",")).split(",");
  const workloads = a.str("workloads", quick ? "fixed:64,fixed:4096,fixed:64KiB,cdn" : "fixed:64,fixed:1KiB,fixed:4096,fixed:16KiB,fixed:64KiB,cdn,twitter,getm:1-8").split(",");
  const o: CompareOptions = {
    backend,
    codecs,
    workloads,
    duration: a.num("duration", quick ? 3 : 5),
    warmup: a.num("warmup", 1),
    concurrency: a.num("concurrency", 16),
    rate: a.has("rate") ? a.num("rate", 0) : undefined,
    rounds: a.num("rounds", 3),
    dpdk:
      backend === "dpdk"
        ? { netns: a.str("server-netns", "sgw-a"), iface: a.str("iface", "sgw0"), address: a.str("server-address", "198.18.0.1"), clientBind: a.str("client-bind", "198.18.0.2:0") }
        : undefined,
    keys: a.has("keys") ? a.num("keys", 0) : undefined,
  };
  process.stderr.write(
    `kv compare: ${codecs.join(" vs ")} over ${backend === "dpdk" ? `DPDK (servers in ${o.dpdk!.netns} on ${o.dpdk!.iface})` : `${backend} on loopback`}; workloads ${workloads.join(", ")}; ` +
      `${o.rate === undefined ? `closed loop, up to ${o.concurrency} outstanding` : `open loop at ${o.rate} requests/s`}, ${o.duration} s measured each in ${o.rounds} alternating rounds\n`,
  );
  const started = new Date();
  const rows = await compare(o);
  const file: KvCompareFile = {
    command: ["tsx kv/compare.ts", ...process.argv.slice(2)].join(" "),
    revision: gitRevision(),
    date: started.toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) },
    quick,
    options: { ...o, log: undefined },
    rows,
  };
  const out = process.stdout;
  out.write("\n" + kvCompareReport(file) + "\n\n");
  out.write(
    "req/s: responses per second (in a closed loop latency ~ outstanding / throughput); values/s: value bytes delivered;\n" +
      "p50/p99/p99.9: request latency; srv cpu/resp: the server process's CPU time per response (user + system: steadier\n" +
      "than req/s on a shared machine); copied/resp: bytes the server's CPU copied per response (encoder + transport, in\n" +
      "user space); referenced/resp: value bytes sent straight from the store's memory; verified/bad: values checked\n" +
      "byte for byte against what was stored; lost: requests that timed out. Ratios: sgwire's req/s over the baseline's,\n" +
      "and the baseline's CPU per response over sgwire's (above 1x: sgwire spends less); codec@engine: that kernel engine\n" +
      "(native, or Node's dgram/net), and \"sgwire@native ... vs sgwire@dgram\" one engine against the other, same codec.\n",
  );
  const bad = rows.reduce((n, r) => n + r.mismatches, 0);
  if (a.has("json")) {
    const f = a.str("json", "");
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, JSON.stringify(file, null, 1) + "\n");
  }
  if (bad > 0) {
    out.write(`kv compare: ${bad} responses were not byte-identical to a stored value\n`);
    process.exitCode = 1;
  }
}

if (isMain(import.meta.url)) await main();
