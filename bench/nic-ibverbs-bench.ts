/**
 * The ibverbs backend's benchmark, run inside rdma-vm (Soft-RoCE under an emulated CPU, so only
 * ratios mean anything): end-to-end messages per second, sender and receiver in one process, for
 *
 *   - sgwire + ibverbs RC: `value` in registered memory, sent by reference (2 SGEs, no copy);
 *   - sgwire + kernel udp: the same message through the udp backend (sendmsg with an iovec);
 *   - protobufjs + ibverbs RC: encode().finish() into one buffer, which the port copies into its
 *     registered staging memory and sends as one SGE (what a protobufjs user does on RDMA).
 *
 * Each case sends windows of WINDOW messages and waits for them to arrive, so no datagram is
 * lost; the cases alternate over ROUNDS rounds. Per case, the sending port's copy ledger over the
 * measured rounds (stats.copies and stats.bytesReferenced deltas, per message). Prints a table
 * and ratios and writes bench/results/nic-ibverbs-bench.json and .svg (bars: messages per second
 * relative to sgwire + ibverbs). Run it with packages/nic/scripts/bench-rdma-vm.sh, which passes
 * the revision and its own command line in (SGW_BENCH_REVISION, SGW_BENCH_COMMAND: the VM may
 * not run git on the repository).
 *
 *   node --import tsx bench/nic-ibverbs-bench.ts [--value 16384] [--messages 3000] [--rounds 3]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cpus } from "node:os";
import protobuf from "protobufjs";
import { SgList, type MessageType, type RefBuffer } from "../packages/core/dist/index.js";
import { openPort, type Endpoint, type Port, type PortStats } from "../packages/nic/dist/index.js";
import { gitRevision } from "./src/machine.js";
import { ledgerPerMessage } from "./src/ledger.js";
import { nicIbverbsReport, type NicIbverbsFile, type NicIbverbsRow } from "./src/report/nic-ibverbs-report.js";

const here = dirname(fileURLToPath(import.meta.url));
const started = new Date();
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const VALUE = Number(arg("value", "16384"));
const MESSAGES = Number(arg("messages", "3000"));
const ROUNDS = Number(arg("rounds", "3"));
// small enough that a window of datagrams fits the receiving socket's buffer (rmem_default 208 KiB)
const WINDOW = Number(arg("window", "8"));
const ADDRESS = "198.18.0.1";

interface Rec {
  id: number;
  key: Uint8Array;
  value: Uint8Array;
  crc: number;
}
// generated on the host by bench-rdma-vm.sh (sgwire compile bench/nic-message.proto)
const genDir = join(here, "results", "tmp", "nic-ibverbs");
const { Record } = (await import(pathToFileURL(join(genDir, "nic-message.sg.ts")).href)) as { Record: MessageType<Rec> };
const PbRecord = protobuf.loadSync(join(here, "nic-message.proto")).lookupType("sgwire.bench.nic.Record");

interface Case {
  name: string;
  port: Port;
  rx: Port;
  dest: Endpoint;
  value: Uint8Array;
  send: (id: number, list: SgList) => boolean;
  /** segments of the last message sent */
  segments: number;
}

async function ibverbsPair(): Promise<{ a: Port & { connect(e: Endpoint): Promise<void> }; b: Port }> {
  const b = await openPort({ backend: "ibverbs", bind: { address: ADDRESS } });
  const a = (await openPort({ backend: "ibverbs", bind: { address: ADDRESS } })) as Port & { connect(e: Endpoint): Promise<void> };
  await a.connect(b.localAddress);
  return { a, b };
}

const key = new Uint8Array(16).fill(7);
const cases: Case[] = [];
const closers: Array<() => Promise<void>> = [];
const lent: RefBuffer[] = [];

{
  const { a, b } = await ibverbsPair();
  const rb = a.allocate(VALUE);
  rb.bytes.fill(1);
  lent.push(rb);
  cases.push({
    name: "sgwire + ibverbs RC (value referenced)", port: a, rx: b, dest: b.localAddress, value: rb.bytes, segments: 0,
    send: (id, list) => a.send(Record.encode({ id, key, value: rb.bytes, crc: 0 }, { ...a.policy, into: list }), b.localAddress),
  });
  closers.push(async () => { await a.close(); await b.close(); });
}
{
  const b = await openPort({ backend: "udp" });
  const a = await openPort({ backend: "udp" });
  const rb = a.allocate(VALUE);
  rb.bytes.fill(1);
  lent.push(rb);
  cases.push({
    name: "sgwire + kernel udp", port: a, rx: b, dest: b.localAddress, value: rb.bytes, segments: 0,
    send: (id, list) => a.send(Record.encode({ id, key, value: rb.bytes, crc: 0 }, { ...a.policy, into: list }), b.localAddress),
  });
  closers.push(async () => { await a.close(); await b.close(); });
}
{
  const { a, b } = await ibverbsPair();
  const value = new Uint8Array(VALUE).fill(1);
  cases.push({
    name: "protobufjs + ibverbs RC (one buffer, one SGE)", port: a, rx: b, dest: b.localAddress, value, segments: 0,
    send: (id, list) => {
      const buf = PbRecord.encode({ id, key, value }).finish();
      list.reset();
      list.segments.push(buf);
      list.byteLength = buf.length;
      list.bytesCopied = buf.length; // protobufjs wrote every byte: the port's ledger counts it as the encoder's
      return a.send(list, b.localAddress);
    },
  });
  closers.push(async () => { await a.close(); await b.close(); });
}

