/**
 * `sgwire calibrate`, as a bench program until the lead wires it into the CLI: measures copying
 * against referencing over field size x number of fields (the Cornflakes heatmap) on a backend,
 * and recommends copyThreshold and maxSegments.
 *
 *   pnpm --filter @sgwire/bench run calibrate [--backend udp] [--quick] [--wall] [--out DIR] [--store]
 *
 * Writes DIR/calibrate-<backend>.json (cells, recommendation, machine) and
 * DIR/calibrate-<backend>.svg (the heatmap); prints the heatmap and the recommendation
 * (report/calibrate-report.ts, which also renders bench/README.md's copy: scripts/figures.ts).
 * Kernel udp sends to a sink port on 127.0.0.1 of the same machine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPort, storePolicy } from "@sgwire/nic";
import { measureHeatmap, type HeatmapOptions } from "./calibrate/heatmap.js";
import { recommendPolicy, type HeatCell } from "./calibrate/recommend.js";
import { heatmap } from "./report/svg-heatmap.js";
import { fmtBytes } from "./report/format.js";
import { calibrateReport, type CalibrateFile } from "./report/calibrate-report.js";
import { machineInfo, gitRevision } from "./machine.js";
import { Progress } from "./progress.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const quick = argv.includes("--quick");
const backend = opt("--backend", "udp");
const out = opt("--out", join(repoRoot, "bench/results"));
if (backend !== "udp") {
  throw new Error(`calibrate: backend ${backend} is not measured by this program yet (udp only; tcp needs a connected peer, dpdk a configured port)`);
}

const grid: Omit<HeatmapOptions, "onCell"> & { wall?: boolean } = quick
  ? { fieldSizes: [64, 256, 1024, 4096, 16384], fieldCounts: [1, 4, 16], batchMs: 15, rounds: 3 }
  : { fieldSizes: [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384], fieldCounts: [1, 2, 4, 8, 16, 32], batchMs: 40, rounds: 7 };
if (argv.includes("--wall")) grid.wall = true;

const started = new Date();
const port = await openPort({ backend: "udp" });
const sink = await openPort({ backend: "udp" });
sink.onMessage((m) => m.release());
let cells: HeatCell[];
const progress = new Progress(1, `calibrate ${backend} (${quick ? "quick" : "full"})`);
try {
  cells = await measureHeatmap(port, sink.localAddress, {
    ...grid,
    onCell: (i, total, label) => {
      progress.step(`${i + 1}/${total}: ${label}`);
      if (i > 0) progress.advance(1 / total);
    },
  });
} finally {
  await port.close();
  await sink.close();
}
progress.advance(1);
progress.finish();

const rec = recommendPolicy(cells, { maxSegments: port.caps.maxSegments });
if (argv.includes("--store")) {
  // ports of this backend and driver opened later without options use it (see @sgwire/nic)
  const file = storePolicy({
    backend: port.caps.backend, driver: port.caps.driver,
    copyThreshold: Number.isFinite(rec.copyThreshold) ? rec.copyThreshold : null, maxSegments: rec.maxSegments,
    measuredAt: started.toISOString(), source: "bench calibrate (copy vs reference heatmap)",
  });
  process.stderr.write(`stored copyThreshold ${rec.copyThreshold} and maxSegments ${rec.maxSegments} in ${file}\n`);
}
mkdirSync(out, { recursive: true });
const file: CalibrateFile = {
  name: `calibrate-${backend}`,
  date: started.toISOString(),
  command: `calibrate ${argv.join(" ")}`.trim(),
  revision: gitRevision(repoRoot),
  machine: machineInfo(),
  backend,
  driver: port.caps.driver,
  settings: grid,
  cells,
  recommendation: { ...rec, copyThreshold: rec.copyThreshold === Infinity ? null : rec.copyThreshold },
};
process.stdout.write(calibrateReport(file) + "\n");
writeFileSync(join(out, `calibrate-${backend}.json`), JSON.stringify(file, null, 1) + "\n");
writeFileSync(
  join(out, `calibrate-${backend}.svg`),
  heatmap({
    title: `copy vs reference on kernel ${backend}: copy time / reference time`,
    subtitle: `${started.toISOString().slice(0, 10)}, Node ${process.version}; recommended copyThreshold ${rec.copyThreshold === Infinity ? "none" : fmtBytes(rec.copyThreshold)}, maxSegments ${rec.maxSegments}`,
    xLabel: "size of each bytes field",
    yLabel: "bytes fields per message",
    xs: grid.fieldSizes,
    ys: grid.fieldCounts,
    xFormat: fmtBytes,
    value: (s, k) => {
      const cell = cells.find((x) => x.fieldBytes === s && x.fields === k);
      return cell === undefined ? undefined : cell.copyNs / cell.referenceNs;
    },
    legend: "blue (> 1): referencing the fields is faster; red (< 1): copying them is faster",
  }),
);
process.stderr.write(`wrote ${join(out, `calibrate-${backend}.json`)}, ${join(out, `calibrate-${backend}.svg`)}\n`);
