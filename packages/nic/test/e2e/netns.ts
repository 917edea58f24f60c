import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** True when scripts/setup-system.sh has made the namespaces and veths (it needs root). */
export function vethsReady(): boolean {
  const r = spawnSync("ip", ["-n", "sgw-a", "link", "show", "sgw0"], { encoding: "utf8" });
  const s = spawnSync("ip", ["link", "show", "sgw2"], { encoding: "utf8" });
  return r.status === 0 && s.status === 0;
}

/** MAC address of `dev`, in namespace `ns` ("" for this one). */
export function macOf(ns: string, dev: string): string {
  const args = ns ? ["-n", ns, "-j", "link", "show", dev] : ["-j", "link", "show", dev];
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Array<{ address: string }>)[0]!.address;
}

export interface Peer {
  ready: Promise<void>;
  result: Promise<Record<string, unknown>>;
}

/** Runs test/e2e/peer.ts ROLE in namespace `ns`; `ready` resolves when it can receive. */
export function runPeer(ns: string, role: string, opts: Record<string, unknown>): Peer {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", "test/e2e/peer.ts", role, JSON.stringify(opts)], {
    cwd: pkg,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  let buf = "";
  let onReady!: () => void;
  let onResult!: (v: Record<string, unknown>) => void;
  let fail!: (e: Error) => void;
  const ready = new Promise<void>((r, j) => {
    onReady = r;
    fail = j;
  });
  const result = new Promise<Record<string, unknown>>((r, j) => {
    onResult = r;
    const f = fail;
    fail = (e) => {
      f(e);
      j(e);
    };
  });
  result.catch(() => {});
  ready.catch(() => {});
  child.stdout.on("data", (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const v = JSON.parse(line);
      if (v === "ready") onReady();
      else if (v && typeof v === "object" && "error" in v) fail(new Error(`${role} in ${ns}: ${v.error}\n${stderr}`));
      else onResult(v);
    }
  });
  child.on("exit", (code) => {
    if (code !== 0) fail(new Error(`${role} in ${ns} exited with ${code}\n${stderr}`));
  });
  return { ready, result };
}
