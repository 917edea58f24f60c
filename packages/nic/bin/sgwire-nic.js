#!/usr/bin/env node
// sgwire-nic info: which transports this machine has and their caps (`sgwire nic info`).
import { nicInfo } from "../dist/index.js";

const [cmd, ...rest] = process.argv.slice(2);
if (cmd !== "info") {
  process.stderr.write("usage: sgwire-nic info [--json]\n");
  process.exit(cmd === undefined || cmd === "--help" ? 0 : 2);
}
const info = nicInfo();
if (rest.includes("--json")) {
  process.stdout.write(JSON.stringify(info, null, 2) + "\n");
} else {
  for (const b of info.backends) {
    process.stdout.write(`${b.name.padEnd(5)} ${b.available ? "available" : "NOT available"}${b.version ? ` (DPDK ${b.version})` : ""}\n`);
    if (b.reason) process.stdout.write(`      ${b.reason}\n`);
    if (b.caps) for (const [k, v] of Object.entries(b.caps)) process.stdout.write(`      ${k}: ${v}\n`);
    if (b.devices) process.stdout.write(`      devices: ${b.devices.join(" ")}\n`);
  }
}
