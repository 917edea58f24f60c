#!/usr/bin/env node
// sgwire-nic: what `sgwire nic ...` and `sgwire calibrate` run.
//   sgwire-nic info [--json] [--probe VDEV]  which transports this machine has and their caps
//                                            (--probe: open that DPDK device, e.g. net_null0, and
//                                            report the caps a port on it gets)
//   sgwire-nic calibrate [--backend udp|tcp|dpdk] [--vdev net_null0] [--json] [--store]
//                                            copy vs reference per size; recommends copyThreshold
//                                            (--store: ports opened later use it; see calibration-store.ts)
import { nicInfo, calibrate, openPort, storePolicy } from "../dist/index.js";

const argv = process.argv.slice(2);
const cmd = argv[0];
const flag = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const json = argv.includes("--json");

if (cmd === "info") {
  const info = nicInfo();
  const probe = flag("probe");
  const dpdk = info.backends.find((b) => b.name === "dpdk");
  if (probe !== undefined && dpdk?.available) {
    const p = await openPort({ backend: "dpdk", vdev: probe });
    dpdk.caps = { ...p.caps };
    dpdk.device = p.device;
    await p.close();
  }
  if (json) process.stdout.write(JSON.stringify(info, null, 2) + "\n");
  else {
    for (const b of info.backends) {
      process.stdout.write(`${b.name.padEnd(5)} ${b.available ? "available" : "NOT available"}${b.version ? ` (${b.version})` : ""}\n`);
      if (b.reason) process.stdout.write(`      ${b.reason}\n`);
      if (b.caps) for (const [k, v] of Object.entries(b.caps)) process.stdout.write(`      ${k}: ${v}\n`);
      if (b.device) process.stdout.write(`      device: ${JSON.stringify(b.device)}\n`);
      if (b.devices) process.stdout.write(`      devices: ${b.devices.join(" ")}\n`);
    }
  }
  process.exit(0);
} else if (cmd === "calibrate") {
  const backend = flag("backend") ?? "udp";
  const options = backend === "dpdk" ? { backend, vdev: flag("vdev") ?? "net_null0", peers: { "198.18.0.2": "02:53:47:00:00:02" } } : { backend };
  const c = await calibrate(options);
  if (json) process.stdout.write(JSON.stringify(c, null, 2) + "\n");
  else {
    process.stdout.write(`${c.backend} (${c.driver}): encode + send of one bytes field, messages/s\n`);
    process.stdout.write(`${"bytes".padStart(7)} ${"copied".padStart(10)} ${"referenced".padStart(11)}\n`);
    for (const r of c.rows) {
      process.stdout.write(`${String(r.bytes).padStart(7)} ${Math.round(r.copyPerSecond).toString().padStart(10)} ${Math.round(r.referencePerSecond).toString().padStart(11)}\n`);
    }
    process.stdout.write(`recommended copyThreshold: ${c.recommendedCopyThreshold === Infinity ? "copy everything (referencing never won)" : `${c.recommendedCopyThreshold} bytes`}\n`);
  }
  if (process.argv.includes("--store")) {
    const file = storePolicy({
      backend: c.backend, driver: c.driver,
      copyThreshold: c.recommendedCopyThreshold === Infinity ? null : c.recommendedCopyThreshold,
      measuredAt: new Date().toISOString(), source: "sgwire calibrate (one bytes field, size sweep)",
    });
    process.stderr.write(`stored in ${file}: ports on ${c.backend}/${c.driver} opened without copyThreshold use it\n`);
  }
  process.exit(0);
} else {
  process.stderr.write("usage: sgwire-nic info [--json] | sgwire-nic calibrate [--backend udp|tcp|dpdk] [--vdev net_null0] [--json] [--store]\n");
  process.exit(cmd === undefined || cmd === "--help" ? 0 : 2);
}