async function run(c: Case): Promise<number> {
  const list = new SgList(16);
  let got = 0;
  let wake: (() => void) | null = null;
  c.rx.onMessage((m) => {
    got++;
    m.release();
    if (wake !== null) wake();
  });
  const t0 = performance.now();
  let sent = 0;
  while (sent < MESSAGES) {
    const n = Math.min(WINDOW, MESSAGES - sent);
    for (let i = 0; i < n; i++) if (!c.send(++sent, list)) await c.port.drained();
    const deadline = Date.now() + 30000;
    while (got < sent) {
      // a lost datagram must fail the run, not hang it
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000);
      });
      if (Date.now() > deadline) throw new Error(`${c.name}: ${sent - got} of ${sent} messages never arrived (window ${WINDOW})`);
    }
    wake = null;
  }
  await c.port.completions();
  c.segments = list.segments.length;
  const s = (performance.now() - t0) / 1000;
  c.rx.onMessage(null);
  return MESSAGES / s;
}

/**
 * The sending port's ledger per message between two snapshots. Every message of a window arrived
 * and completions() resolved before a run returns, so each port counts them all as sent; a
 * difference would say the per-message figures are off, and is printed.
 */
function perMessage(c: Case, s0: PortStats, s1: PortStats): Omit<NicIbverbsRow, "relative"> {
  const n = s1.messagesSent - s0.messagesSent;
  if (n !== MESSAGES * ROUNDS) console.error(`nic-ibverbs-bench: ${c.name}: the port counted ${n} messages sent, the bench sent ${MESSAGES * ROUNDS}`);
  return {
    name: c.name,
    backend: c.port.caps.backend,
    driver: c.port.caps.driver,
    driverCopies: c.port.caps.driverCopies,
    messagesSent: n,
    segments: c.segments,
    ...ledgerPerMessage(s0, s1, true, n),
    txRingFull: s1.txRingFull - s0.txRingFull,
  };
}

// warm-up, then rounds in rotating order; the ledger counts from the end of the warm-up
for (const c of cases) await run(c);
const before = cases.map((c) => c.port.stats);
const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(k + r) % cases.length]!;
    rates.get(c.name)!.push(await run(c));
  }
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const measured = cases.map((c, i) => ({ msgsPerSec: median(rates.get(c.name)!), ...perMessage(c, before[i]!, c.port.stats) }));
const [iv, udp, pb] = measured.map((r) => r.msgsPerSec) as [number, number, number];
const ratios = {
  "ibverbs sgwire / udp sgwire": iv / udp,
  "ibverbs sgwire / ibverbs protobufjs": iv / pb,
};
const cpu = cpus();
const file: NicIbverbsFile = {
  command: process.env.SGW_BENCH_COMMAND ?? ["node --import tsx bench/nic-ibverbs-bench.ts", ...process.argv.slice(2)].join(" "),
  revision: process.env.SGW_BENCH_REVISION ?? gitRevision(join(here, "..")),
  date: started.toISOString(),
  where: `${process.env.SGW_RDMA_VM === "1" ? "rdma-vm (qemu)" : "this machine"}, ${cpu.length} x ${cpu[0]?.model ?? "unknown CPU"}`,
  node: process.version,
  value: VALUE,
  messages: MESSAGES,
  rounds: ROUNDS,
  window: WINDOW,
  ratios,
  // messages per second are left out: under an emulated CPU only the ratios mean anything
  rows: measured.map(({ msgsPerSec, ...r }) => ({ ...r, relative: msgsPerSec / iv })),
};
console.log(nicIbverbsReport(file));
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "nic-ibverbs-bench.json"), JSON.stringify(file, null, 1) + "\n");
writeFileSync(join(here, "results", "nic-ibverbs-bench.svg"), svg(measured.map((r) => ({ name: r.name, value: r.msgsPerSec / iv }))));
console.log("wrote bench/results/nic-ibverbs-bench.json and bench/results/nic-ibverbs-bench.svg");
for (const rb of lent) rb.release();
for (const c of closers) await c();

/** A horizontal bar chart of relative throughput (1.0 = sgwire + ibverbs RC). */
function svg(bars: Array<{ name: string; value: number }>): string {
  const W = 640, row = 28, left = 330, max = Math.max(...bars.map((b) => b.value), 1);
  const scale = (W - left - 60) / max;
  const h = 40 + bars.length * row;
  const esc = (t: string): string => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const items = bars.map((b, i) => {
    const y = 30 + i * row;
    return `<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(b.name)}</text>` +
      `<rect x="${left}" y="${y}" width="${(b.value * scale).toFixed(1)}" height="18" fill="${i === 0 ? "#2b6cb0" : "#a0aec0"}"/>` +
      `<text x="${left + b.value * scale + 6}" y="${y + 14}">${b.value.toFixed(2)}x</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" font-family="sans-serif" font-size="12">` +
    `<text x="10" y="18" font-weight="bold">messages/s relative to sgwire + ibverbs RC (value ${VALUE} B, Soft-RoCE under emulation)</text>` +
    items.join("") + "</svg>\n";
}
