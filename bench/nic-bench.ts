/**
 * @sgwire/nic benchmark: messages per second from one JavaScript thread (one core), encode plus
 * send of a 2-segment message, on each transport this machine has, beside a copying baseline
 * (the same message encoded by protobufjs into one buffer and sent through the same port) in the
 * same run. Not a test: it prints a table and writes bench/results/nic-bench.json and .svg.
 *
 *   node --import tsx bench/nic-bench.ts [--seconds 2] [--value 1024] [--only net_null,udp,tcp]
 *
 * Needs the built workspace (pnpm install), and for the veth rows scripts/setup-system.sh (root).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cpus, loadavg } from "node:os";
import protobuf from "protobufjs";
import { SgList, type MessageType } from "../packages/core/dist/index.js";
import { nicInfo, openPort, type Endpoint, type Port, type PortOptions, type PortStats } from "../packages/nic/dist/index.js";
import { gitRevision } from "./src/machine.js";
import { ledgerPerMessage } from "./src/ledger.js";
import { nicBenchReport, type NicBenchFile, type NicBenchRow } from "./src/report/nic-bench-report.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const SECONDS = Number(arg("seconds", "2"));
const VALUE = Number(arg("value", "1024"));
const ONLY = arg("only", "");

interface Rec {
  id: bigint;
  key: string;
  value: Uint8Array;
}

// ---- the codec: sgwire's compiler output for nic-record.proto, generated for this run
const genDir = join(root, "bench", "results", "tmp", "nic");
mkdirSync(genDir, { recursive: true });
const gen = spawnSync(process.execPath, [join(root, "packages", "codegen", "bin", "sgwire.js"), "compile", "--out", genDir, "-I", here, join(here, "nic-record.proto")], { encoding: "utf8" });
if (gen.status !== 0) throw new Error(`sgwire compile failed: ${gen.stderr}`);
const { Record } = (await import(pathToFileURL(join(genDir, "nic-record.sg.ts")).href)) as { Record: MessageType<Rec> };
const PbRecord = protobuf.loadSync(join(here, "nic-record.proto")).lookupType("sgwire.bench.nic.Record");

interface Target {
  name: string;
  note: string;
  open: () => Promise<{ port: Port; dest: Endpoint; close: () => Promise<void> }>;
  /**
   * Open a new port (and receiver) for each row: a port whose cost grows the longer it streams
   * would otherwise make each row pay for the ones before it (rows run in a fixed order).
   */
  portPerRow?: boolean;
}

function mac(dev: string): string {
  const r = spawnSync("ip", ["-j", "link", "show", dev], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`no ${dev}: run scripts/setup-system.sh as root`);
  return (JSON.parse(r.stdout) as Array<{ address: string }>)[0]!.address;
}

const haveDpdk = nicInfo().backends.find((b) => b.name === "dpdk")!.available;
const haveVeth = spawnSync("ip", ["link", "show", "sgw2"]).status === 0;
const targets: Target[] = [];
if (haveDpdk) {
  targets.push({
    name: "dpdk net_null",
    note: "TX only; the driver frees each mbuf chain at once",
    open: async () => {
      const port = await openPort({ backend: "dpdk", vdev: "net_null0", peers: { "198.18.0.2": "02:53:47:00:00:02" } });
      return { port, dest: { address: "198.18.0.2", port: 9000 }, close: () => port.close() };
    },
  });
  if (haveVeth) {
    for (const drv of ["af_xdp", "af_packet"]) {
      targets.push({
        name: `dpdk net_${drv} (veth)`,
        note: drv === "af_xdp" ? "sgw2 -> sgw3; DPDK 22.11 af_xdp has no multi-segment TX: one copied mbuf" : "sgw2 -> sgw3; chain of header mbuf + extbuf, the PMD copies it into its TPACKET frame (user space)",
        open: async () => {
          const port = await openPort({ backend: "dpdk", vdev: `net_${drv}2,iface=sgw2`, bind: { address: "198.18.1.1" }, peers: { "198.18.1.2": mac("sgw3") } });
          return { port, dest: { address: "198.18.1.2", port: 9000 }, close: () => port.close() };
        },
      });
    }
  }
}
/** A plain net server in this process that reads and discards (no framing or message objects). */
async function tcpSink(): Promise<{ dest: Endpoint; close: () => Promise<void> }> {
  const sink = createServer((sock) => {
    sock.on("error", () => {});
    sock.resume();
  });
  await new Promise<void>((resolve, reject) => {
    sink.once("error", reject);
    sink.listen(0, "127.0.0.1", () => resolve());
  });
  const a = sink.address() as AddressInfo;
  return { dest: { address: a.address, port: a.port }, close: () => new Promise<void>((resolve) => sink.close(() => resolve())) };
}

