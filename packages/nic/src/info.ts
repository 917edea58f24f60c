import { readdirSync, existsSync } from "node:fs";
import type { PortCaps } from "./port.js";
import { loadAddon } from "./dpdk/native.js";
import { addonBuildHint } from "./native/build-hint.js";
import { loadIbverbs } from "./ibverbs/native.js";
import { UDP_MAX_PAYLOAD } from "./kernel/udp-port.js";
import { loadKernelAddon } from "./kernel/native-addon.js";

export interface BackendInfo {
  name: "udp" | "tcp" | "dpdk" | "ibverbs";
  available: boolean;
  /** Why it is not available, and what to install. */
  reason?: string;
  /** Caps a port of this backend reports (for dpdk they depend on the device: see `devices`). */
  caps?: Partial<PortCaps>;
  /** dpdk: the DPDK version the addon was built against. */
  version?: string;
  /** dpdk: network PMDs installed on this machine (what --vdev / openPort can use). ibverbs: RDMA devices libibverbs sees. */
  devices?: string[];
  /** udp, tcp: the engines a port can use (the `engine` option), which one is the default, and why one is missing. */
  engines?: EngineInfo[];
}

export interface EngineInfo {
  name: "dgram" | "net" | "native" | "uring";
  available: boolean;
  default: boolean;
  /** What it does per message. */
  how: string;
  reason?: string;
}

export interface NicInfo {
  backends: BackendInfo[];
}

/** Which backends this machine has and their caps (what `sgwire-nic info` prints). */
export function nicInfo(): NicInfo {
  const k = loadKernelAddon();
  const native = !(k instanceof Error);
  const missing = k instanceof Error ? { reason: `${k.message} (the dgram/net engines are used meanwhile)` } : {};
  const udp: BackendInfo = {
    name: "udp",
    available: true,
    caps: { backend: "udp", driver: native ? "kernel-udp-native" : "kernel-udp", maxSegments: 1023, maxMessageBytes: UDP_MAX_PAYLOAD, copyThreshold: 512, referencesAnyMemory: true, driverCopies: "all" },
    engines: [
      {
        name: "native",
        available: native,
        default: native,
        how: "the native addon's socket (driver kernel-udp-native): sendmmsg and recvmmsg bursts of up to 64 datagrams, UDP GSO and GRO, received messages as views of receive slots, MSG_ZEROCOPY above zeroCopyThreshold",
        ...missing,
      },
      {
        name: "uring",
        available: native && k.kernelUdpLimits.uringMissing === "",
        default: false,
        how: "the native addon's socket driven through an io_uring (driver kernel-udp-uring): a turn's datagrams as linked SENDMSG (SENDMSG_ZC above zeroCopyThreshold) submissions, one multishot RECVMSG into buffers provided to the kernel, completions and zero-copy notifications through the ring's eventfd",
        ...(k instanceof Error ? missing : k.kernelUdpLimits.uringMissing !== "" ? { reason: k.kernelUdpLimits.uringMissing } : {}),
      },
      { name: "dgram", available: true, default: !native, how: "Node's dgram socket (driver kernel-udp): one sendmsg per message" },
    ],
  };
  const tcp: BackendInfo = {
    name: "tcp",
    available: true,
    caps: { backend: "tcp", driver: native ? "kernel-tcp-native" : "kernel-tcp", maxSegments: 1023, maxMessageBytes: 64 * 1024 * 1024, copyThreshold: 512, referencesAnyMemory: true, driverCopies: "all" },
    engines: [
      {
        name: "native",
        available: native,
        default: native,
        how: "the native addon's sockets (driver kernel-tcp-native): the messages of one turn in sendmsg calls of up to 1024 segments, reads into pooled buffers that received messages are views of",
        ...missing,
      },
      { name: "net", available: true, default: !native, how: "Node's net sockets (driver kernel-tcp): one writev per message, frames split across reads assembled" },
    ],
  };
  const a = loadAddon();
  let dpdk: BackendInfo;
  if (a instanceof Error) dpdk = { name: "dpdk", available: false, reason: a.message };
  else if (!a.hasDpdk) {
    dpdk = { name: "dpdk", available: false, reason: `addon built without DPDK: apt-get install -y libdpdk-dev pkg-config, then run: ${addonBuildHint()}` };
  } else {
    dpdk = { name: "dpdk", available: true, version: a.dpdkVersion, devices: netPmds(), caps: { backend: "dpdk", referencesAnyMemory: false } };
  }
  const iv = loadIbverbs();
  let ibverbs: BackendInfo;
  if (iv instanceof Error) ibverbs = { name: "ibverbs", available: false, reason: iv.message };
  else {
    // built in; usable only where a device exists (this machine's kernel may have no RDMA at all)
    const devices = iv.listDevices();
    ibverbs = {
      name: "ibverbs",
      available: devices.length > 0,
      devices,
      caps: { backend: "ibverbs", referencesAnyMemory: false },
      ...(devices.length === 0 ? { reason: "built with ibverbs, but libibverbs finds no RDMA device here (no RDMA NIC, no rdma_rxe link)" } : {}),
    };
  }
  return { backends: [udp, tcp, dpdk, ibverbs] };
}

/** Names of DPDK net drivers installed as plugins (Debian: /usr/lib/<triplet>/dpdk/pmds-XX.Y/). */
function netPmds(): string[] {
  const out = new Set<string>();
  for (const lib of ["/usr/lib/x86_64-linux-gnu/dpdk", "/usr/lib/aarch64-linux-gnu/dpdk", "/usr/local/lib/dpdk"]) {
    if (!existsSync(lib)) continue;
    for (const d of readdirSync(lib)) {
      if (!d.startsWith("pmds-")) continue;
      for (const f of readdirSync(`${lib}/${d}`)) {
        const m = /^librte_net_([a-z0-9_]+)\.so$/.exec(f);
        if (m) out.add(`net_${m[1]}`);
      }
    }
  }
  return [...out].sort();
}
