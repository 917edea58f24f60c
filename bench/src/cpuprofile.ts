/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time per function
 * (name, file:line), as a share of the samples, and the total time under a few functions of
 * interest.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  fn: string;
  where: string;
  selfShare: number;
  totalShare: number;
}

function where(n: ProfileNode): string {
  const url = n.callFrame.url.replace(/^file:\/\//, "");
  const short = url.replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, "").replace(/^.*\/(packages|bench)\//, "$1/");
  return short === "" ? "(native)" : `${short}:${n.callFrame.lineNumber + 1}`;
}

/** Self and total shares per function, largest self first. */
export function summarize(path: string): FunctionTime[] {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const key = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"}\t${where(n)}`;
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    all += dt;
    let n = byId.get(p.samples[i]!);
    if (n === undefined) continue;
    self.set(key(n), (self.get(key(n)) ?? 0) + dt);
    // total: count each function once per sample even if it recurses
    const seen = new Set<string>();
    for (; n !== undefined; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  return [...total.keys()]
    .map((k) => {
      const [fn, w] = k.split("\t") as [string, string];
      return { fn, where: w, selfShare: (self.get(k) ?? 0) / all, totalShare: (total.get(k) ?? 0) / all };
    })
    .sort((a, b) => b.selfShare - a.selfShare);
}