/** The kernel rows: each engine this machine has, udp to a port of the same engine that discards, tcp to tcpSink. */
const KERNEL_ROWS: Array<{ backend: "udp" | "tcp"; engine: string; name: string; note: string }> = [
  { backend: "udp", engine: "dgram", name: "kernel udp (loopback)", note: "dgram.send(segments): one sendmsg per message; a bound receiver discards" },
  {
    backend: "udp", engine: "native", name: "kernel udp native (loopback)",
    note: "engine native: the sends of one turn in sendmmsg bursts, equal datagrams to one destination as UDP GSO sends; a native receiver discards",
  },
  {
    backend: "udp", engine: "uring", name: "kernel udp uring (loopback)",
    note: "engine uring: the sends of one turn as linked SENDMSG submissions of one io_uring, equal datagrams to one destination as GSO sends; a uring receiver (multishot RECVMSG) discards",
  },
  {
    backend: "tcp", engine: "net", name: "kernel tcp (loopback)",
    note: "engine net: length prefix + segments between cork()/uncork(), one writev per message; a plain net server in this process reads and discards",
  },
  {
    backend: "tcp", engine: "native", name: "kernel tcp native (loopback)",
    note: "engine native: the messages of one turn in sendmsg calls of up to 1024 segments; the same plain net server reads and discards",
  },
];
const engines = nicInfo().backends;
for (const r of KERNEL_ROWS) {
  if (!engines.find((b) => b.name === r.backend)!.engines!.find((e) => e.name === r.engine)!.available) continue;
  const options = { backend: r.backend, engine: r.engine } as PortOptions;
  targets.push({
    name: r.name,
    note: r.note,
    // tcp: the "net" port reads /proc/net/tcp to learn what the peer acknowledged; over a long
    // stream those reads come more often and cost more than the writes, so each row gets a new
    // port and connection (the native one likewise, to compare alike)
    portPerRow: r.backend === "tcp",
    open: async () => {
      const port = await openPort(options);
      if (r.backend === "tcp") {
        const sink = await tcpSink();
        return { port, dest: sink.dest, close: async () => { await port.close(); await sink.close(); } };
      }
      const sink = await openPort(options);
      sink.onMessage((m) => m.release());
      return { port, dest: sink.localAddress, close: async () => { await port.close(); await sink.close(); } };
    },
  });
}

type Row = NicBenchRow;

/**
 * The port's stats once every one of `sent` messages accepted since `s0` counts as sent. TCP
 * counts a message when the peer acknowledged it, which can come after completions() (the
 * kernel took the bytes): without this wait its ledger would be divided by fewer messages than
 * the encoder and the port counted.
 */
