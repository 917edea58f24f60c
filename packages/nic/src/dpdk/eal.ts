import { existsSync, readFileSync } from "node:fs";
import { checkKeys, checkPositiveInt } from "../checks.js";
import { EAL_KEYS, type EalOptions } from "./options.js";
import type { NativeAddon } from "./native.js";

let started: string[] | null = null;

/** Free 2 MiB hugepages and a mounted hugetlbfs: enough for EAL's --in-memory mode. */
export function hugepagesAvailable(): boolean {
  try {
    const free = Number(readFileSync("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "utf8").trim());
    return free >= 64 && existsSync("/proc/mounts") && readFileSync("/proc/mounts", "utf8").includes("hugetlbfs");
  } catch {
    return false;
  }
}

/**
 * EAL arguments for running inside Node: one lcore, no PCI scan, no telemetry thread, IOVA as
 * VA (so registered memory's IOVA is its address), devices added later with rte_vdev_init.
 */
export function ealArgs(o: EalOptions = {}): string[] {
  checkKeys(o, EAL_KEYS, "openPort(dpdk): eal");
  if (o.cores !== undefined && (typeof o.cores !== "string" || !/^[0-9,\-]+$/.test(o.cores))) {
    throw new TypeError(`openPort(dpdk): eal.cores must be a core list like "0" or "0-1", got ${String(o.cores)}`);
  }
  if (o.memoryMB !== undefined) checkPositiveInt(o.memoryMB, "openPort(dpdk): eal.memoryMB", 65536);
  if (o.extraArgs !== undefined && (!Array.isArray(o.extraArgs) || o.extraArgs.some((a) => typeof a !== "string"))) {
    throw new TypeError("openPort(dpdk): eal.extraArgs must be an array of strings");
  }
  const huge = o.hugepages ?? hugepagesAvailable();
  const args = ["-l", o.cores ?? "0", "--no-pci", "--no-telemetry", "--iova-mode=va", `--log-level=${o.logLevel ?? "warning"}`];
  // --in-memory needs hugepages; without them EAL runs on malloc'd memory with no shared config
  if (huge) args.push("--in-memory");
  else args.push("--no-huge", "--no-shconf", "-m", String(o.memoryMB ?? 512));
  args.push(...(o.extraArgs ?? []));
  return args;
}

/**
 * Starts the EAL once per process; later calls return the arguments it was started with. The
 * EAL is process-wide: the first DPDK port of the process, in whichever thread, decides its
 * arguments; ports opened later (in this thread or in a worker thread) run under the same EAL
 * and their `eal` options are not used.
 */
export function ensureEal(native: NativeAddon, o: EalOptions | undefined): string[] {
  if (started !== null) return started;
  const args = ealArgs(o);
  started = native.ealInit(args).args;
  return started;
}
