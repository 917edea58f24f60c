import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { nicInfo } from "../src/index.js";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "sgwire-nic.js");
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });

describe("sgwire-nic (what `sgwire nic` runs)", function () {
  it("info lists the backends and their caps", function () {
    const r = run("info", "--json");
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { backends: Array<{ name: string; available: boolean; caps?: Record<string, unknown> }> };
    const udp = info.backends.find((b) => b.name === "udp")!;
    assert.equal(udp.available, true);
    assert.equal(udp.caps!.maxMessageBytes, 65507);
    assert.ok(info.backends.some((b) => b.name === "dpdk"));
    assert.match(run("info").stdout, /^udp\s+available/m);
  });

  it("info --probe opens a DPDK device and reports the caps a port on it gets", function () {
    if (!nicInfo().backends.find((b) => b.name === "dpdk")!.available) this.skip();
    const r = run("info", "--json", "--probe", "net_null0");
    assert.equal(r.status, 0, r.stderr);
    const dpdk = (JSON.parse(r.stdout) as { backends: Array<{ name: string; caps: Record<string, unknown> }> }).backends.find((b) => b.name === "dpdk")!;
    assert.equal(dpdk.caps.driver, "net_null");
    assert.equal(dpdk.caps.maxMessageBytes, 1472);
    assert.equal(dpdk.caps.maxSegments, 64);
  });

  it("rejects an unknown command with usage", function () {
    const r = run("frobnicate");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: sgwire-nic info/);
  });
});