async function settledStats(port: Port, s0: PortStats, sent: number): Promise<PortStats> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = port.stats;
    if (s.messagesSent - s0.messagesSent >= sent) return s;
    if (Date.now() > deadline) {
      console.error(`nic-bench: ${sent - (s.messagesSent - s0.messagesSent)} of ${sent} messages not counted as sent after 5 s (drops ${s.drops - s0.drops}): copies per message are approximate`);
      return s;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Runs `step` (one encode + send) for about SECONDS; returns messages, wall seconds and CPU
 * seconds of this process (user + system: the kernel's share of a sendmsg counts). Messages per
 * CPU second is the per-core figure; it holds up when other work shares the machine.
 */
async function timed(port: Port, step: (i: number) => boolean): Promise<{ n: number; s: number; cpu: number; sent: number }> {
  const run = async (limitMs: number): Promise<{ n: number; s: number; cpu: number }> => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(Math.round(limitMs * 1e6));
    let n = 0;
    for (;;) {
      for (let k = 0; k < 1024; k++) {
        if (!step(n++)) await port.drained();
      }
      if (process.hrtime.bigint() >= end) break;
    }
    await port.completions();
    const c = process.cpuUsage(c0);
    return { n, s: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
  };
  const w = await run(300); // warm-up: JIT, pools, caches
  const r = await run(SECONDS * 1000);
  // each step sent one message; the warm-up's are between the row's snapshots too
  return { ...r, sent: w.n + r.n };
}

const started = new Date();
const rows: Row[] = [];
const key = "user:0000000042k"; // 16 characters

/** An open target: its port, where to send, and the 1024-byte value in the port's memory. */
interface Open {
  t: Target;
  port: Port;
  dest: Endpoint;
  close: () => Promise<void>;
  value: Uint8Array;
  /** the port's policy, with a copy threshold at most VALUE (the value is always referenced where it can be) */
  policy: Port["policy"];
}

async function open(t: Target): Promise<Open> {
  const { port, dest, close } = await t.open();
  const value = port.allocate(VALUE).bytes;
  for (let i = 0; i < value.length; i++) value[i] = i * 7;
  const policy = { ...port.policy, copyThreshold: Math.min(port.policy.copyThreshold, VALUE) };
  return { t, port, dest, close, value, policy };
}

/** One row: `step` (one message) timed on `o`'s port, with the ledger between snapshots around it. */
async function row(o: Open, mode: string, step: (i: number) => boolean, segments: number, note: string, encoderRan = true): Promise<Row> {
  const s0 = o.port.stats;
  const r = await timed(o.port, step);
  const s1 = await settledStats(o.port, s0, r.sent);
  return {
    target: o.t.name, mode, messages: r.n, seconds: r.s, messagesPerSecond: r.n / r.s, cpuSeconds: r.cpu, messagesPerCpuSecond: r.n / r.cpu,
    ...ledgerPerMessage(s0, s1, encoderRan),
    segments, note,
  };
}

const modes: Array<(o: Open) => Promise<Row>> = [
  // sgwire: encode into a reused list (scratch reused, value referenced), send
  (o) => {
    const list = new SgList(64);
    const msg: Rec = { id: 0n, key, value: o.value };
    // options built once: an object spread per message costs more than the whole encode
    const opts = { ...o.policy, into: list };
    const segments = Record.encode(msg, opts).segments.length;
    return row(o, "sgwire", (i) => {
      msg.id = BigInt(i + 1);
      return o.port.send(Record.encode(msg, opts), o.dest);
    }, segments, o.t.note);
  },
  // the fast path: send({ codec, message }) encodes with the port's policy into the port's own
  // send memory (kernel ports: no port copy of the scratch; DPDK: its staging buffer, one copy)
  (o) => {
    const msg: Rec = { id: 0n, key, value: o.value };
    const send = { codec: Record, message: msg };
    const segments = Record.encode(msg, { ...o.policy, into: new SgList(64) }).segments.length;
    return row(o, "codec send", (i) => {
      msg.id = BigInt(i + 1);
      return o.port.send(send, o.dest);
    }, segments, "send({ codec, message }): encoded by the port with its policy into its send memory");
  },
  // the transport's share: the same list, encoded once, sent again and again
  (o) => {
    const list = new SgList(64);
    // an id as large as the timed rows reach (a 3-byte varint): the same scratch as theirs
    Record.encode({ id: 1_000_000n, key, value: o.value }, { ...o.policy, into: list });
    // the encoder ran once, before the loop: the ledger counts its scratch per send, this row does not
    return row(o, "send only", () => o.port.send(list, o.dest), list.segments.length, "one encoded list sent repeatedly: the port and driver without the encoder", false);
  },
  // baseline: protobufjs encodes the same message into one new buffer; the port sends that one segment
  (o) => {
    const one = new SgList(0);
    const obj = { id: 0, key, value: o.value };
    return row(o, "protobufjs", (i) => {
      obj.id = i + 1;
      const bytes = PbRecord.encode(obj).finish();
      one.segments.length = 0;
      one.segments.push(bytes);
      one.byteLength = bytes.length;
      one.bytesCopied = bytes.length; // protobufjs wrote every byte: the port's ledger counts it as the encoder's
      return o.port.send(one, o.dest);
    }, 1, "protobufjs encode().finish() into one buffer: every byte copied (by protobufjs, and by the port for DPDK)");
  },
];

for (const t of targets) {
  if (ONLY && !ONLY.split(",").some((o) => t.name.includes(o))) continue;
  let o: Open | null = null;
  for (const mode of modes) {
    o ??= await open(t);
    rows.push(await mode(o));
    if (t.portPerRow) {
      await o.close();
      o = null;
    }
  }
  await o?.close();
}

// ---- the C baseline: the same mbuf chains built by a C loop on net_null (native/dpdk-chain-loop.c),
// compiled here with libdpdk's flags; its own process and EAL
if (haveDpdk && (!ONLY || "net_null".includes(ONLY) || ONLY.split(",").some((o) => "dpdk net_null".includes(o)))) {
  const sg = rows.find((r) => r.target === "dpdk net_null" && r.mode === "sgwire");
  const scratch = Math.round(sg?.bytesCopiedPerMessage ?? 26);
  const exe = join(genDir, "dpdk-chain-loop");
  const flags = spawnSync("pkg-config", ["--cflags", "--libs", "libdpdk"], { encoding: "utf8" });
  const cc = flags.status === 0 ? spawnSync("cc", ["-O2", "-o", exe, join(here, "native", "dpdk-chain-loop.c"), ...flags.stdout.trim().split(/\s+/)], { encoding: "utf8" }) : flags;
  if (cc.status !== 0) throw new Error(`nic-bench: building the C baseline failed: ${cc.stderr}`);
  const eal = ["-l", "0", "--no-pci", "--no-telemetry", "--iova-mode=va", "--in-memory", "--log-level=warning", "--file-prefix=sgw-cloop", "--vdev=net_null0"];
  const run = spawnSync(exe, [String(SECONDS), String(scratch), String(VALUE), ...eal], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`nic-bench: the C baseline failed (exit ${run.status}): ${run.stderr}`);
  const r = JSON.parse(run.stdout.trim().split("\n").pop()!) as { messages: number; seconds: number; cpuSeconds: number; copiedPerMessage: number };
  rows.push({
    target: "dpdk net_null", mode: "C loop", messages: r.messages, seconds: r.seconds, messagesPerSecond: r.messages / r.seconds,
    cpuSeconds: r.cpuSeconds, messagesPerCpuSecond: r.messages / r.cpuSeconds,
    bytesCopiedPerMessage: r.copiedPerMessage, bytesReferencedPerMessage: VALUE,
    copiesPerMessage: { encoder: 0, port: r.copiedPerMessage, driver: 0 },
    segments: 2, note: "native/dpdk-chain-loop.c: the same chains (headers and scratch copied into one mbuf, the value attached) built and sent by a C loop, no encoder",
  });
}

// ---- report: table, JSON, SVG
const file: NicBenchFile = {
  command: ["node --import tsx bench/nic-bench.ts", ...process.argv.slice(2)].join(" "),
  revision: gitRevision(root),
  date: started.toISOString(),
  machine: {
    node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    dpdk: nicInfo().backends.find((b) => b.name === "dpdk")?.version ?? null,
  },
  valueBytes: VALUE,
  seconds: SECONDS,
  rows,
};
console.log(nicBenchReport(file));
const outDir = join(root, "bench", "results");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "nic-bench.json"), JSON.stringify(file, null, 1) + "\n");
writeFileSync(join(outDir, "nic-bench.svg"), svg(rows));
console.log(`wrote bench/results/nic-bench.json and bench/results/nic-bench.svg`);
if (!existsSync(join(outDir, "nic-bench.json"))) process.exit(1);
process.exit(0);

