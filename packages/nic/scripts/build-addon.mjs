// Builds the native addon with the pinned node-gyp. Uses the headers that ship with this Node
// (<prefix>/include/node) when they are there, so no download is needed; says clearly whether
// DPDK support was compiled in.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const gyp = join(dirname(require.resolve("node-gyp/package.json")), "bin", "node-gyp.js");
const prefix = dirname(dirname(process.execPath));
const here = dirname(new URL(import.meta.url).pathname);
// configure + build rather than rebuild: incremental, and the old addon stays in place until the
// new one is linked (tests running beside a build keep working)
const common = [`--directory=${join(here, "..", "native")}`];
if (existsSync(join(prefix, "include", "node", "node_api.h"))) common.push(`--nodedir=${prefix}`);
const dpdk = spawnSync("pkg-config", ["--modversion", "libdpdk"], { encoding: "utf8" });
if (dpdk.status === 0) console.log(`@sgwire/nic: building with DPDK ${dpdk.stdout.trim()}`);
else console.log("@sgwire/nic: pkg-config finds no libdpdk: building without the dpdk backend (apt-get install libdpdk-dev pkg-config to add it)");
const verbs = spawnSync("pkg-config", ["--modversion", "libibverbs", "librdmacm"], { encoding: "utf8" });
if (verbs.status === 0) console.log(`@sgwire/nic: building the ibverbs addon (libibverbs/librdmacm ${verbs.stdout.trim().split("\n").join("/")})`);
else console.log("@sgwire/nic: pkg-config finds no libibverbs/librdmacm: building without the ibverbs backend (apt-get install libibverbs-dev librdmacm-dev rdma-core ibverbs-providers pkg-config to add it)");
// native/protocol.h (and src/native/protocol.ts) from their one definition
const proto = spawnSync(process.execPath, [join(here, "native-protocol.mjs")], { stdio: "inherit" });
if (proto.status !== 0) process.exit(proto.status ?? 1);
for (const step of [["configure"], ["build", "-j", "2"]]) {
  const r = spawnSync(process.execPath, [gyp, ...step, ...common], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
