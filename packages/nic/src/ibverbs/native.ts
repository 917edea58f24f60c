import { addonBuildHint } from "../native/build-hint.js";
import { loadNativeAddon } from "../native/load.js";

/** The ibverbs addon's surface, as native/ibverbs/binding.cc defines it. */
export interface IbverbsAddon {
  readonly hasIbverbs: boolean;
  IbvPort: new (cfg: IbvPortConfig) => IbvPort;
  /** ibv_wc_status_str for a work completion status. */
  statusString(status: number): string;
  /** Names of the RDMA devices libibverbs sees. */
  listDevices(): string[];
}

export interface IbvPortConfig {
  ip: number;
  port: number;
  ud: boolean;
  sendDepth: number;
  recvSlots: number;
  recvBytes: number;
  maxInline: number;
  stageBytes: number;
  device?: string;
}

export interface IbvPortInfo {
  device: string;
  portNum: number;
  transport: "rc" | "ud";
  localPort: number;
  maxSge: number;
  maxInline: number;
  /** Active path MTU in bytes (the UD message limit). */
  mtu: number;
  maxMsgBytes: number;
  recvBytes: number;
  recvSlots: number;
  sendDepth: number;
  sendCqEntries: number;
  qpn: number;
  stageBytes: number;
}

export interface CmEvent {
  conn: number;
  kind: "established" | "accepted" | "failed" | "disconnected";
  ip: number;
  port: number;
  recvBytes: number;
  message?: string;
}

export interface IbvCounters {
  sendErrors: number;
  rxErrors: number;
  lastRxStatus: string;
  cmRejected: number;
  outstanding: number;
  repostErrors: number;
  rxHeld: number;
}

export interface IbvPort {
  info(): IbvPortInfo;
  setBuffers(desc: Uint32Array, ctl: Int32Array, completions: Uint32Array, rxMeta: Uint32Array): void;
  /** The registered staging region (scratch bytes go here until their send completes). */
  stage(): ArrayBuffer;
  /** Memory registered with ibv_reg_mr on this port's protection domain: [ArrayBuffer, arena id]. */
  allocArena(bytes: number): [ArrayBuffer, number];
  /** Starts connecting (rdma_resolve_addr ...); returns the connection index; the outcome comes from cmPoll. */
  connect(ip: number, port: number): number;
  cmPoll(): CmEvent[];
  /** Posts `count` staged messages; returns how many were posted (completions and counters in ctl). */
  post(count: number): number;
  rxBurst(): ArrayBuffer[];
  rxRelease(ab: ArrayBuffer): boolean;
  counters(): IbvCounters;
  close(): void;
}

/** The Debian packages the ibverbs backend needs to build (headers) and to run (providers). */
export const IBVERBS_PACKAGES = "libibverbs-dev librdmacm-dev rdma-core ibverbs-providers";

/** Loads build/Release/sgwire_ibverbs.node once; an Error (not thrown) if it was not built or fails to load. */
export function loadIbverbs(): IbverbsAddon | Error {
  return loadNativeAddon<IbverbsAddon>("sgwire_ibverbs.node", "ibverbs addon", {
    missing: (path) =>
      "@sgwire/nic: the ibverbs backend is not available: the native addon was built without it because " +
      "`pkg-config libibverbs librdmacm` found nothing. Install the Debian packages " +
      `${IBVERBS_PACKAGES} (apt-get install -y ${IBVERBS_PACKAGES} pkg-config python3 make g++), then run: ` +
      `${addonBuildHint()}. Missing: ${path}`,
    loadFailedHint: `the Debian packages ${IBVERBS_PACKAGES} provide libibverbs.so.1 and librdmacm.so.1`,
  });
}

/** The ibverbs addon, or throws an Error that names the Debian packages to install. */
export function requireIbverbs(): IbverbsAddon {
  const a = loadIbverbs();
  if (a instanceof Error) throw a;
  return a;
}
