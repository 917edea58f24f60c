/**
 * The kv load generator.
 *
 *   tsx kv/client.ts --server 127.0.0.1:7000 [--backend udp|tcp|dpdk] [--codec sgwire|protobufjs|flatbuffers]
 *                    [--workload fixed:4096 | cdn | twitter | getm:1-8[:SIZE]] [--keys N] [--seed N]
 *                    [--mode closed --concurrency 16 | --mode open --rate 20000]
 *                    [--duration 5] [--warmup 1] [--verify true] [--max-packet BYTES] [--json FILE]
 *                    [--engine native|uring|dgram|net] [--gso on|off]     (udp, tcp: the kernel engine; udp native: GSO)
 *
 * The codec must be the one the server was started with. It preloads every key of the workload,
 * runs, prints a progress line each second and a summary table at the end.
 */
import { writeFileSync } from "node:fs";
import { loadCodec } from "./codecs/codec.js";
import { isMain, openKvPort, parseArgs, parseEndpoint, portArgs } from "./cli-args.js";
import { KvClient } from "./kv-client.js";
import { Expected, describe, preload, runLoad } from "./load.js";
import { summaryTable } from "./report.js";
import { makeWorkload } from "./workloads.js";

const KNOWN = [
  "server", "backend", "codec", "workload", "keys", "seed", "mode", "concurrency", "rate", "duration", "warmup", "verify", "max-packet",
  "json", "bind", "vdev", "address", "port", "peer", "mtu", "mbufs", "high-water-mark", "timeout", "engine", "gso",
] as const;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), KNOWN);
  const codec = await loadCodec(a.str("codec", "sgwire"));
  const workload = makeWorkload(a.str("workload", "fixed:4096"), { keys: a.has("keys") ? a.num("keys", 0) : undefined, seed: a.num("seed", 1) });
  const server = parseEndpoint(a.str("server", "127.0.0.1:7000"), "--server");
  const port = await openKvPort(portArgs(a, "client"));
  const c = new KvClient(port, codec, server, { timeoutMs: a.has("timeout") ? a.num("timeout", 250) : undefined, maxPacket: a.has("max-packet") ? a.num("max-packet", 0) : undefined });
  const log = (s: string): void => void process.stderr.write(s + "\n");
  // the first packets may be lost while ARP resolves or a DPDK link comes up: ask a few times
  let reached = false;
  for (let i = 0; i < 8 && !reached; i++) reached = await c.serverStats().then(() => true, () => false);
  if (!reached) {
    throw new Error(`kv client: no answer from ${server.address}:${server.port} over ${port.caps.backend}: is the server running, with --codec ${codec.name}?`);
  }
  const exp = new Expected(workload);
  log(`kv client: ${codec.name} over ${port.caps.driver} to ${server.address}:${server.port}; preloading ${workload.keys} keys of ${workload.name}`);
  await preload(c, exp);
  const mode = a.str("mode", "closed");
  if (mode !== "closed" && mode !== "open") throw new TypeError(`--mode must be closed or open, got ${mode}`);
  const s = await runLoad(c, exp, {
    workload,
    mode,
    concurrency: a.num("concurrency", 16),
    rate: a.has("rate") ? a.num("rate", 0) : undefined,
    duration: a.num("duration", 5),
    warmup: a.num("warmup", 1),
    seed: a.num("seed", 1),
    verify: a.bool("verify", true),
    progress: log,
  });
  c.close();
  await port.close();
  const row = { ...s, codec: codec.name, backend: port.caps.driver };
  process.stdout.write("\n" + summaryTable([row]) + "\n\n" + describe(s) + "\n");
  if (a.has("json")) writeFileSync(a.str("json", ""), JSON.stringify(row, null, 2) + "\n");
  if (s.mismatches > 0) process.exitCode = 1;
}

if (isMain(import.meta.url)) await main();
