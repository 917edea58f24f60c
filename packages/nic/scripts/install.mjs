// @sgwire/nic's install script: builds the native addon (DPDK, ibverbs) from source where the
// package lands, with node-gyp from this package's dependencies. It never fails the install: without
// the DPDK/ibverbs headers, or when the build fails, it says so in one line and the udp and tcp
// backends (kernel sockets, no addon) keep working. `npm rebuild @sgwire/nic` runs it again.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// In the sgwire repository (a checkout, not under node_modules) the workspace build
// (`pnpm -r run build`, the root postinstall) builds the addon; nothing to do here.
if (!pkgDir.split(sep).includes("node_modules")) process.exit(0);
if (process.env.SGWIRE_NIC_SKIP_ADDON) {
  console.log("@sgwire/nic: SGWIRE_NIC_SKIP_ADDON is set: native addon not built; the udp and tcp backends work without it");
  process.exit(0);
}

const rebuild = pkgDir.split(sep).includes(".pnpm") ? "pnpm rebuild @sgwire/nic" : "npm rebuild @sgwire/nic";
const has = (...libs) => spawnSync("pkg-config", ["--exists", ...libs]).status === 0;
const dpdk = has("libdpdk");
const verbs = has("libibverbs", "librdmacm");
if (!dpdk && !verbs) {
  console.log(
    "@sgwire/nic: pkg-config finds neither libdpdk nor libibverbs/librdmacm: native addon not built (the udp and tcp " +
      `backends work without it); for DPDK: apt-get install libdpdk-dev pkg-config python3 make g++, then ${rebuild}`,
  );
  process.exit(0);
}
const r = spawnSync(process.execPath, [join(pkgDir, "scripts", "build-addon.mjs")], { stdio: "inherit" });
if (r.status !== 0) {
  console.log(
    `@sgwire/nic: building the native addon failed (node-gyp's output is above; it needs python3, make and g++); ` +
      `the udp and tcp backends work without it; after fixing that, run: ${rebuild}`,
  );
}
process.exit(0);
