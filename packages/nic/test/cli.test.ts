import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { nicInfo } from "../src/index.js";
import { needIn } from "./suite/requirements.js";

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
    const here = nicInfo().backends.find((b) => b.name === "dpdk")!;
    needIn(this, "dpdk", here.available ? undefined : (here.reason ?? "DPDK is not available"));
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

  it("--help on every command prints the flags and runs nothing", function () {
    for (const args of [["--help"], ["info", "--help"], ["calibrate", "--help"], ["calibrate", "-h", "--backend", "tcp"]]) {
      const r = run(...args);
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /sgwire-nic calibrate \[--backend udp\|tcp\|dpdk\] \[--engine native\|uring\|dgram\|net\] \[--vdev VDEV\] \[--json\] \[--store\]/);
      assert.match(r.stdout, /--probe VDEV/);
      // calibrate would print its table and a recommendation
      assert.doesNotMatch(r.stdout, /recommended copyThreshold/);
    }
  });

  it("unknown flags and bad values are usage errors (exit 2) naming them, never stack traces", function () {
    const cases: [string[], RegExp][] = [
      [["calibrate", "--frob"], /calibrate: Unknown option '--frob'/],
      [["calibrate", "--backend", "udpp"], /calibrate: --backend must be udp, tcp or dpdk, got "udpp"/],
      [["calibrate", "--vdev"], /calibrate: Option '--vdev <value>' argument missing/],
      [["calibrate", "--backend", "tcp", "--vdev", "net_null0"], /--vdev goes with --backend dpdk/],
      [["calibrate", "--backend", "dpdk", "--engine", "native"], /--engine goes with --backend udp or tcp/],
      [["calibrate", "--engine", "fast"], /--engine for udp must be native or uring or dgram, got "fast"/],
      [["calibrate", "--backend", "tcp", "--engine", "dgram"], /--engine for tcp must be native or net, got "dgram"/],
      [["info", "--probe"], /info: Option '--probe <value>' argument missing/],
      [["info", "extra"], /info: Unexpected argument .extra./],
    ];
    for (const [args, re] of cases) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /usage: sgwire-nic info/);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    }
  });

  it("a probe the machine cannot do is an error naming it (exit 1), not a stack trace", function () {
    if (nicInfo().backends.find((b) => b.name === "dpdk")!.available) {
      const r = run("info", "--probe", "net_nosuchdriver0");
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /^sgwire-nic info: .*net_nosuchdriver0/m);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    } else {
      const r = run("info", "--probe", "net_null0");
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /--probe net_null0: DPDK is not available here/);
    }
  });
});
