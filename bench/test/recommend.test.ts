import { strict as assert } from "node:assert";
import { recommendPolicy, type HeatCell } from "../src/calibrate/recommend.js";

/** A synthetic heatmap: copying costs `perByte` a byte; referencing k fields costs perSegment * k^2 (segment costs that pile up). */
function grid(perByte: number, perSegment: number, sizes: number[], counts: number[]): HeatCell[] {
  const cells: HeatCell[] = [];
  for (const k of counts) {
    for (const s of sizes) cells.push({ fieldBytes: s, fields: k, copyNs: 100 + k * s * perByte, referenceNs: 100 + perSegment * k * k });
  }
  return cells;
}

describe("recommendPolicy", () => {
  it("puts the threshold at the single-field crossover", () => {
    // copy 1 KiB = 100 ns + 1024 * 0.25 = 356; reference = 100 + 200 = 300: wins from 1 KiB
    const r = recommendPolicy(grid(0.25, 200, [256, 512, 1024, 2048, 4096], [1]), { maxSegments: 40 });
    assert.equal(r.copyThreshold, 1024);
    assert.equal(r.maxSegments, 40);
  });

  it("limits segments where per-segment costs pile up", () => {
    // k = 4: copy 1124..2148 ns, reference 900 ns (wins); k = 16: copy 4196..8292, reference 12900 (loses)
    const cells = grid(0.25, 50, [1024, 2048], [1, 4, 16]);
    const r = recommendPolicy(cells, { maxSegments: 40 });
    assert.equal(r.copyThreshold, 1024);
    assert.equal(r.maxSegments, 9);
    assert.deepEqual(r.crossover.map((c) => c.fields), [1, 4, 16]);
  });

  it("never references when referencing never wins", () => {
    const r = recommendPolicy(grid(0.001, 1000, [64, 1024], [1, 2]), { maxSegments: 40 });
    assert.equal(r.copyThreshold, Infinity);
    assert.equal(r.maxSegments, 40);
  });

  it("ignores a win below losses (the crossover must hold at 3/4 of the larger sizes)", () => {
    const cells: HeatCell[] = [
      { fieldBytes: 64, fields: 1, copyNs: 200, referenceNs: 100 },
      { fieldBytes: 256, fields: 1, copyNs: 100, referenceNs: 200 },
      { fieldBytes: 1024, fields: 1, copyNs: 300, referenceNs: 100 },
    ];
    assert.equal(recommendPolicy(cells, { maxSegments: 8 }).copyThreshold, 1024);
  });

  it("tolerates one noisy cell above the crossover", () => {
    const ratios = [0.6, 0.7, 1.2, 1.6, 1.0, 3.0]; // 1.0 at the fifth size: noise, not a loss of the trend
    const cells = ratios.map((r, i) => ({ fieldBytes: 256 << i, fields: 1, copyNs: 100 * r, referenceNs: 100 }));
    assert.equal(recommendPolicy(cells, { maxSegments: 8 }).copyThreshold, 1024);
  });

  it("handles no cells", () => {
    assert.equal(recommendPolicy([], { maxSegments: 8 }).copyThreshold, Infinity);
  });
});
