import { strict as assert } from "node:assert";
import { nicIbverbsReport, type NicIbverbsFile, type NicIbverbsRow } from "../src/report/nic-ibverbs-report.js";

function row(name: string, over: Partial<NicIbverbsRow>): NicIbverbsRow {
  return {
    name, backend: "ibverbs", driver: "rxe0/rc", driverCopies: "all", relative: 1, messagesSent: 9000, segments: 2,
    bytesCopiedPerMessage: 23, bytesReferencedPerMessage: 16384, copiesPerMessage: { encoder: 23, port: 23, driver: 16407 }, txRingFull: 0,
    ...over,
  };
}

const file: NicIbverbsFile = {
  command: "bash packages/nic/scripts/bench-rdma-vm.sh", revision: "abc1234", date: "2026-12-02T11:00:00.000Z",
  where: "rdma-vm (qemu), 2 x QEMU TCG CPU", node: "v20.20.2", value: 16384, messages: 3000, rounds: 3, window: 8,
  ratios: { "ibverbs sgwire / udp sgwire": 0.91 },
  rows: [
    row("sgwire + ibverbs RC (value referenced)", {}),
    row("sgwire + kernel udp", { backend: "udp", driver: "kernel-udp", relative: 1.1, txRingFull: 4 }),
    row("protobufjs + ibverbs RC (one buffer, one SGE)", {
      relative: 0.74, segments: 1, bytesCopiedPerMessage: 16407, bytesReferencedPerMessage: 0,
      copiesPerMessage: { encoder: 16407, port: 16407, driver: 16407 },
    }),
  ],
};

describe("nicIbverbsReport", () => {
  it("has a row per case with the ledger per message", () => {
    const lines = nicIbverbsReport(file).split("\n");
    const header = lines.findIndex((l) => l.startsWith("case "));
    assert.ok(header > 0);
    for (const c of ["enc B", "port B", "drv B", "ref'd B", "drv copies"]) assert.ok(lines[header]!.includes(c), c);
    const pb = lines.find((l) => l.startsWith("protobufjs + ibverbs"))!;
    assert.deepEqual(pb.trim().split(/\s+/).slice(-8), ["rxe0/rc", "all", "0.74x", "1", "16407", "16407", "16407", "0"]);
    assert.ok(lines.includes("ibverbs sgwire / udp sgwire: 0.91x"));
  });

  it("names a full staging ring on ibverbs only (its kept copy is not in the ledger)", () => {
    assert.ok(!nicIbverbsReport(file).includes("staging ring full"));
    const full = { ...file, rows: file.rows.map((r, i) => (i === 0 ? { ...r, txRingFull: 2 } : r)) };
    assert.match(nicIbverbsReport(full), /staging ring full .*: sgwire \+ ibverbs RC \(value referenced\) 2 times$/m);
  });
});