/** Horizontal bars, millions of messages per second, sgwire beside protobufjs per target. */
function svg(rs: Row[]): string {
  const max = Math.max(...rs.map((r) => r.messagesPerCpuSecond), 1);
  const W = 900, left = 230, barH = 16, gap = 6, groupGap = 14;
  let y = 58;
  const parts: string[] = [];
  for (const t of [...new Set(rs.map((r) => r.target))]) {
    parts.push(`<text x="10" y="${y + barH}" font-size="13">${t}</text>`);
    for (const r of rs.filter((x) => x.target === t)) {
      const w = Math.max(1, ((W - left - 170) * r.messagesPerCpuSecond) / max);
      const color = r.mode === "sgwire" ? "#2b7bb9" : r.mode === "send only" ? "#9bbbd9" : "#c0504d";
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`);
      parts.push(`<text x="${left + w + 6}" y="${y + barH - 3}" font-size="12">${(r.messagesPerCpuSecond / 1e6).toFixed(2)} M ${r.mode}</text>`);
      y += barH + gap;
    }
    y += groupGap;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" font-family="sans-serif">\n` +
    `<text x="10" y="22" font-size="15">@sgwire/nic: messages per CPU second from one JavaScript thread (Record with a ${VALUE} B value)</text>\n` +
    `<text x="10" y="42" font-size="12">dark blue: sgwire encode + send; light blue: send of an encoded list only; red: protobufjs encode().finish() + send</text>\n` +
    parts.join("\n") + "\n</svg>\n";
}
