/**
 * The gRPC benchmark (issue 17), started by main.ts. See bench/README.md, "gRPC".
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { summarize } from "../cpuprofile.js";
import { quantile } from "../harness.js";
import { gitRevision, machineInfo } from "../machine.js";
import { packageVersion } from "../peers/peer.js";
import { blobKey, blobValue, blobVersion, smallRequest, smallResponse } from "./data.js";
import { CLIENT_KINDS, Load, openClient, type ClientKind, type LoadClient, type MethodName } from "./load.js";
import { grpcBenchReport, type GrpcBenchFile, type GrpcBenchGoal, type GrpcBenchMethod, type GrpcBenchRow, type GrpcBenchRun } from "./report.js";
import { isServerKind, SERVER_DESCRIPTIONS, SERVER_KINDS, type ServerKind } from "./servers.js";
import { GetBlobResponse, SmallResponse } from "../generated/grpc-bench.sg.js";

const benchDir = fileURLToPath(new URL("../../", import.meta.url));
const repoRoot = join(benchDir, "..");
const BASELINE: ServerKind = "grpc-js+protobufjs";
const METHODS: MethodName[] = ["getBlob", "small"];

const USAGE = `usage: tsx src/grpc/main.ts [options]
  --quick                 3 rounds of 1.5 s windows after 0.5 s warm-up (default: 5 rounds of 3 s after 1 s);
                          before the rounds every server serves each method unmeasured (2x the warm-up, at least 1 s)
  --rounds N              rounds (every server runs every method once per round, in a rotating order)
  --seconds S             timed window per server and method
  --warmup S              warm-up before each window
  --calls N               windows of N calls instead of seconds (and --warmup-calls, default N/2): for tests
  --warmup-calls N
  --concurrency N         calls in flight (default 32)
  --blob-bytes N          size of GetBlob's stored values (default 65536)
  --keys N                stored values (default 16)
  --servers a,b           subset of ${SERVER_KINDS.join(", ")}
  --methods a,b           subset of ${METHODS.join(", ")}
  --client sgwire|grpc-js the load generator's client (default sgwire: it keeps the servers busier)
  --no-pin                do not pin the server to CPU 0 and the load generator to CPU 1 (taskset)
  --json FILE             where to write the results (default bench/results/grpc-bench.json)
  --profile SERVER        instead of the table: CPU-profile that server's main thread (V8's profiler,
                          timed window only), one process per method, under the same load, and print
                          where its time goes (results/tmp/grpc-profile-SERVER-METHOD/)`;

class UsageError extends Error {}

interface Options {
  rounds: number;
  window: GrpcBenchFile["settings"]["window"];
  concurrency: number;
  blobBytes: number;
  keys: number;
  servers: ServerKind[];
  methods: MethodName[];
  client: ClientKind;
  pin: boolean;
  json: string;
  profile: ServerKind | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    rounds: 5,
    window: { mode: "seconds", warmupSeconds: 1, seconds: 3 },
    concurrency: 32,
    blobBytes: 65536,
    keys: 16,
    servers: [...SERVER_KINDS],
    methods: [...METHODS],
    client: "sgwire",
    pin: true,
    json: join(benchDir, "results/grpc-bench.json"),
    profile: undefined,
  };
  let seconds: number | undefined;
  let warmup: number | undefined;
  let calls: number | undefined;
  let warmupCalls: number | undefined;
  let quick = false;
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const num = (min: number, integer = true): number => {
      const raw = value();
      const v = Number(raw);
      if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) throw new UsageError(`${a} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${raw}`);
      return v;
    };
    const list = <T extends string>(known: readonly T[]): T[] => {
      const raw = value();
      const out = raw.split(",").filter((x) => x !== "");
      for (const x of out) if (!(known as readonly string[]).includes(x)) throw new UsageError(`${a}: unknown ${JSON.stringify(x)} (one of ${known.join(", ")})`);
      if (out.length === 0) throw new UsageError(`${a} needs at least one of ${known.join(", ")}`);
      return out as T[];
    };
    if (a === "--quick") quick = true;
    else if (a === "--rounds") rounds = num(1);
    else if (a === "--seconds") seconds = num(0.01, false);
    else if (a === "--warmup") warmup = num(0, false);
    else if (a === "--calls") calls = num(1);
    else if (a === "--warmup-calls") warmupCalls = num(0);
    else if (a === "--concurrency") o.concurrency = num(1);
    else if (a === "--blob-bytes") o.blobBytes = num(0);
    else if (a === "--keys") o.keys = num(1);
    else if (a === "--servers") o.servers = list(SERVER_KINDS);
    else if (a === "--methods") o.methods = list(METHODS);
    else if (a === "--client") o.client = list(CLIENT_KINDS)[0]!;
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--json") o.json = resolve(value());
    else if (a === "--profile") {
      const s = value();
      if (!isServerKind(s)) throw new UsageError(`--profile: unknown server ${JSON.stringify(s)} (one of ${SERVER_KINDS.join(", ")})`);
      o.profile = s;
    } else if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE + "\n");
      process.exit(0);
    } else throw new UsageError(`unknown option ${a}`);
  }
  if (calls !== undefined) {
    if (seconds !== undefined || warmup !== undefined) throw new UsageError("--calls and --seconds/--warmup exclude each other");
    o.window = { mode: "calls", calls, warmupCalls: warmupCalls ?? Math.ceil(calls / 2) };
  } else {
    if (warmupCalls !== undefined) throw new UsageError("--warmup-calls goes with --calls");
    o.window = { mode: "seconds", warmupSeconds: warmup ?? (quick ? 0.5 : 1), seconds: seconds ?? (quick ? 1.5 : 3) };
  }
  o.rounds = rounds ?? (quick ? 3 : 5);
  if (!o.servers.includes(BASELINE) && o.profile === undefined) process.stderr.write(`note: ${BASELINE} is not among --servers: no ratios\n`);
  return o;
}

interface ServerStats {
  cpu: { user: number; system: number };
  calls: { getBlob: number; small: number };
  rssBytes: number;
}

/** A server process (server.ts) and its side channel. */
class ServerProcess {
  private readonly waiting: { resolve: (s: ServerStats) => void; reject: (e: Error) => void }[] = [];
  private exited: Error | undefined;
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly kind: ServerKind,
    private readonly child: ChildProcess,
    readonly port: number,
    lines: AsyncIterator<string>,
  ) {
    this.exitPromise = new Promise((res) => child.once("exit", () => res()));
    void (async () => {
      for (;;) {
        const r = await lines.next();
        if (r.done) break;
        const w = this.waiting.shift();
        if (w === undefined) continue;
        try {
          w.resolve(JSON.parse(r.value) as ServerStats);
        } catch (e) {
          w.reject(new Error(`${kind} server: bad stats line ${JSON.stringify(r.value)}: ${(e as Error).message}`));
        }
      }
    })();
    child.once("exit", (code, signal) => {
      this.exited = new Error(`${kind} server exited (${signal ?? `code ${code}`})`);
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  static async start(kind: ServerKind, o: Options, cpu: number | null, nodeArgs: string[] = []): Promise<ServerProcess> {
    const argv = [...nodeArgs, "--import", "tsx", fileURLToPath(new URL("./server.ts", import.meta.url)), "--server", kind, "--blob-bytes", String(o.blobBytes), "--keys", String(o.keys)];
    const child = cpu === null ? spawn(process.execPath, argv, { cwd: benchDir, stdio: ["pipe", "pipe", "inherit"] }) : spawn("taskset", ["-c", String(cpu), process.execPath, ...argv], { cwd: benchDir, stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => child.once("exit", (code, signal) => reject(new Error(`${kind} server exited before it was ready (${signal ?? `code ${code}`})`)))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${kind} server: not ready after 60 s`)), 60_000).unref()),
    ]).catch((e: unknown) => {
      child.kill();
      throw e;
    });
    const ready = first.done ? undefined : (JSON.parse(first.value) as { ready?: boolean; port?: number });
    if (ready?.ready !== true || typeof ready.port !== "number") {
      child.kill();
      throw new Error(`${kind} server: expected a ready line, got ${JSON.stringify(first.value)}`);
    }
    return new ServerProcess(kind, child, ready.port, lines);
  }

  stats(): Promise<ServerStats> {
    return this.request("stats") as Promise<ServerStats>;
  }

  /** Sends one command line; resolves with the server's JSON answer (rejects on `{ error }`). */
  request(line: string): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<unknown>((res, rej) => {
      this.waiting.push({ resolve: res as (s: ServerStats) => void, reject: rej });
      this.child.stdin!.write(line + "\n");
    }).then((r) => {
      const e = (r as { error?: unknown }).error;
      if (typeof e === "string") throw new Error(`${this.kind} server: ${e}`);
      return r;
    });
  }

  /** Asks the server to close and waits for the process to end (killed after 10 s). */
  async stop(): Promise<void> {
    if (this.exited === undefined) {
      this.child.stdin!.end("exit\n");
      const t = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      await this.exitPromise;
      clearTimeout(t);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pins this process (every thread) to `cpu`; false if taskset is missing or refused. */
function pinSelf(cpu: number): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface Window {
  run: Omit<GrpcBenchRun, "round">;
  answered: number;
}

/** Warm-up, then one timed window of `method` on `server`, then the load drains. */
async function measure(
  server: ServerProcess,
  client: LoadClient,
  method: MethodName,
  o: Options,
  totals: { answered: number; errors: number; mismatches: number; problems: string[] },
  profileTo?: string,
): Promise<Window> {
  const load = new Load(client, method, o.concurrency);
  load.start();
  if (o.window.mode === "seconds") await sleep(o.window.warmupSeconds * 1000);
  else await load.completedAtLeast(o.window.warmupCalls);
  if (profileTo !== undefined) await server.request("profile-start");
  const s0 = await server.stats();
  const c0 = load.counts.completed;
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  load.recording = true;
  if (o.window.mode === "seconds") await sleep(o.window.seconds * 1000);
  else await load.completedAtLeast(c0 + o.window.calls);
  const c1 = load.counts.completed;
  const t1 = process.hrtime.bigint();
  const u1 = process.cpuUsage(u0);
  // read while the load goes on, a round trip of the side channel after the client's count (as
  // at the start: both windows are shifted alike)
  const s1 = await server.stats();
  if (profileTo !== undefined) await server.request(`profile-stop ${profileTo}`);
  load.recording = false;
  await load.stop();
  const lat = load.takeLatencies();
  const c = load.counts;
  totals.answered += c.completed;
  totals.errors += c.errors;
  totals.mismatches += c.mismatches;
  for (const p of c.problems) if (totals.problems.length < 5) totals.problems.push(p);
  const seconds = Number(t1 - t0) / 1e9;
  const user = s1.cpu.user - s0.cpu.user;
  const system = s1.cpu.system - s0.cpu.system;
  const serverCalls = s1.calls[method] - s0.calls[method];
  const cpuUs = user + system;
  return {
    answered: c.completed,
    run: {
      seconds,
      clientCalls: c1 - c0,
      requestsPerSecond: (c1 - c0) / seconds,
      serverCalls,
      serverCpuUs: { user, system },
      cpuUsPerRequest: serverCalls > 0 ? cpuUs / serverCalls : 0,
      requestsPerCpuSecond: cpuUs > 0 ? serverCalls / (cpuUs / 1e6) : 0,
      p50Us: lat.p50Us,
      p99Us: lat.p99Us,
      clientCpuUsPerRequest: c1 > c0 ? (u1.user + u1.system) / (c1 - c0) : 0,
    },
  };
}

function median(xs: number[]): number {
  return xs.length === 0 ? 0 : quantile([...xs].sort((x, y) => x - y), 0.5);
}

function methodLabel(method: MethodName, blobBytes: number): string {
  if (method === "small") return "Small";
  const size = blobBytes >= 1024 && blobBytes % 1024 === 0 ? `${blobBytes / 1024} KiB` : `${blobBytes} B`;
  return `GetBlob ${size}`;
}

function responseBytes(method: MethodName, blobBytes: number): number {
  return method === "getBlob" ? GetBlobResponse.encodedSize({ key: blobKey(0), value: blobValue(0, blobBytes), version: blobVersion(0) }) : SmallResponse.encodedSize(smallResponse(smallRequest(0)));
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  for (const p of ["@grpc/grpc-js", "@grpc/proto-loader", "protobufjs", "@bufbuild/protobuf"]) v[p] = packageVersion(p);
  return v;
}

async function bench(o: Options, argv: string[]): Promise<GrpcBenchFile> {
  const started = new Date();
  const pin = o.pin && os.cpus().length >= 2 && hasTaskset() && pinSelf(1) ? { server: 0, client: 1 } : null;
  if (o.pin && pin === null) process.stderr.write("note: not pinned (needs 2 CPUs and taskset)\n");
  const servers: ServerProcess[] = [];
  const clients = new Map<ServerKind, LoadClient>();
  const runs = new Map<string, GrpcBenchRun[]>();
  const totals = new Map<string, { answered: number; errors: number; mismatches: number; problems: string[] }>();
  try {
    for (const kind of o.servers) {
      const s = await ServerProcess.start(kind, o, pin?.server ?? null);
      servers.push(s);
      clients.set(kind, await openClient(o.client, { port: s.port, blobBytes: o.blobBytes, keys: o.keys }));
    }
    // each server process starts cold: one unmeasured pass of every method first, so the first
    // round does not time the JIT compiling the server's code paths
    for (const s of servers) {
      for (const method of o.methods) {
        const t = { answered: 0, errors: 0, mismatches: 0, problems: [] as string[] };
        const load = new Load(clients.get(s.kind)!, method, o.concurrency);
        load.start();
        if (o.window.mode === "seconds") await sleep(Math.max(1, 2 * o.window.warmupSeconds) * 1000);
        else await load.completedAtLeast(o.window.warmupCalls);
        await load.stop();
        const key = `${method}\t${s.kind}`;
        totals.set(key, t);
        t.answered += load.counts.completed;
        t.errors += load.counts.errors;
        t.mismatches += load.counts.mismatches;
        t.problems.push(...load.counts.problems.slice(0, 5));
      }
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const method of o.methods) {
        // a different order each round, so no server always follows the same one
        const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
        for (const s of order) {
          const key = `${method}\t${s.kind}`;
          const t = totals.get(key) ?? { answered: 0, errors: 0, mismatches: 0, problems: [] };
          totals.set(key, t);
          process.stderr.write(`round ${round + 1}/${o.rounds} ${method} ${s.kind} ... `);
          const w = await measure(s, clients.get(s.kind)!, method, o, t);
          process.stderr.write(`${w.run.requestsPerSecond.toFixed(0)} req/s, ${w.run.cpuUsPerRequest.toFixed(1)} us server CPU per call, ${w.run.clientCpuUsPerRequest.toFixed(1)} us client CPU per call${t.errors + t.mismatches > 0 ? `, ${t.errors} errors, ${t.mismatches} wrong` : ""}\n`);
          runs.set(key, [...(runs.get(key) ?? []), { round, ...w.run }]);
        }
      }
    }
  } finally {
    for (const c of clients.values()) c.close();
    await Promise.all(servers.map((s) => s.stop()));
  }

  const methods: GrpcBenchMethod[] = o.methods.map((method) => {
    const rows: GrpcBenchRow[] = o.servers.map((server) => {
      const rs = runs.get(`${method}\t${server}`) ?? [];
      const t = totals.get(`${method}\t${server}`) ?? { answered: 0, errors: 0, mismatches: 0, problems: [] };
      return {
        server,
        description: SERVER_DESCRIPTIONS[server],
        runs: rs,
        median: {
          requestsPerSecond: median(rs.map((r) => r.requestsPerSecond)),
          cpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
          requestsPerCpuSecond: median(rs.map((r) => r.requestsPerCpuSecond)),
          p50Us: median(rs.map((r) => r.p50Us)),
          p99Us: median(rs.map((r) => r.p99Us)),
        },
        answered: t.answered,
        errors: t.errors,
        mismatches: t.mismatches,
        problems: t.problems,
        ok: t.answered > 0 && t.errors === 0 && t.mismatches === 0,
      };
    });
    const base = rows.find((r) => r.server === BASELINE);
    if (base !== undefined && base.ok) {
      for (const r of rows) {
        r.vsBaseline = {
          requestsPerSecond: r.median.requestsPerSecond / base.median.requestsPerSecond,
          requestsPerCpuSecond: r.median.requestsPerCpuSecond / base.median.requestsPerCpuSecond,
        };
      }
    }
    return { method, label: methodLabel(method, o.blobBytes), responseBytes: responseBytes(method, o.blobBytes), rows };
  });

  const goals: GrpcBenchGoal[] = [];
  const goal = (method: MethodName, target: number, text: string) => {
    const m = methods.find((x) => x.method === method);
    if (m === undefined) return;
    const r = m.rows.find((x) => x.server === "sgwire");
    const measured = r?.ok === true && r.vsBaseline !== undefined ? r.vsBaseline.requestsPerCpuSecond : null;
    goals.push({ goal: text.replace("$label", m.label), measured, target, met: measured !== null && measured >= target });
  };
  goal("getBlob", 2, `$label: sgwire's requests per server CPU second over ${BASELINE}'s`);
  goal("small", 1, `$label: sgwire's requests per server CPU second over ${BASELINE}'s`);

  return {
    command: ["tsx src/grpc/main.ts", ...argv].join(" "),
    revision: gitRevision(repoRoot),
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
    machine: machineInfo(),
    loadAverageEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    versions: versions(),
    settings: { client: o.client, concurrency: o.concurrency, rounds: o.rounds, window: o.window, blobBytes: o.blobBytes, keys: o.keys, pin },
    baseline: BASELINE,
    methods,
    goals,
  };
}

/**
 * --profile: each method against a server of that kind under the same load, V8's CPU profiler
 * running in the server for the timed window only (after an unmeasured pass and the warm-up);
 * prints the top functions.
 */
async function profile(kind: ServerKind, o: Options): Promise<void> {
  const pin = o.pin && os.cpus().length >= 2 && hasTaskset() && pinSelf(1) ? { server: 0, client: 1 } : null;
  for (const method of o.methods) {
    const dir = join(benchDir, `results/tmp/grpc-profile-${kind}-${method}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "server.cpuprofile");
    const s = await ServerProcess.start(kind, o, pin?.server ?? null);
    const client = await openClient(o.client, { port: s.port, blobBytes: o.blobBytes, keys: o.keys });
    const t = { answered: 0, errors: 0, mismatches: 0, problems: [] as string[] };
    let w: Window;
    try {
      await measure(s, client, method, o, t); // the JIT's first pass, unprofiled
      w = await measure(s, client, method, o, t, file);
    } finally {
      client.close();
      await s.stop();
    }
    const lines = [
      `${kind} server, ${methodLabel(method, o.blobBytes)}: ${w.run.requestsPerSecond.toFixed(0)} req/s, ${w.run.cpuUsPerRequest.toFixed(1)} us server CPU per call under the profiler (${t.errors + t.mismatches} bad answers)`,
      `profile: ${file} (the server's main thread during the timed window)`,
    ];
    // shares of the samples where the main thread was busy: the process is mostly idle between
    // calls (and kernel time, other threads and native code below JavaScript show only as their
    // JavaScript callers or "(program)")
    const all = summarize(file);
    const idle = all.find((r) => r.fn === "(idle)")?.selfShare ?? 0;
    const busy = 1 - idle;
    lines.push(`main thread busy in ${(busy * 100).toFixed(0)}% of the samples; shares below are of those`, "self%   total%  function  (where)");
    for (const r of all.filter((x) => x.fn !== "(idle)").slice(0, 40)) lines.push(`${((r.selfShare / busy) * 100).toFixed(1).padStart(5)}  ${((r.totalShare / busy) * 100).toFixed(1).padStart(6)}   ${r.fn}  (${r.where})`);
    writeFileSync(join(dir, "summary.txt"), lines.join("\n") + "\n");
    process.stdout.write(lines.join("\n") + "\n\n");
  }
}

export async function main(argv: string[]): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`grpc bench: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (o.profile !== undefined) {
    await profile(o.profile, o);
    return 0;
  }
  const f = await bench(o, argv);
  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, JSON.stringify(f, null, 2) + "\n");
  process.stdout.write(grpcBenchReport(f) + "\n");
  process.stderr.write(`wrote ${o.json}\n`);
  return f.methods.every((m) => m.rows.every((r) => r.ok)) ? 0 : 1;
}
