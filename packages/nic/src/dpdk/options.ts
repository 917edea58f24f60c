/** Options of `openPort({ backend: "dpdk", ... })`. */
export interface DpdkPortOptions {
  backend: "dpdk";
  /**
   * The DPDK virtual device, as EAL's --vdev takes it: "net_null0", "net_ring0",
   * "net_af_packet0,iface=sgw0", "net_af_xdp0,iface=sgw0". Each open port needs its own name.
   */
  vdev: string;
  /**
   * This port's IPv4 address and UDP port (the same `bind` shape as every backend): the source of
   * what it sends and the destination it accepts. Default { address: "198.18.0.1", port: 9000 };
   * the port must be 1..65535 (DPDK has no ephemeral ports).
   */
  bind?: { address?: string; port?: number };
  /** Static peer table: IPv4 address to MAC ("198.18.0.2": "02:..."). Peers are also learned from ARP and received packets. */
  peers?: Record<string, string>;
  /** EAL settings; used only by the first DPDK port of the process (EAL starts once per process). */
  eal?: EalOptions;
  /** Mbufs in each of the port's pools (headers, attached external buffers, receive). Default 8191. */
  mbufs?: number;
  /** Transmit and receive descriptors. Default 1024 each. */
  txDescriptors?: number;
  rxDescriptors?: number;
  /** MTU to set on the device (bytes). Default: the device's own. */
  mtu?: number;
  /** Overrides the recommended copy threshold (bytes). */
  copyThreshold?: number;
  /** Fingerprint lent buffers at send and check them at completion (see lent-check.ts). Default false. */
  debugLentBuffers?: boolean;
  /** How long close() waits for queued sends and completions before it stops the device anyway (ms). Default 5000. */
  closeTimeoutMs?: number;
}

export interface EalOptions {
  /** Cores (-l). Default "0". */
  cores?: string;
  /** Use hugepages when true; --no-huge when false. Default: hugepages if /dev/hugepages has free pages. */
  hugepages?: boolean;
  /** Memory in MiB for --no-huge (-m). Default 512. */
  memoryMB?: number;
  /** DPDK log level. Default "warning". */
  logLevel?: string;
  /** Extra raw EAL arguments appended at the end. */
  extraArgs?: string[];
}

export const DPDK_KEYS = [
  "backend", "vdev", "bind", "peers", "eal", "mbufs", "txDescriptors", "rxDescriptors", "mtu", "copyThreshold", "debugLentBuffers", "closeTimeoutMs",
] as const;
export const EAL_KEYS = ["cores", "hugepages", "memoryMB", "logLevel", "extraArgs"] as const;
