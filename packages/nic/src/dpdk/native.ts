import { addonBuildHint } from "../native/build-hint.js";
import { loadNativeAddon } from "../native/load.js";

/** The addon's surface, as native/addon.cc and native/dpdk/binding.cc define it. */
export interface NativeAddon {
  readonly hasDpdk: boolean;
  readonly dpdkVersion: string;
  /**
   * Starts the EAL with `args` unless it already runs in this process (started by another
   * thread); returns whether this call started it and the arguments it runs with.
   */
  ealInit(args: string[]): { started: boolean; args: string[] };
  ealInitialized(): boolean;
  /**
   * Maps `bytes` of anonymous memory registered with DPDK, for this thread; returns
   * [ArrayBuffer, arenaId, attachable]. `attachable` is false when the memory has no IOVA (EAL
   * not in IOVA-as-VA mode): it is then always copied, never attached to an mbuf.
   */
  allocArena(bytes: number): [ArrayBuffer, number, boolean];
  NativePort: new (vdev: string, cfg: NativePortConfig) => NativePort;
}

export interface NativePortConfig {
  ip: number;
  udpPort: number;
  mbufs: number;
  txDescriptors: number;
  rxDescriptors: number;
  mtu: number;
}

export interface NativePortInfo {
  portId: number;
  driver: string;
  mac: string;
  mtu: number;
  maxSegments: number;
  multiSegs: boolean;
  /** Whether the driver takes mbuf chains (else every message is copied into one mbuf). */
  chains: boolean;
  /** Largest UDP payload one mbuf of the port's pools holds (the message limit of a driver that takes no chains). */
  maxSinglePayload: number;
  /** Tokens (in-flight messages that lent registered memory) the native side accepts: 0..maxTokens-1. */
  maxTokens: number;
}

export interface NativePort {
  info(): NativePortInfo;
  /** Gives the shared transmit buffers: descriptor words, staged bytes, control words, completion tokens. */
  setBuffers(desc: Uint32Array, stage: Uint8Array, ctl: Int32Array, completions: Uint32Array, rxMeta: Uint32Array): void;
  /** Builds and transmits `count` staged messages; returns how many were taken. */
  txBurst(count: number): number;
  /** Receives up to rxMeta's capacity; returns one ArrayBuffer per packet (meta in rxMeta). */
  rxBurst(): ArrayBuffer[];
  rxRelease(ab: ArrayBuffer): void;
  addPeer(ip: number, mac: string): void;
  hasPeer(ip: number): boolean;
  poolCounts(): { header: number; ext: number; rx: number; headerSize: number; extSize: number; rxSize: number };
  xstats(): Record<string, number>;
  /** Frames the device could not receive (imissed + rx_nombuf, as the driver counts them). */
  rxMissed(): number;
  close(): void;
}

/** Loads build/Release/sgwire_nic.node once; an Error (not thrown) if it is missing or fails to load. */
export function loadAddon(): NativeAddon | Error {
  return loadNativeAddon<NativeAddon>("sgwire_nic.node", "native addon", {
    missing: (path) =>
      `@sgwire/nic: the native addon is not built (${path} is missing); the udp and tcp backends work without it. ` +
      "To build it with DPDK: apt-get install -y libdpdk-dev pkg-config python3 make g++, then run: " +
      addonBuildHint(),
  });
}

/** The addon with DPDK support, or throws an Error that says what to install. */
export function requireDpdk(): NativeAddon {
  return checkDpdk(loadAddon());
}

/** `a` if it was built with DPDK; otherwise throws the Error a user can act on. */
export function checkDpdk(a: NativeAddon | Error): NativeAddon {
  if (a instanceof Error) throw a;
  if (!a.hasDpdk) {
    throw new Error(
      "@sgwire/nic: the dpdk backend is not available: the native addon was built without DPDK because " +
        "`pkg-config libdpdk` found nothing. Install the Debian packages libdpdk-dev and pkg-config " +
        "(apt-get install -y libdpdk-dev pkg-config), then rebuild @sgwire/nic: " + addonBuildHint(),
    );
  }
  return a;
}
