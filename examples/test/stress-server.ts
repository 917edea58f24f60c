/**
 * The server process of kv-stress.test.ts: a kv server on kernel UDP and one on kernel TCP (both
 * sgwire, loopback), in a process of their own so that its memory is theirs alone. Started with
 * --expose-gc and an IPC channel, and the kernel engines as its argument ("portable": udp on
 * dgram and tcp on net, or "native": both on the native addon's sockets):
 *   -> {ready: {udp, tcp, limits}}              once listening
 *   <- "measure"  -> {measure: Snapshot}        after forced garbage collections
 *   <- "stop"     -> exits 0 once both servers stopped
 * Nothing here catches uncaught exceptions: a crash is an exit code the test sees.
 */
import v8 from "node:v8";
import { openPort } from "@sgwire/nic";
import { loadCodec } from "../kv/codecs/codec.js";
import { KvServer, tcpMaxMessageBytes, type KvServerOptions } from "../kv/server.js";

export interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
}

export interface Snapshot {
  /** After gc(), now. */
  memory: Memory;
  /** Highest values sampled every 50 ms (no gc) since start. */
  peak: Memory;
  udp: { counters: KvServer["counters"]; port: Record<string, unknown>; store: KvServer["store"]["stats"] };
  tcp: { counters: KvServer["counters"]; port: Record<string, unknown>; store: KvServer["store"]["stats"] };
}

export const STRESS_LIMITS: Required<KvServerOptions> = { maxValueBytes: 256 * 1024, maxKeyBytes: 256, maxPendingPutBytes: 16 * 1024 * 1024, maxPendingPuts: 256 };

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) throw new Error("stress-server: start it with --expose-gc and an IPC channel (child_process.fork)");

function memory(): Memory {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: v8.getHeapStatistics().used_heap_size, arrayBuffers: m.arrayBuffers, external: m.external };
}

const codec = await loadCodec("sgwire");
// argv: the kernel engines ("portable" or "native")
const native = process.argv[2] === "native";
const udp = new KvServer(await openPort({ backend: "udp", engine: native ? "native" : "dgram", highWaterMark: 1024 }), codec, STRESS_LIMITS);
const tcp = new KvServer(await openPort({ backend: "tcp", engine: native ? "native" : "net", maxMessageBytes: tcpMaxMessageBytes(STRESS_LIMITS) }), codec, STRESS_LIMITS);
udp.start();
tcp.start();

const peak = memory();
const sampler = setInterval(() => {
  const m = memory();
  for (const k of Object.keys(peak) as Array<keyof Memory>) peak[k] = Math.max(peak[k], m[k]);
}, 50);

const snap = (s: KvServer): Snapshot["udp"] => ({
  counters: structuredClone(s.counters),
  port: s.port.stats as unknown as Record<string, unknown>,
  store: s.store.stats,
});

process.on("message", (msg) => {
  if (msg === "measure") {
    void (async () => {
      // a few full collections with turns of the event loop between them, so that buffers
      // released by completed sends and their finalizers are gone too
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 30));
      }
      const s: Snapshot = { memory: memory(), peak: { ...peak }, udp: snap(udp), tcp: snap(tcp) };
      process.send!({ measure: s });
    })();
  } else if (msg === "stop") {
    clearInterval(sampler);
    void Promise.all([udp.stop(), tcp.stop()]).then(() => process.exit(0));
  }
});

process.send({ ready: { udp: udp.port.localAddress, tcp: tcp.port.localAddress, limits: STRESS_LIMITS } });
