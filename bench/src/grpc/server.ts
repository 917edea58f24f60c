/**
 * One server of the gRPC benchmark, in a process of its own so its CPU time can be read apart from
 * the load generator's:
 *
 *   node --import tsx src/grpc/server.ts --server sgwire|grpc-js+protobufjs|grpc-js+protobuf-es|grpc-js+sgwire
 *        [--blob-bytes 65536] [--keys 16]
 *
 * Side channel: stdout carries one JSON object per line, nothing else. First
 * `{"ready":true,"port":P,"pid":N}` once listening; then, for each `stats` line read on stdin,
 * `{"cpu":{"user":us,"system":us},"calls":{"getBlob":n,"small":n},"rssBytes":n}` (process.cpuUsage
 * of this process: every thread, GC included, and the handlers' call counts read at the same
 * moment). `profile-start` starts V8's CPU profiler in this process (answer `{"profiling":true}`),
 * `profile-stop FILE` stops it and writes the .cpuprofile to FILE (answer `{"profile":FILE}`): the
 * bench's --profile covers its timed window only, not start-up and warm-up. `exit` on stdin, or
 * stdin closing (the parent went away), closes the server and ends the process.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { createInterface } from "node:readline";
import { isServerKind, SERVER_KINDS, startServer } from "./servers.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

async function main(): Promise<void> {
  const kind = arg("--server", "");
  if (!isServerKind(kind)) throw new Error(`--server must be one of ${SERVER_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
  const server = await startServer(kind, {
    blobBytes: positiveInt("--blob-bytes", arg("--blob-bytes", "65536")),
    keys: positiveInt("--keys", arg("--keys", "16")),
  });
  const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
  let closing = false;
  const finish = async () => {
    if (closing) return;
    closing = true;
    await server.close();
    process.exit(0);
  };
  let profiler: Session | undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => profiler!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  const failed = (what: string) => (e: unknown) => send({ error: `${what}: ${e instanceof Error ? e.message : String(e)}` });
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (l) => {
    const [cmd = "", arg] = l.trim().split(/\s+/, 2);
    if (cmd === "stats") send({ cpu: process.cpuUsage(), calls: { ...server.calls }, rssBytes: process.memoryUsage.rss() });
    else if (cmd === "profile-start") {
      profiler ??= new Session();
      profiler.connect();
      post("Profiler.enable")
        .then(() => post("Profiler.setSamplingInterval", { interval: 200 }))
        .then(() => post("Profiler.start"))
        .then(() => send({ profiling: true }), failed("profile-start"));
    } else if (cmd === "profile-stop" && arg !== undefined && profiler !== undefined) {
      post("Profiler.stop")
        .then((r) => {
          writeFileSync(arg, JSON.stringify((r as { profile: unknown }).profile));
          profiler!.disconnect();
          send({ profile: arg });
        })
        .catch(failed("profile-stop"));
    } else if (cmd === "exit") void finish();
    else if (cmd !== "") process.stderr.write(`grpc bench server: unknown command ${JSON.stringify(l)} (stats, profile-start, profile-stop FILE, exit)\n`);
  });
  lines.on("close", () => void finish());
  send({ ready: true, port: server.port, pid: process.pid });
}

main().catch((e: unknown) => {
  process.stderr.write(`grpc bench server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
