/** The machine a run happened on, recorded with every result file. */
import * as os from "node:os";
import { execFileSync } from "node:child_process";

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

/**
 * The commit the measured code is at, "+changes" when tracked files other than results and docs
 * differ from it (measuring several figures in a row writes results between runs), "unknown"
 * without git. scripts/figures.ts refuses figures measured with "+changes".
 */
export function gitRevision(cwd: string): string {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const pathspec = [":/", ":(exclude,glob,top)**/results/**", ":(exclude,glob,top)**/*.md"];
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", ...pathspec], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty === "" ? rev : `${rev}+changes`;
  } catch {
    return "unknown";
  }
}
