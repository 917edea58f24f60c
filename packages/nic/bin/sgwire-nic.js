#!/usr/bin/env node
// sgwire-nic: what `sgwire nic ...` and `sgwire calibrate` run. `sgwire-nic --help` lists the
// commands and their flags; every command takes --help and then runs nothing.
import { parseArgs } from "node:util";

const USAGE = `usage: sgwire-nic info [--json] [--probe VDEV]
       sgwire-nic calibrate [--backend udp|tcp|dpdk] [--engine native|uring|dgram|net] [--vdev VDEV] [--json] [--store]

  info        which transports this machine has, and their caps
    --json          print JSON
    --probe VDEV    open that DPDK device (e.g. net_null0) and report the caps a port on it gets
  calibrate   encode + send of one bytes field, copied versus referenced, at sizes from 64 B;
              recommends the copyThreshold from which referencing wins (sends real traffic for a
              few seconds: to a local sink port for udp/tcp, to 198.18.0.2 through VDEV for dpdk)
    --backend B     udp (default), tcp or dpdk
    --engine E      udp: native, uring or dgram; tcp: native or net (default: the port's default, see info)
    --vdev VDEV     the DPDK device for --backend dpdk (default net_null0: the software path only)
    --json          print JSON
    --store         store the recommendation: ports opened later on this backend and driver
                    without a copyThreshold use it
  -h, --help  this text (also after a command: it then runs nothing)

(also as \`sgwire nic info ...\` and \`sgwire calibrate ...\` with @sgwire/codegen)`;

