/**
 * DPDK on real datapaths: af_packet and af_xdp drivers on veth pairs that scripts/setup-system.sh
 * creates (root only). Across two network namespaces each end is its own process, as two hosts
 * would be; inside this process, two DPDK ports talk over sgw2 <-> sgw3.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { nicInfo, openPort } from "../src/index.js";
import type { DpdkPort } from "../src/dpdk/dpdk-port.js";
import { backendSuite } from "./suite/backend-suite.js";
import { macOf, runPeer, vethsReady } from "./e2e/netns.js";
import { describeWith } from "./suite/requirements.js";

const dpdk = nicInfo().backends.find((b) => b.name === "dpdk")!;
/** what this machine lacks for these tests (scripts/setup-system.sh, as root, provides it) */
const [need, vethMissing] = !dpdk.available
  ? ["dpdk", dpdk.reason ?? "DPDK is not available"]
  : !vethsReady()
    ? ["veth", "the sgw-a/sgw-b namespaces and the sgw0..sgw3 veths (run scripts/setup-system.sh as root)"]
    : ["veth", undefined];

describeWith(need, vethMissing)("dpdk on veths", function () {
  for (const drv of ["af_packet", "af_xdp"] as const) {
    backendSuite(`dpdk net_${drv} (sgw2 <-> sgw3, two ports in one process)`, async () => {
      const a = (await openPort({ backend: "dpdk", vdev: `net_${drv}2,iface=sgw2`, bind: { address: "198.18.1.1" }, peers: { "198.18.1.2": macOf("", "sgw3") } })) as DpdkPort;
      let b: DpdkPort;
      try {
        b = (await openPort({ backend: "dpdk", vdev: `net_${drv}3,iface=sgw3`, bind: { address: "198.18.1.2" }, peers: { "198.18.1.1": macOf("", "sgw2") } })) as DpdkPort;
      } catch (err) {
        await a.close();
        throw err;
      }
      assert.equal(a.caps.driver, `net_${drv}`);
      return { a, b, toB: b.localAddress, close: async () => { await a.close(); await b.close(); } };
    });
  }

  describe("dpdk end to end across namespaces (sgw-a: sgw0 <-> sgw-b: sgw1)", function () {
    this.timeout(60000);
    let mac0: string;
    let mac1: string;
    before(function () {
      mac0 = macOf("sgw-a", "sgw0");
      mac1 = macOf("sgw-b", "sgw1");
    });

    for (const drv of ["af_packet", "af_xdp"] as const) {
      it(`DPDK (net_${drv}) to a plain kernel UDP socket decoding with protobufjs`, async function () {
        const count = 500;
        const rx = runPeer("sgw-b", "udp-recv", { bind: { address: "198.18.0.2", port: 7000 }, count });
        await rx.ready;
        const tx = runPeer("sgw-a", "dpdk-send", {
          vdev: `net_${drv}0,iface=sgw0`, address: "198.18.0.1", peers: { "198.18.0.2": mac1 }, to: { address: "198.18.0.2", port: 7000 }, count, size: 1000,
        });
        const [r, t] = await Promise.all([rx.result, tx.result]);
        assert.equal(r.received, count);
        assert.equal(r.corrupt, 0);
        assert.equal(t.sent, count);
        assert.equal(t.pending, 0);
        if (drv === "af_packet") assert.equal(t.referenced, count * 1000, "every payload went by reference (extbuf)");
        // net_af_xdp (DPDK 22.11) has no multi-segment TX: the port copies, and says so
        else assert.equal(t.referenced, 0);
        assert.equal(t.inUse, 0, "every registered buffer was given back");
      });
    }

    it("a plain kernel UDP socket to DPDK, which answers its ARP and echoes every message", async function () {
      const count = 300;
      // forget 198.18.0.1's MAC so the kernel has to ask (an earlier run left it cached)
      spawnSync("ip", ["-n", "sgw-b", "neigh", "flush", "dev", "sgw1"]);
      const rx = runPeer("sgw-a", "dpdk-recv", { vdev: "net_af_packet0,iface=sgw0", address: "198.18.0.1", port: 9000, count, echo: true });
      await rx.ready;
      const tx = runPeer("sgw-b", "udp-send", { to: { address: "198.18.0.1", port: 9000 }, count, size: 700, expectEchoes: true });
      const [r, t] = await Promise.all([rx.result, tx.result]);
      assert.equal(r.received, count);
      assert.equal(r.corrupt, 0);
      assert.ok((r.arpReplies as number) >= 1, "the kernel found the DPDK port's MAC by ARP");
      assert.equal(r.sent, count, "ARP replies are not counted as the application's messages");
      assert.equal(r.pending, 0);
      assert.equal(r.held, 0);
      assert.equal(t.echoes, count, "every echo reached the kernel socket");
      assert.equal(t.corrupt, 0);
    });

    it("DPDK to DPDK: sgw-a (EAL without hugepages) sends, sgw-b checks and echoes by reference", async function () {
      const count = 500;
      const rx = runPeer("sgw-b", "dpdk-recv", { vdev: "net_af_packet1,iface=sgw1", address: "198.18.0.3", port: 9000, count, echo: true, peers: { "198.18.0.1": mac0 } });
      await rx.ready;
      const tx = runPeer("sgw-a", "dpdk-send", {
        vdev: "net_af_packet0,iface=sgw0", address: "198.18.0.1", peers: { "198.18.0.3": mac1 }, to: { address: "198.18.0.3", port: 9000 }, count, size: 1200, expectEchoes: true,
        eal: { hugepages: false, memoryMB: 256 },
      });
      const [r, t] = await Promise.all([rx.result, tx.result]);
      assert.equal(r.received, count);
      assert.equal(r.corrupt, 0);
      assert.deepEqual(r.sources, ["198.18.0.1:9000"]);
      assert.match(t.eal as string, /--no-huge/);
      assert.equal(t.echoes, count);
      assert.equal(t.corruptEchoes, 0);
      assert.equal(t.inUse, 0);
    });
  });
});
