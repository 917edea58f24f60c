/** The machine a run happened on, recorded with every result file. */
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export interface MachineInfo {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  memoryBytes: number;
  loadAverage: number[];
  node: string;
  v8: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    memoryBytes: os.totalmem(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    v8: process.versions.v8,
  };
}

/** The commit measured, "+changes" when the tree differed (scripts/git-revision.sh, shared by every figure's command). */
export function gitRevision(repoRoot: string): string {
  try {
    return execFileSync("bash", [join(repoRoot, "scripts", "git-revision.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}
