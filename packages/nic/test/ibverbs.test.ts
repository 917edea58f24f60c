/**
 * The ibverbs backend on this machine (its real tests run inside rdma-vm: test/vm/, run by
 * scripts/test-rdma-vm.sh). Here: it is built when the headers are installed, reports the RDMA
 * devices it sees, and fails with errors that say what is missing.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { nicInfo, openPort } from "../src/index.js";

const info = nicInfo().backends.find((b) => b.name === "ibverbs")!;

describe("ibverbs availability", function () {
  it("is reported by nicInfo, and openPort names the Debian packages when it was not built", async function () {
    assert.ok(info, "nicInfo lists ibverbs");
    const built = existsSync(new URL("../native/build/Release/sgwire_ibverbs.node", import.meta.url));
    if (!built) {
      assert.equal(info.available, false);
      assert.match(info.reason!, /libibverbs-dev librdmacm-dev/);
      await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" } }), /libibverbs-dev librdmacm-dev rdma-core ibverbs-providers/);
      return;
    }
    assert.ok(Array.isArray(info.devices));
    if (info.devices!.length === 0) {
      // this kernel has no RDMA: the port says where the address is not
      assert.equal(info.available, false);
      assert.match(info.reason!, /no RDMA device/);
      await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" } }), /rdma_create_event_channel|rdma_bind_addr|RDMA device/);
    }
  });

  it("checks options before touching the device", async function () {
    await assert.rejects(openPort({ backend: "ibverbs" } as never), /address is required/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "1.2.3" } }), /dotted IPv4/);
    await assert.rejects(openPort({ backend: "ibverbs", address: "198.18.0.1" } as never), /unknown option "address"/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1", port: 70000 } }), /bind\.port/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" }, transport: "uc" as never }), /transport must be "rc" or "ud"/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" }, recvBytes: 10 }), /recvBytes must be at least 64/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" }, maxInline: -1 }), /maxInline must be an integer 0\.\.4096/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" }, nope: 1 } as never), /unknown option "nope"/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" }, closeTimeoutMs: -1 }), /closeTimeoutMs/);
    await assert.rejects(openPort({ backend: "ibverbs", bind: { address: "198.18.0.1" }, debugLentBuffers: "yes" as never }), /debugLentBuffers must be a boolean/);
  });
});
