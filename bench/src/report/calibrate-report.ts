/** The heatmap table and recommendation of `bench calibrate`, rendered from bench/results/calibrate-<backend>.json. */
import type { HeatCell, Recommendation } from "../calibrate/recommend.js";
import type { MachineInfo } from "../machine.js";
import { table } from "../harness.js";
import { fmtBytes } from "./format.js";

export interface CalibrateFile {
  name: string;
  /** ISO date the run started */
  date: string;
  command: string;
  /** the commit measured ("+changes" when the tree differed from it) */
  revision: string;
  machine: MachineInfo;
  backend: string;
  driver: string;
  settings: { fieldSizes: number[]; fieldCounts: number[]; wall?: boolean };
  cells: HeatCell[];
  /** copyThreshold null: always copy */
  recommendation: Omit<Recommendation, "copyThreshold"> & { copyThreshold: number | null };
}

export function calibrateReport(f: CalibrateFile): string {
  const { fieldSizes, fieldCounts, wall } = f.settings;
  const rec = f.recommendation;
  const ratio = (s: number, k: number): number | undefined => {
    const c = f.cells.find((x) => x.fieldBytes === s && x.fields === k);
    return c === undefined ? undefined : c.copyNs / c.referenceNs;
  };
  const lines = [
    `copy time / reference time (${wall ? "wall clock" : "process CPU time"}), encode + send over kernel ${f.backend} (${f.driver}); > 1: referencing is faster`,
    "",
    table(["fields \\ field size", ...fieldSizes.map(fmtBytes)], fieldCounts.map((k) => [String(k), ...fieldSizes.map((s) => ratio(s, k)?.toFixed(2) ?? "-")])),
    "",
    `recommended copyThreshold: ${rec.copyThreshold === null ? "Infinity (always copy)" : `${rec.copyThreshold} B`}`,
    `recommended maxSegments:   ${rec.maxSegments}`,
    ...rec.reasons.map((r) => `  - ${r}`),
    `crossover per field count: ${rec.crossover.map((c) => `${c.fields}: ${c.fieldBytes === null ? "none" : fmtBytes(c.fieldBytes)}`).join(", ")}`,
  ];
  return lines.join("\n");
}
