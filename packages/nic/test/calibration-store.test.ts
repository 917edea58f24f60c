import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPort, storePolicy, loadStoredPolicy, calibrationFile } from "@sgwire/nic";
import { Blob } from "./fixtures/blob.js";

describe("stored calibration", () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-cal-"));
    saved = process.env.SGWIRE_CALIBRATION;
    process.env.SGWIRE_CALIBRATION = join(dir, "calibration.json");
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.SGWIRE_CALIBRATION;
    else process.env.SGWIRE_CALIBRATION = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const policy = (backend: string, driver: string, copyThreshold: number | null) => ({
    backend, driver, copyThreshold, measuredAt: "2026-11-25T00:00:00Z", source: "test",
  });

  it("a port opened without copyThreshold uses the stored one for its backend and driver", async () => {
    assert.equal(calibrationFile(), join(dir, "calibration.json"));
    const before = await openPort({ backend: "udp", engine: "dgram" });
    const fallback = before.caps.copyThreshold;
    await before.close();
    storePolicy(policy("udp", "kernel-udp", 4096));
    storePolicy(policy("tcp", "kernel-tcp", 2048));
    const udp = await openPort({ backend: "udp", engine: "dgram" });
    const tcp = await openPort({ backend: "tcp", engine: "net" });
    try {
      assert.notEqual(fallback, 4096);
      assert.equal(udp.caps.copyThreshold, 4096);
      assert.equal(udp.policy.copyThreshold, 4096);
      assert.equal(tcp.caps.copyThreshold, 2048);
    } finally {
      await udp.close();
      await tcp.close();
    }
    // a stored segment budget becomes the encode policy's, never above the port's limit
    storePolicy({ ...policy("udp", "kernel-udp", 4096), maxSegments: 9 });
    const budget = await openPort({ backend: "udp", engine: "dgram" });
    assert.equal(budget.policy.maxSegments, 9);
    assert.ok(budget.caps.maxSegments > 9, "the hard limit is unchanged");
    await budget.close();
    storePolicy({ ...policy("udp", "kernel-udp", 4096), maxSegments: 1e9 });
    const capped = await openPort({ backend: "udp", engine: "dgram" });
    assert.equal(capped.policy.maxSegments, capped.caps.maxSegments);
    await capped.close();
    // each udp engine reads its own driver's entry
    storePolicy(policy("udp", "kernel-udp-native", 1536));
    const native = await openPort({ backend: "udp", engine: "native" });
    const dgram = await openPort({ backend: "udp", engine: "dgram" });
    assert.equal(native.caps.copyThreshold, 1536);
    assert.equal(native.caps.driverCopies, "all", "no stored zeroCopyThreshold: MSG_ZEROCOPY never");
    assert.equal(dgram.caps.copyThreshold, 4096);
    await native.close();
    await dgram.close();
    // a stored zeroCopyThreshold turns MSG_ZEROCOPY on for the native engine; null keeps it off
    storePolicy({ ...policy("udp", "kernel-udp-native", 1536), zeroCopyThreshold: 16384 });
    const zc = await openPort({ backend: "udp", engine: "native" });
    assert.equal(zc.caps.driverCopies, "some");
    await zc.close();
    storePolicy({ ...policy("udp", "kernel-udp-native", 1536), zeroCopyThreshold: null });
    const off = await openPort({ backend: "udp", engine: "native" });
    assert.equal(off.caps.driverCopies, "all");
    await off.close();
    storePolicy({ ...policy("udp", "kernel-udp-native", 1536), zeroCopyThreshold: 0 as never });
    await assert.rejects(openPort({ backend: "udp", engine: "native" }), /zeroCopyThreshold for udp\/kernel-udp-native must be a number >= 1 or null/);
    // a stored maxBatch is the native engines' default batch (a send then goes at once with 1)
    storePolicy({ ...policy("udp", "kernel-udp-native", 1536), maxBatch: 1 });
    storePolicy({ ...policy("tcp", "kernel-tcp-native", 1536), maxBatch: 1 });
    for (const backend of ["udp", "tcp"] as const) {
      const a = await openPort({ backend, engine: "native" } as never);
      const b = await openPort({ backend, engine: "native" } as never);
      b.onMessage((m) => m.release());
      // tcp: the connection is made first (a send waits for it whatever the batch)
      a.send(Blob.encode(Blob.create({ id: 1 })), b.localAddress);
      await a.completions();
      a.send(Blob.encode(Blob.create({ id: 2 })), b.localAddress);
      assert.equal(a.stats.queued, 0, `${backend}: handed to the kernel before send() returned`);
      await a.close();
      await b.close();
    }
    storePolicy({ ...policy("udp", "kernel-udp-native", 1536), maxBatch: 0 as never });
    await assert.rejects(openPort({ backend: "udp", engine: "native" }), /maxBatch for udp\/kernel-udp-native must be an integer >= 1/);
    storePolicy(policy("udp", "kernel-udp-native", 1536));
    storePolicy(policy("tcp", "kernel-tcp-native", 1536));
    // an explicit option still wins
    const explicit = await openPort({ backend: "udp", engine: "dgram", copyThreshold: 100 });
    assert.equal(explicit.caps.copyThreshold, 100);
    await explicit.close();
  });

  it("replaces a backend's entry and keeps the others; null means copy everything", async () => {
    storePolicy(policy("udp", "kernel-udp", 4096));
    storePolicy(policy("tcp", "kernel-tcp", 2048));
    storePolicy(policy("udp", "kernel-udp", null));
    const all = JSON.parse(readFileSync(calibrationFile(), "utf8")).policies;
    assert.equal(all.length, 2);
    assert.equal(loadStoredPolicy("udp", "kernel-udp")?.copyThreshold, null);
    const port = await openPort({ backend: "udp", engine: "dgram" });
    assert.equal(port.caps.copyThreshold, Infinity);
    await port.close();
  });

  it("a corrupt file is an error naming it, not a silent default", async () => {
    writeFileSync(calibrationFile(), "{ not json");
    await assert.rejects(openPort({ backend: "udp", engine: "dgram" }), /calibration file .*calibration\.json is not valid JSON/);
    writeFileSync(calibrationFile(), JSON.stringify({ policies: [policy("udp", "kernel-udp", -5 as never)] }));
    await assert.rejects(openPort({ backend: "udp", engine: "dgram" }), /copyThreshold for udp\/kernel-udp must be a number >= 0 or null/);
  });
});