const COMMANDS = {
  info: { json: { type: "boolean" }, probe: { type: "string" }, help: { type: "boolean", short: "h" } },
  calibrate: {
    backend: { type: "string" },
    engine: { type: "string" },
    vdev: { type: "string" },
    json: { type: "boolean" },
    store: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
};

class UsageError extends Error {}

function usage(message) {
  process.stderr.write(`sgwire-nic: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
  (cmd === undefined ? process.stderr : process.stdout).write(USAGE + "\n");
  process.exit(cmd === undefined ? 2 : 0);
}
if (!Object.hasOwn(COMMANDS, cmd)) usage(`unknown command ${JSON.stringify(cmd)}`);

let values;
try {
  ({ values } = parseArgs({ args: rest, options: COMMANDS[cmd], strict: true, allowPositionals: false }));
} catch (e) {
  // node's messages name the flag: "Unknown option '--frob'", "Option '--vdev <value>' argument missing"
  usage(`${cmd}: ${e instanceof Error ? e.message : String(e)}`);
}
if (values.help) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}

// loaded only once the arguments are good: --help and usage errors never load the addons
const nic = await import("../dist/index.js");

try {
  if (cmd === "info") await info(values);
  else await calibrateCommand(values);
  process.exit(0);
} catch (e) {
  if (e instanceof UsageError) usage(e.message);
  // an error of the machine or the port (no DPDK, a device that does not open): its message, no stack
  process.stderr.write(`sgwire-nic ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

async function info(values) {
  const report = nic.nicInfo();
  const dpdk = report.backends.find((b) => b.name === "dpdk");
  if (values.probe !== undefined) {
    if (!dpdk?.available) throw new Error(`--probe ${values.probe}: DPDK is not available here (${dpdk?.reason ?? "no DPDK backend"})`);
    const p = await nic.openPort({ backend: "dpdk", vdev: values.probe });
    dpdk.caps = { ...p.caps };
    dpdk.device = p.device;
    await p.close();
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return;
  }
  for (const b of report.backends) {
    process.stdout.write(`${b.name.padEnd(5)} ${b.available ? "available" : "NOT available"}${b.version ? ` (${b.version})` : ""}\n`);
    if (b.reason) process.stdout.write(`      ${b.reason}\n`);
    if (b.caps) for (const [k, v] of Object.entries(b.caps)) process.stdout.write(`      ${k}: ${v}\n`);
    if (b.device) process.stdout.write(`      device: ${JSON.stringify(b.device)}\n`);
    if (b.devices) process.stdout.write(`      devices: ${b.devices.join(" ")}\n`);
    for (const e of b.engines ?? []) {
      process.stdout.write(`      engine ${e.name}: ${e.available ? "available" : "NOT available"}${e.default ? " (default)" : ""}: ${e.how}\n`);
      if (e.reason) process.stdout.write(`        ${e.reason}\n`);
    }
  }
}

async function calibrateCommand(values) {
  const backend = values.backend ?? "udp";
  if (!["udp", "tcp", "dpdk"].includes(backend)) throw new UsageError(`calibrate: --backend must be udp, tcp or dpdk, got ${JSON.stringify(backend)}`);
  if (values.vdev !== undefined && backend !== "dpdk") throw new UsageError("calibrate: --vdev goes with --backend dpdk");
  if (values.engine !== undefined && backend === "dpdk") throw new UsageError("calibrate: --engine goes with --backend udp or tcp");
  const engines = backend === "udp" ? ["native", "uring", "dgram"] : ["native", "net"];
  if (values.engine !== undefined && !engines.includes(values.engine)) {
    throw new UsageError(`calibrate: --engine for ${backend} must be ${engines.join(" or ")}, got ${JSON.stringify(values.engine)}`);
  }
  const options = backend === "dpdk"
    ? { backend, vdev: values.vdev ?? "net_null0", peers: { "198.18.0.2": "02:53:47:00:00:02" } }
    : values.engine !== undefined ? { backend, engine: values.engine } : { backend };
  const c = await nic.calibrate(options);
  if (values.json) process.stdout.write(JSON.stringify(c, null, 2) + "\n");
  else {
    process.stdout.write(`${c.backend} (${c.driver}): encode + send of one bytes field, messages/s\n`);
    const zc = c.recommendedZeroCopyThreshold !== undefined;
    process.stdout.write(`${"bytes".padStart(7)} ${"copied".padStart(10)} ${"referenced".padStart(11)}${zc ? " " + "zero-copy".padStart(10) : ""}\n`);
    for (const r of c.rows) {
      process.stdout.write(
        `${String(r.bytes).padStart(7)} ${Math.round(r.copyPerSecond).toString().padStart(10)} ${Math.round(r.referencePerSecond).toString().padStart(11)}` +
          `${zc ? " " + Math.round(r.zeroCopyPerSecond).toString().padStart(10) : ""}\n`,
      );
    }
    process.stdout.write(`recommended copyThreshold: ${c.recommendedCopyThreshold === Infinity ? "copy everything (referencing never won)" : `${c.recommendedCopyThreshold} bytes`}\n`);
    if (c.batches !== undefined) {
      process.stdout.write(`64-byte sends, messages/s by maxBatch: ${c.batches.map((b) => `${b.batch}: ${Math.round(b.perSecond)}`).join(", ")}\n`);
      process.stdout.write(`recommended maxBatch: ${c.recommendedMaxBatch} (the smallest within 5% of the best)\n`);
    }
    if (c.recommendedZeroCopyThreshold !== undefined) {
      process.stdout.write(`recommended zeroCopyThreshold: ${c.recommendedZeroCopyThreshold === Infinity ? "never (MSG_ZEROCOPY never beat a plain send here)" : `${c.recommendedZeroCopyThreshold} bytes`}\n`);
    }
  }
  if (values.store) {
    const file = nic.storePolicy({
      backend: c.backend, driver: c.driver,
      copyThreshold: c.recommendedCopyThreshold === Infinity ? null : c.recommendedCopyThreshold,
      ...(c.recommendedZeroCopyThreshold !== undefined
        ? { zeroCopyThreshold: c.recommendedZeroCopyThreshold === Infinity ? null : c.recommendedZeroCopyThreshold }
        : {}),
      ...(c.recommendedMaxBatch !== undefined ? { maxBatch: c.recommendedMaxBatch } : {}),
      measuredAt: new Date().toISOString(), source: "sgwire calibrate (one bytes field, size sweep)",
    });
    process.stderr.write(`stored in ${file}: ports on ${c.backend}/${c.driver} opened without copyThreshold use it\n`);
  }
}
