/**
 * The native UDP engine when the kernel will not take more: a socket whose send buffer is full
 * (EAGAIN from sendmmsg). Run in a network namespace of its own with a slow qdisc on its loopback
 * (test/e2e/udp-full-socket.ts), so nothing outside the test is touched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { nicInfo } from "../src/index.js";
import { describeWith, needIn } from "./suite/requirements.js";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const NS = "sgw-q";
const native = nicInfo().backends.find((b) => b.name === "udp")!.engines!.find((e) => e.name === "native")!;
const uring = nicInfo().backends.find((b) => b.name === "udp")!.engines!.find((e) => e.name === "uring")!;
const missing = !native.available
  ? (native.reason ?? "the native engine is not built")
  : process.getuid?.() !== 0
    ? "root (a network namespace of its own with a qdisc on its loopback)"
    : undefined;

describeWith("veth", missing)("udp native engine: a full socket send buffer", function () {
  this.timeout(60000);
  before(function () {
    spawnSync("ip", ["netns", "del", NS]);
    const r = spawnSync("ip", ["netns", "add", NS], { encoding: "utf8" });
    assert.equal(r.status, 0, `ip netns add ${NS}: ${r.stderr}`);
  });
  after(function () {
    spawnSync("ip", ["netns", "del", NS]);
  });

  for (const engine of ["native", "uring"] as const) {
  it(`${engine}: EAGAIN keeps the messages queued until the socket is writable: send() says false, 'drain' comes, every message arrives in order`, function () {
    if (engine === "uring") needIn(this, "io_uring", uring.available ? undefined : (uring.reason ?? "io_uring"));
    const r = spawnSync("ip", ["netns", "exec", NS, process.execPath, "--import", "tsx", "test/e2e/udp-full-socket.ts", "3000", engine], { cwd: pkg, encoding: "utf8", timeout: 50000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, number | boolean>;
    assert.equal(out.received, 3000, JSON.stringify(out));
    assert.equal(out.inOrder, true);
    assert.equal(out.drops, 0);
    assert.equal(out.sent, 3000);
    assert.equal(out.queued, 0);
    // the kernel refused for a while: sends waited in the port (txRingFull), send() said so
    assert.ok((out.txRingFull as number) > 0, `the socket never filled: ${JSON.stringify(out)}`);
    assert.ok((out.refused as number) > 0 && out.drains === out.refused, JSON.stringify(out));
  });
  }
});
