/**
 * The kv example on DPDK end to end: the server in network namespace sgw-a on a DPDK port
 * (net_af_packet on sgw0), the load generator in sgw-b over kernel UDP (sgw1, 198.18.0.2), as
 * examples/scripts/kv-dpdk.sh runs them. Needs root, libdpdk-dev and scripts/setup-system.sh;
 * CI has all three (elsewhere the tests are pending and say why).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nicInfo } from "@sgwire/nic";
import { startServer, type ServerProcess } from "../kv/compare.js";
import { describeWith } from "../../packages/nic/test/suite/requirements.js";

const pkg = join(fileURLToPath(import.meta.url), "..", "..");
const dpdk = nicInfo().backends.find((b) => b.name === "dpdk")!;
const nsReady = spawnSync("ip", ["-n", "sgw-a", "link", "show", "sgw0"]).status === 0 && spawnSync("ip", ["-n", "sgw-b", "link", "show", "sgw1"]).status === 0;
/** what this machine lacks for these tests (scripts/setup-system.sh, as root, provides it) */
const [need, missing] = !dpdk.available
  ? ["dpdk", dpdk.reason ?? "DPDK is not available"]
  : process.getuid?.() !== 0
    ? ["veth", "root"]
    : !nsReady
      ? ["veth", "the sgw-a/sgw-b namespaces (run scripts/setup-system.sh as root)"]
      : ["veth", undefined];

function mac(ns: string, dev: string): string {
  return spawnSync("ip", ["netns", "exec", ns, "cat", `/sys/class/net/${dev}/address`], { encoding: "utf8" }).stdout.trim();
}

/** Runs kv/client.ts in namespace sgw-b; resolves with its JSON summary. */
function client(args: string[]): Promise<Record<string, any>> {
  const dir = mkdtempSync(join(tmpdir(), "kv-dpdk-"));
  const out = join(dir, "summary.json");
  // a kernel UDP client sends without GSO: DPDK's af_packet reads raw frames off the veth, and the
  // kernel would hand it a GSO packet unsegmented (larger than the MTU)
  const gso = args.includes("dpdk") ? [] : ["--gso", "off"];
  const argv = ["netns", "exec", "sgw-b", process.execPath, "--import", "tsx", "kv/client.ts", "--bind", "198.18.0.2:0", "--max-packet", "1472", "--json", out, ...gso, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn("ip", argv, { cwd: pkg, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (c) => (log += c));
    child.stderr.on("data", (c) => (log += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`kv client exited with ${code}:\n${log}`);
        resolve(JSON.parse(readFileSync(out, "utf8")));
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

// (SGWIRE_REQUIRE=all, as scripts/test.sh sets it as root, turns a missing requirement into a failure)
describeWith(need, missing)("kv on DPDK across namespaces", function () {
  for (const [i, codec] of (["sgwire", "protobufjs"] as const).entries()) {
    describe(`kv on DPDK (net_af_packet in sgw-a) with ${codec}, load from sgw-b`, function () {
      this.timeout(120000);
      let server: ServerProcess;
      before(async function () {
        // the DPDK client of the last test is a static peer (the server learns MACs from ARP only)
        const args = ["--backend", "dpdk", "--vdev", "net_af_packet0,iface=sgw0", "--address", "198.18.0.1", "--port", String(7800 + i), "--peer", `198.18.0.3=${mac("sgw-b", "sgw1")}`];
        server = await startServer(codec, args, "sgw-a");
        assert.equal(server.driver, "net_af_packet");
      });
      after(async function () {
        await server?.stop();
      });

      const at = (): string => `${server.at.address}:${server.at.port}`;

      it("serves values split over many packets, each byte-identical to what was stored", async function () {
        const s = await client(["--server", at(), "--codec", codec, "--workload", "fixed:6000", "--keys", "100", "--concurrency", "8", "--duration", "1", "--warmup", "0.3"]);
        assert.equal(s.mismatches, 0);
        assert.ok(s.verified > 100, `only ${s.verified} values verified`);
        assert.ok(s.server.packetsPerResponse > 4, "a 6000-byte value takes several 1500-byte packets");
        if (codec === "sgwire") assert.ok(s.server.referencedPerResponse > 5000, "values went out as external buffers, not copies");
        else assert.equal(s.server.referencedPerResponse, 0);
      });

      it("serves a DPDK client too (sgw-b, net_af_packet on sgw1): responses received as mbuf views", async function () {
        const s = await client([
          "--server", at(), "--codec", codec, "--backend", "dpdk", "--vdev", "net_af_packet1,iface=sgw1", "--address", "198.18.0.3", "--port", "7810",
          "--peer", `198.18.0.1=${mac("sgw-a", "sgw0")}`, "--workload", "getm:1-8:3000", "--keys", "100", "--duration", "1", "--warmup", "0.3",
        ]);
        assert.equal(s.backend, "net_af_packet");
        assert.equal(s.mismatches, 0);
        assert.ok(s.verified > 100, `only ${s.verified} values verified`);
      });

      it("stays byte-identical under concurrent overwrites (twitter-like: 10% PUTs to hot keys) and GETM", async function () {
        for (const w of ["twitter", "getm:1-8:700"]) {
          const s = await client(["--server", at(), "--codec", codec, "--workload", w, "--keys", "200", "--concurrency", "16", "--duration", "1", "--warmup", "0.3"]);
          assert.equal(s.mismatches, 0, `${w}: ${s.mismatches} values were not byte-identical to a stored version`);
          assert.ok(s.verified > 100, `${w}: only ${s.verified} values verified`);
        }
      });
    });
  }
});
